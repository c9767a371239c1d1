"""The documentation is held to the code: the configuration reference against the settings
that read the environment, the MkDocs site against broken links (a strict build), and the
README's relative links against the files they name."""

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from markdown.extensions.toc import slugify

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ROOT / "authsvc" / "settings"
DOCS = ROOT / "docs"
REFERENCE = DOCS / "configuration.md"
CONTAINER_SECTION = "Container only"
# Code that runs in the service; a variable read here outside the settings would escape
# the reference.
APP_PACKAGES = ("authsvc", "audit", "mailqueue", "accounts", "tokens", "sessions_store")


def _readers() -> set[str]:
    """The typed readers of authsvc/settings/env.py: its functions named env_*."""
    tree = ast.parse((SETTINGS / "env.py").read_text())
    return {
        node.name
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("env_")
    }


def _call_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _literal(node: ast.expr | None):
    """The value of a default written as a literal (`5`, `8 * 3600`, `["a", "b"]`), or
    None when it is computed from something else (`not DEBUG`, another setting)."""
    if node is None:
        return None
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mult | ast.Add | ast.Sub):
        left, right = _literal(node.left), _literal(node.right)
        if isinstance(left, int) and isinstance(right, int):
            return {ast.Mult: left * right, ast.Add: left + right, ast.Sub: left - right}[
                type(node.op)
            ]
        return None
    try:
        return ast.literal_eval(node)
    except ValueError:
        return None


def settings_reads() -> dict[str, tuple[str, ast.expr | None]]:
    """Every environment variable the settings read: name -> (reader, default node)."""
    readers = _readers()
    found: dict[str, tuple[str, ast.expr | None]] = {}
    for module in sorted(SETTINGS.glob("*.py")):
        if module.name == "env.py":
            continue
        for node in ast.walk(ast.parse(module.read_text(), filename=str(module))):
            if not (isinstance(node, ast.Call) and _call_name(node) in readers):
                continue
            name = node.args[0] if node.args else None
            assert isinstance(name, ast.Constant) and isinstance(name.value, str), (
                f"{module.name}:{node.lineno}: a reader called with a computed name; the "
                "configuration reference can only be checked against literal names"
            )
            default = node.args[1] if len(node.args) > 1 else None
            for keyword in node.keywords:
                if keyword.arg == "default":
                    default = keyword.value
            found[name.value] = (_call_name(node), default)
    return found


def documented() -> dict[str, tuple[str, str]]:
    """The rows of docs/configuration.md: variable -> (section, default cell)."""
    rows: dict[str, tuple[str, str]] = {}
    section = ""
    for line in REFERENCE.read_text().splitlines():
        if line.startswith("## "):
            section = line[3:].strip()
            continue
        if not line.startswith("| `"):
            continue
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        names = re.findall(r"`([A-Z][A-Z0-9_]*)`", cells[0])
        assert len(names) == 1, f"one variable per row: {line}"
        assert names[0] not in rows, f"{names[0]} has two rows"
        rows[names[0]] = (section, cells[-1])
    return rows


def _documented_settings() -> dict[str, tuple[str, str]]:
    return {name: row for name, row in documented().items() if row[0] != CONTAINER_SECTION}


def test_the_settings_read_variables_and_the_reference_has_rows():
    # Guards the two tests below against passing on empty sets.
    reads = settings_reads()
    assert {"DATABASE_URL", "AUTHSVC_ACCESS_TTL_SECONDS", "AUTHSVC_RATE_REGISTER_IP"} <= set(reads)
    assert len(reads) > 80
    assert len(_documented_settings()) == len(reads)


def test_every_variable_the_settings_read_is_documented():
    missing = set(settings_reads()) - set(_documented_settings())
    assert missing == set(), f"add a row to docs/configuration.md for {sorted(missing)}"


def test_every_documented_variable_is_read():
    stale = set(_documented_settings()) - set(settings_reads())
    assert stale == set(), f"docs/configuration.md documents unread {sorted(stale)}"


def gunicorn_config_reads() -> dict[str, str | None]:
    """The variables gunicorn.conf.py reads, with their literal defaults."""
    tree = ast.parse((ROOT / "gunicorn.conf.py").read_text())
    found = {}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and ast.unparse(node.func) in {"os.environ.get", "os.getenv"}
            and isinstance(node.args[0], ast.Constant)
        ):
            found[node.args[0].value] = _literal(node.args[1]) if len(node.args) > 1 else None
    return found


def test_container_only_variables_are_gunicorns():
    rows = documented()
    container = {name for name, row in rows.items() if row[0] == CONTAINER_SECTION}
    # A variable the settings read too (PROMETHEUS_MULTIPROC_DIR) has its row with them.
    reads = {
        name: default
        for name, default in gunicorn_config_reads().items()
        if name not in settings_reads()
    }

    # GUNICORN_CMD_ARGS is read by gunicorn itself.
    assert {"GUNICORN_WORKERS", "GUNICORN_BIND"} <= set(reads)
    assert container == set(reads) | {"GUNICORN_CMD_ARGS"}
    for name, default in reads.items():
        if default is not None:
            assert rows[name][1].startswith(f"`{default}`"), name
    assert "GUNICORN_WORKERS" in (ROOT / "Dockerfile").read_text()


