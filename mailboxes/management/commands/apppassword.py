from mailboxes import store
from mailboxes.management.base import StoreCommand


class Command(StoreCommand):
    help = (
        "Make an app password for a mail client: a generated password, printed once and stored hashed, "
        "that opens only the doors given (once two-factor sign-in is on, the only kind that opens them). "
        "Revoke it in the webmail's settings."
    )

    def add_arguments(self, parser):
        parser.add_argument("address")
        parser.add_argument("--name", required=True, help="what it is for, e.g. Phone")
        parser.add_argument(
            "--doors",
            default=",".join(store.DOORS),
            help=f"comma-separated, some of {','.join(store.DOORS)} (default: all)",
        )

    def handle(self, address, name, doors, **options):
        account = store.get_account(address)
        made = store.create_app_password(account.id, name, doors.split(","))
        self.stdout.write(made.password)
