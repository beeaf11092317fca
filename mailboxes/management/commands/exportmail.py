"""exportmail ADDRESS DEST --format maildir|mbox (mailboxes.transfer)."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import CommandError

from mailboxes import store
from mailboxes.management.base import StoreCommand
from mailboxes.management.commands.importmail import add_progress_arguments, progress_for
from mailboxes.transfer.exporter import export_to


class Command(StoreCommand):
    help = (
        "Export every folder of an account, with flags and internal dates, into a Maildir tree "
        "or a directory of mbox files. Messages are written byte for byte as stored."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("address")
        parser.add_argument("dest", help="a directory that does not exist yet or is empty")
        parser.add_argument("--format", choices=["maildir", "mbox"], required=True)
        parser.add_argument(
            "--layout",
            choices=["maildir++", "fs"],
            default="maildir++",
            help="Maildir folders as .Name.Child (maildir++) or Name/Child (fs)",
        )
        add_progress_arguments(parser)

    def handle(self, address, dest, **options):  # type: ignore[no-untyped-def]
        account = store.get_account(address)
        path = Path(dest).expanduser()
        if path.exists() and (not path.is_dir() or any(path.iterdir())):
            raise CommandError(f"{dest}: exists and is not an empty directory")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise CommandError(f"cannot create {dest}: {exc.strerror or exc}") from None
        summary = export_to(
            account.id, path, options["format"], progress_for(self, options, "exported"), options["layout"]
        )
        if summary.stopped:
            raise CommandError(f"the export stopped: {summary.stopped}")
