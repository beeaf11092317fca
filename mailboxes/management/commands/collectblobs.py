"""Delete message bytes that no message or outbound queue entry refers to
(what the Celery beat job mailboxes.tasks.collect_blobs does on schedule)."""

from datetime import timedelta

from django.core.management.base import CommandError

from mailboxes import store
from mailboxes.management.base import StoreCommand


class Command(StoreCommand):
    help = (
        "Free the bytes of deleted mail: blobs unreferenced for at least the grace period "
        "(MAIL_BLOB_GC_GRACE) are deleted, newly unreferenced ones marked."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="count what would be freed; change nothing")
        parser.add_argument(
            "--grace", type=int, help="seconds unreferenced before bytes go (default: MAIL_BLOB_GC_GRACE)"
        )
        parser.add_argument("--batch", type=int, default=1000, help="blob rows per transaction")

    def handle(self, dry_run=False, grace=None, batch=1000, **options):
        if batch < 1 or (grace is not None and grace < 0):
            raise CommandError("--batch must be positive and --grace not negative")
        result = store.run_blob_collection(
            batch, grace=None if grace is None else timedelta(seconds=grace), dry_run=dry_run
        )
        verb = "would free" if dry_run else "freed"
        self.stdout.write(f"{verb} {result.freed} blobs ({result.freed_bytes} bytes)")
        self.stdout.write(f"{result.marked} newly unreferenced, {result.waiting} waiting out the grace period")
        if result.skipped:
            self.stdout.write(f"{result.skipped} batches skipped (bytes reused meanwhile); the next run retries them")
