from mailboxes import store
from mailboxes.management.base import StoreCommand


def _human(n: int) -> str:
    for unit in ("B", "K", "M", "G"):
        if n < 1024 or unit == "G":
            return f"{n}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024
    return str(n)


class Command(StoreCommand):
    help = "List accounts: address, usage, quota, state."

    def add_arguments(self, parser):
        parser.add_argument("--domain")

    def handle(self, domain=None, **options):
        for a in store.list_accounts(domain):
            quota = _human(a.quota) if a.quota else "unlimited"
            flags = ("" if a.is_active else " disabled") + (" superuser" if a.is_superuser else "")
            self.stdout.write(f"{a.address}\t{_human(a.used_bytes)}/{quota}{flags}")
