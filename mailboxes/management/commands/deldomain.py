from mailboxes import store
from mailboxes.management.base import StoreCommand


class Command(StoreCommand):
    help = "Delete a mail domain (refuses while it has accounts, unless --force)."

    def add_arguments(self, parser):
        parser.add_argument("domain")
        parser.add_argument("--force", action="store_true", help="also delete its accounts and their mail")

    def handle(self, domain, force=False, **options):
        store.delete_domain(domain, force=force)
        self.stdout.write(f"deleted domain {domain}")
