from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from audit.event_types import markdown


class Command(BaseCommand):
    help = "Write docs/events.md from audit/event_types.py (a test fails when they differ)."

    def handle(self, *args, **options):
        path = Path(settings.BASE_DIR) / "docs" / "events.md"
        path.write_text(markdown())
        self.stdout.write(f"Wrote {path}.")
