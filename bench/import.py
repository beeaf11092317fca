"""How fast does `importmail` copy a local Maildir? Prints messages per second.

Standalone: makes its own scratch database (bench_import by default, dropped
and created afresh), a Maildir of N messages of about 4 KB in a temporary
directory, and imports it through the same engine as `importmail` (batches
through store.append_many). Then imports it again, which copies nothing
(the resume path: every message is recognised and skipped).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mailhost .venv/bin/python bench/import.py [--messages 5000]

The target (issue 11) is at least 500 messages per second.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from parallel import scratch_database  # noqa: E402  (bench/parallel.py)

WORDS = (
    "mail",
    "host",
    "import",
    "folder",
    "message",
    "the",
    "of",
    "and",
    "quota",
    "flag",
    "batch",
    "server",
    "client",
    "protocol",
    "store",
    "transaction",
    "résumé",
    "naïve",
)


def make_maildir(root: Path, count: int, size: int, rng: random.Random) -> int:
    """count messages of about `size` octets in INBOX and three folders; returns total octets."""
    folders = [root, root / ".Archive", root / ".Archive.2024", root / ".Sent"]
    for folder in folders:
        for sub in ("cur", "new", "tmp"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
    total = 0
    for i in range(count):
        words = []
        length = 0
        while length < size - 400:
            word = rng.choice(WORDS)
            words.append(word)
            length += len(word.encode()) + 1
        body = "\n".join(" ".join(words[j : j + 12]) for j in range(0, len(words), 12))
        raw = (
            f"From: Sender {i % 50} <sender{i % 50}@example.net>\nTo: bench@bench.test\n"
            f"Subject: Benchmark message {i}\nDate: Mon, 30 Nov 2026 07:00:00 +0000\n"
            f"Message-ID: <bench-{i}@example.net>\nMIME-Version: 1.0\n"
            f"Content-Type: text/plain; charset=utf-8\n\n{body}\n"
        ).encode()
        folder = folders[i % len(folders)]
        flags = rng.choice(["", "S", "RS", "FS"])
        (folder / "cur" / f"{1700000000 + i}.M{i}P1.bench:2,{flags}").write_bytes(raw)
        total += len(raw)
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--database", default="bench_import")
    args = parser.parse_args()

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mailhost")
    os.environ["DATABASE_URL"] = scratch_database(base, args.database)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailhost.settings")
    os.environ["MAIL_FAST_PASSWORD_HASHING"] = "1"
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.core.management import call_command

    from mailboxes import store
    from mailboxes.transfer.importer import ImportOptions, run_import
    from mailboxes.transfer.maildir import MaildirSource
    from mailboxes.transfer.progress import Progress

    call_command("migrate", verbosity=0)
    store.create_domain("bench.test")
    account = store.create_account("bench@bench.test", "bench-password", quota=0)
    with tempfile.TemporaryDirectory(prefix="bench-maildir-") as tmp:
        octets = make_maildir(Path(tmp), args.messages, args.size, random.Random(11))
        print(
            f"Maildir: {args.messages} messages, {octets / args.messages:.0f} octets each on average, "
            f"4 folders; batches of {args.batch}; {os.cpu_count()} CPUs, load average "
            f"{os.getloadavg()[0]:.1f} (other work on the machine slows this down)"
        )
        for label in ("import", "again (all skipped)"):
            source = MaildirSource(Path(tmp), 50 * 1024 * 1024)
            started = time.perf_counter()
            summary = run_import(account.id, source, Progress(None), ImportOptions(batch_messages=args.batch))
            seconds = time.perf_counter() - started
            print(
                f"{label:>20}: {summary.done} copied, {summary.skipped} skipped, {summary.failed} failed "
                f"in {seconds:.2f} s = {args.messages / seconds:.0f} messages/s, "
                f"{octets / seconds / 1024 / 1024:.1f} MB/s"
            )


if __name__ == "__main__":
    main()
