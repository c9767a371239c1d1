"""The audit app is the bottom of the dependency graph: every other app records events
through it, so it must import none of them (the circle accounts.models → accounts.roles →
sessions_store.services → the event log → accounts.models is what it replaced)."""

import ast
from pathlib import Path

import audit

UPPER_APPS = frozenset({"accounts", "tokens", "sessions_store"})


def upward_imports(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        else:
            continue
        found += [name for name in names if name.split(".")[0] in UPPER_APPS]
    return found


def test_the_check_sees_every_form_of_import():
    source = (
        "import accounts.models\n"
        "from tokens import refresh\n"
        "from sessions_store.services import x\n"
        "def f():\n    import accounts\n"
    )
    assert upward_imports(source) == [
        "accounts.models",
        "tokens",
        "sessions_store.services",
        "accounts",
    ]
    assert upward_imports("from . import events\nimport authsvc.clock\nimport accountsx\n") == []


def test_audit_imports_no_app_above_it():
    root = Path(audit.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert root / "events.py" in files
    offending = {
        str(path.relative_to(root)): names
        for path in files
        if (names := upward_imports(path.read_text()))
    }
    assert offending == {}
