"""compose.yaml as Docker Compose reads it: YAML (with merge keys), then `${...}`
interpolation of every string from an environment (empty: every default applies)."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; innermost first
# (a default may itself hold ${...}). `$$` is a literal `$`.
_VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^{}]*))?\}")
_DOLLAR = "\x00"


class MissingVariable(Exception):
    pass


def interpolate(value: str, environ: dict[str, str]) -> str:
    text = value.replace("$$", _DOLLAR)

    def one(match: re.Match) -> str:
        name, operator, argument = match.group(1), match.group(2), match.group(3)
        present = name in environ
        usable = present and (environ[name] != "" or not (operator or "").startswith(":"))
        if usable:
            return environ[name]
        if operator and operator.endswith("-"):
            return argument
        if operator and operator.endswith("?"):
            raise MissingVariable(f"{name}: {argument}")
        return ""

    while True:
        replaced = _VARIABLE.sub(one, text)
        if replaced == text:
            break
        text = replaced
    assert "${" not in text, f"unparsed interpolation in {value!r}"
    return text.replace(_DOLLAR, "$")


def _walk(node, environ):
    if isinstance(node, dict):
        return {key: _walk(value, environ) for key, value in node.items()}
    if isinstance(node, list):
        return [_walk(item, environ) for item in node]
    if isinstance(node, str):
        return interpolate(node, environ)
    return node


def load(environ: dict[str, str] | None = None, path: Path = COMPOSE) -> dict:
    return _walk(yaml.safe_load(path.read_text()), environ or {})
