import getpass
import secrets

from django.core.management.base import CommandError

from mailboxes import store
from mailboxes.management.base import StoreCommand


class Command(StoreCommand):
    help = (
        "Enable APOP (RFC 1939 7) for an account by giving it an APOP secret, or turn it off. "
        "The secret is stored readable by the server (APOP needs that): make it different "
        "from the account's password."
    )

    def add_arguments(self, parser):
        parser.add_argument("address")
        group = parser.add_mutually_exclusive_group()
        group.add_argument("--secret", help="the secret (prompted for when no option is given)")
        group.add_argument("--generate", action="store_true", help="make a random secret and print it")
        group.add_argument("--off", action="store_true", help="remove the secret: APOP off")

    def handle(self, address, secret=None, generate=False, off=False, **options):
        if off:
            store.set_apop_secret(address, "")
            self.stdout.write(f"APOP turned off for {address}")
            return
        if generate:
            secret = secrets.token_urlsafe(18)
        elif secret is None:
            secret = getpass.getpass(f"APOP secret for {address}: ")
            if secret != getpass.getpass("Again: "):
                raise CommandError("the secrets differ")
        if not secret or len(secret) > 128 or any(ord(c) < 0x21 or ord(c) == 0x7F for c in secret):
            raise CommandError("an APOP secret is 1 to 128 printable characters without spaces")
        store.set_apop_secret(address, secret)
        if generate:
            self.stdout.write(secret)
        else:
            self.stdout.write(f"APOP enabled for {address}")
