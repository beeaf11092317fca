import secrets

from mailboxes import store
from mailboxes.management.base import StoreCommand, size_arg


class Command(StoreCommand):
    help = "Create a mail account (with INBOX, Sent, Drafts, Trash, Junk and Archive)."

    def add_arguments(self, parser):
        parser.add_argument("address")
        parser.add_argument("--password", help="omit to generate one (printed once)")
        parser.add_argument("--quota", help="e.g. 500M, 2G; 0 = unlimited; default: the domain's or server's")
        parser.add_argument("--name", default="", help="display name")
        parser.add_argument("--superuser", action="store_true", help="may manage everything in /manage/")

    def handle(self, address, password=None, quota=None, name="", superuser=False, **options):
        generated = password is None
        if generated:
            password = secrets.token_urlsafe(12)
        info = store.create_account(
            address,
            password,
            quota=size_arg(quota) if quota is not None else None,
            display_name=name,
            superuser=superuser,
        )
        self.stdout.write(f"created account {info.address}" + (" (superuser)" if superuser else ""))
        if generated:
            self.stdout.write(f"password: {password}")
