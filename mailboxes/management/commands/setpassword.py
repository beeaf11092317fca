import getpass

from django.core.management.base import CommandError

from mailboxes import store
from mailboxes.management.base import StoreCommand


class Command(StoreCommand):
    help = "Set an account's password (prompts when --password is not given)."

    def add_arguments(self, parser):
        parser.add_argument("address")
        parser.add_argument("--password")

    def handle(self, address, password=None, **options):
        if password is None:
            password = getpass.getpass(f"New password for {address}: ")
            if password != getpass.getpass("Again: "):
                raise CommandError("the passwords differ")
        store.set_password(address, password)
        self.stdout.write(f"password changed for {address}")
