from mailboxes import store
from mailboxes.management.base import StoreCommand


class Command(StoreCommand):
    help = "Delete an account and all of its mail."

    def add_arguments(self, parser):
        parser.add_argument("address")

    def handle(self, address, **options):
        store.delete_account(address)
        self.stdout.write(f"deleted account {address}")