def test_the_file_variant_rule_is_documented():
    # X_FILE applies to every variable the settings read (authsvc/settings/env.py), so it is
    # one rule in the page's introduction rather than a row per variable.
    intro = REFERENCE.read_text().split("\n## ", 1)[0]
    assert "`X_FILE`" in intro
    assert "DJANGO_SECRET_KEY_FILE" in intro


def _rendered(value) -> str | None:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list) and value:
        return ",".join(value)
    if isinstance(value, str) and value:
        return value
    # None or empty: "unset", "empty" or a derived value, in words.
    return None


def test_literal_defaults_are_the_documented_ones():
    rows = documented()
    checked = 0
    for name, (_reader, default) in settings_reads().items():
        expected = _rendered(_literal(default))
        if expected is None:
            continue
        cell = rows[name][1]
        assert cell.startswith(f"`{expected}`"), f"{name}: the code's default is {expected!r}"
        checked += 1
    assert checked > 60


def _environment_reads(path: Path, *, root: Path = ROOT) -> list[str]:
    """`os.environ[...]`, `os.environ.get(...)` and `os.getenv(...)` in one module."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and ast.unparse(node.func) in {"os.environ.get", "os.getenv", "environ.get"}
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno}")
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.ctx, ast.Load)
            and ast.unparse(node.value) in {"os.environ", "environ"}
        ):
            found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_the_service_reads_the_environment_only_through_the_readers():
    # setdefault (manage.py, wsgi, the test settings) writes a default; it reads nothing.
    direct = [
        hit
        for package in APP_PACKAGES
        for module in sorted((ROOT / package).rglob("*.py"))
        if module != SETTINGS / "env.py"
        for hit in _environment_reads(module)
    ]
    assert direct == []


def test_the_environment_check_finds_a_direct_read(tmp_path):
    module = tmp_path / "module.py"
    module.write_text(
        "import os\nA = os.environ.get('A')\nB = os.environ['B']\nC = os.getenv('C')\n"
        "os.environ.setdefault('D', '1')\n"
    )
    assert _environment_reads(module, root=tmp_path) == [
        "module.py:2",
        "module.py:3",
        "module.py:4",
    ]


# The site ---------------------------------------------------------------------------


def mkdocs_build(config: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", str(config), "-d", str(site)],
        cwd=config.parent,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_site_builds_strictly_with_every_page_in_the_nav(tmp_path):
    result = mkdocs_build(ROOT / "mkdocs.yml", tmp_path / "site")

    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr
    nav = yaml.safe_load((ROOT / "mkdocs.yml").read_text())["nav"]
    in_nav = {page for entry in nav for page in entry.values()}
    assert in_nav == {page.name for page in DOCS.glob("*.md")}
    # Nothing the pages load comes from the network.
    for page in (tmp_path / "site").glob("*.html"):
        html = page.read_text()
        assert not re.search(r"<script[^>]+src=\"https?://", html), page.name
        assert not re.search(r"<link[^>]+href=\"https?://[^\"]+\.css", html), page.name


@pytest.mark.parametrize(
    ("page", "edit", "complaint"),
    [
        ("operators.md", "See [the keys](no-such-page.md).", "no-such-page.md"),
        ("operators.md", "See [Purging](configuration.md#no-such-heading).", "no-such-heading"),
        ("operators.md", "See [the code](../accounts/services.py).", "../accounts/services.py"),
        ("stray.md", "# A page left out of the nav", "stray.md"),
    ],
)
def test_a_broken_link_or_a_page_outside_the_nav_fails_the_build(tmp_path, page, edit, complaint):
    shutil.copytree(DOCS, tmp_path / "docs")
    shutil.copy(ROOT / "mkdocs.yml", tmp_path / "mkdocs.yml")
    target = tmp_path / "docs" / page
    target.write_text((target.read_text() if target.exists() else "") + f"\n{edit}\n")

    result = mkdocs_build(tmp_path / "mkdocs.yml", tmp_path / "site")

    assert result.returncode != 0
    assert complaint in result.stderr


# The README -------------------------------------------------------------------------

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)


def _anchors(markdown_file: Path) -> set[str]:
    text = FENCE.sub("", markdown_file.read_text())
    return {
        slugify(line.lstrip("#").strip(), "-") for line in text.splitlines() if line.startswith("#")
    }


def broken_links(text: str, base: Path) -> list[str]:
    """Relative links in `text` whose file, or whose heading in a Markdown file, is missing."""
    broken = []
    for target in LINK.findall(FENCE.sub("", text)):
        path, _, anchor = target.partition("#")
        if re.match(r"^[a-z]+:", target) or not path:
            continue
        file = base / path
        missing = not file.exists()
        if not missing and anchor and file.suffix == ".md":
            missing = anchor not in _anchors(file)
        if missing:
            broken.append(target)
    return broken


def test_readme_leads_with_the_two_commands_and_its_links_resolve():
    readme = (ROOT / "README.md").read_text()

    assert "make run" in readme and "make test" in readme
    assert "shared/API.md" not in readme
    assert LINK.findall(readme), "the README links to the docs pages"
    assert broken_links(readme, ROOT) == []


def test_the_readme_link_check_finds_broken_links():
    text = (
        "[ok](docs/index.md) [gone](docs/nowhere.md) [ok](docs/frontends.md#endpoints) "
        "[bad anchor](docs/frontends.md#nowhere) [web](https://example.com/x)"
    )
    assert broken_links(text, ROOT) == ["docs/nowhere.md", "docs/frontends.md#nowhere"]
