from django.core.management.base import BaseCommand

from tokens.keys import PUBLISH_DELAY
from tokens.rotation import signing_key_rotate, signing_keys_retire


class Command(BaseCommand):
    help = (
        "Create a new signing key in AUTHSVC_KEYS_DIR. It is published in the JWKS at once "
        "(every process rescans the folder within 5 s) but signs new access tokens only "
        f"{int(PUBLISH_DELAY.total_seconds())} s later, so that no process signs with a key "
        "a JWKS does not list yet. Older keys stay in the JWKS until the tokens they signed "
        "have expired (one access lifetime after they stopped signing), then are moved to "
        "retired/ by this command or by purge_expired."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-retire",
            action="store_true",
            help="only add the new key; leave retiring old ones to purge_expired",
        )

    def handle(self, *args, no_retire, **options):
        key = signing_key_rotate()
        self.stdout.write(self.style.SUCCESS(f"New signing key {key.kid} ({key.algorithm})."))
        self.stdout.write(
            f"Published now; it signs from {key.active_from:%Y-%m-%d %H:%M:%S} UTC "
            f"({int(PUBLISH_DELAY.total_seconds())} s), when every process lists it."
        )
        if not no_retire:
            for retired in signing_keys_retire():
                self.stdout.write(f"Retired key {retired.kid}.")
