from mailboxes import store
from mailboxes.management.base import StoreCommand, size_arg


class Command(StoreCommand):
    help = "Create a mail domain."

    def add_arguments(self, parser):
        parser.add_argument("domain")
        parser.add_argument("--quota", help="default quota for new accounts, e.g. 500M (0 = server default)")
        parser.add_argument("--max-accounts", type=int, default=0)

    def handle(self, domain, quota=None, max_accounts=0, **options):
        info = store.create_domain(domain, default_quota=size_arg(quota) if quota else 0, max_accounts=max_accounts)
        self.stdout.write(f"created domain {info.name}")
