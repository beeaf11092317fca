from mailboxes import store
from mailboxes.management.base import StoreCommand


class Command(StoreCommand):
    help = "Create an alias: SOURCE delivers to TARGETS. SOURCE '@domain' is the domain's catch-all."

    def add_arguments(self, parser):
        parser.add_argument("source")
        parser.add_argument("targets", nargs="+")

    def handle(self, source, targets, **options):
        info = store.create_alias(source, targets)
        self.stdout.write(f"created alias {info.source} -> {', '.join(info.targets)}")
