"""The mail queue sits below accounts: accounts registers the mails it sends
(mailqueue/registry.py), the queue imports no app above it."""

from pathlib import Path

import mailqueue
from tests.audit.test_layering import upward_imports


def test_mailqueue_imports_no_app_above_it():
    root = Path(mailqueue.__file__).parent
    files = sorted(root.rglob("*.py"))
    assert root / "delivery.py" in files
    offending = {
        str(path.relative_to(root)): names
        for path in files
        if (names := upward_imports(path.read_text()))
    }
    assert offending == {}
