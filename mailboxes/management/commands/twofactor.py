from mailboxes import store
from mailboxes.management.base import StoreCommand


class Command(StoreCommand):
    help = (
        "Turn two-factor sign-in on with a new TOTP authenticator (prints its otpauth:// URI and secret "
        "once, for scripted set-up), or off. While it is on, the account's own password opens only the "
        "web, and only after a code; mail clients need app passwords (manage.py apppassword)."
    )

    def add_arguments(self, parser):
        parser.add_argument("address")
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--totp", action="store_true", help="a new authenticator, on at once")
        group.add_argument("--off", action="store_true", help="turn two-factor sign-in off")

    def handle(self, address, totp=False, off=False, **options):
        if off:
            store.remove_two_factor(address)
            self.stdout.write(f"two-factor sign-in turned off for {address}")
            return
        enrolment = store.set_totp(address)
        self.stdout.write(enrolment.uri)
        self.stdout.write(f"secret: {enrolment.secret}")
