"""importmail ADDRESS SOURCE: copy mail into an account (mailboxes.transfer)."""

from __future__ import annotations

import getpass
import sys

from django.conf import settings
from django.core.management.base import CommandError

from mailboxes import store
from mailboxes.management.base import StoreCommand
from mailboxes.transfer.importer import ImportOptions, open_source, run_import
from mailboxes.transfer.progress import Progress
from mailboxes.transfer.source import SourceError


def progress_for(command: StoreCommand, options: dict, verb: str) -> Progress:
    """A progress display on the command's output: bars on a terminal, plain lines otherwise."""
    out = getattr(command.stdout, "_out", sys.stdout)
    mode = options["progress"]
    return Progress(
        None if mode == "none" else out,
        tty=None if mode == "auto" else mode == "bar",
        interval=options["interval"],
        verb=verb,
    )


def add_progress_arguments(parser) -> None:  # type: ignore[no-untyped-def]
    parser.add_argument(
        "--progress",
        choices=["auto", "bar", "plain", "none"],
        default="auto",
        help="bars on a terminal, plain periodic lines otherwise (auto)",
    )
    parser.add_argument(
        "--interval",
        type=float,
        default=5.0,
        metavar="SECONDS",
        help="seconds between plain progress lines (default 5)",
    )


class Command(StoreCommand):
    help = (
        "Import mail into an account from a Maildir (Maildir++ or '/'-separated), an mbox file "
        "or a directory of mbox files, or an IMAP server (imap[s]://user@host[:port]). Running it "
        "again copies only what is missing."
    )

    def add_arguments(self, parser):  # type: ignore[no-untyped-def]
        parser.add_argument("address")
        parser.add_argument("source", help="a directory, a file, or imap[s]://user@host[:port]")
        parser.add_argument("--password-env", metavar="VAR", help="IMAP: read the password from this variable")
        parser.add_argument("--password-file", metavar="PATH", help="IMAP: read the password from this file")
        parser.add_argument(
            "--no-verify", action="store_true", help="IMAP: accept a TLS certificate that cannot be verified"
        )
        parser.add_argument(
            "--allow-plaintext", action="store_true", help="IMAP: log in without TLS to a server that offers none"
        )
        parser.add_argument("--folder", default="INBOX", help="the folder a single mbox file goes into")
        parser.add_argument("--mbox-variant", choices=["mboxrd", "mboxo"], default="mboxrd")
        parser.add_argument(
            "--batch-size", type=int, default=200, metavar="N", help="messages per transaction (default 200)"
        )
        add_progress_arguments(parser)

    def handle(self, address, source, **options):  # type: ignore[no-untyped-def]
        account = store.get_account(address)
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1")

        def password(label: str) -> str:
            from mailboxes.transfer.imapsource import read_password

            prompt = getpass.getpass if sys.stdin.isatty() else None
            return read_password(env=options["password_env"], file=options["password_file"], prompt=prompt, label=label)

        try:
            src = open_source(
                source,
                max_size=settings.MAIL_MAX_MESSAGE_SIZE,
                password=password,
                folder=options["folder"],
                mbox_variant=options["mbox_variant"],
                verify=not options["no_verify"],
                allow_plaintext=options["allow_plaintext"],
            )
        except SourceError as exc:
            raise CommandError(str(exc)) from None
        summary = run_import(
            account.id, src, progress_for(self, options, "copied"), ImportOptions(batch_messages=options["batch_size"])
        )
        if summary.stopped:
            raise CommandError(f"the import stopped: {summary.stopped}")
        if summary.failed:
            raise CommandError(f"{summary.failed} messages could not be copied (see above)", returncode=2)
