"""What a conversation list view costs the store: store.conversation_page on
a big folder, called the way the webmail calls it, timed in process (no HTTP,
no browser: the store call alone).

Standalone: makes a scratch database (bench_conversations, created afresh
and dropped at the end), migrates it, fills one INBOX with --messages
messages in threads of five (each reply's References name its thread's
earlier messages) with store.append_many, runs ANALYZE, then times the first
page of conversations --rounds times in each of three cases:

1. unchanged: the folder as it is, again and again;
2. after a flag change: one message marked \\Seen (or not) before each view,
   as opening a message does;
3. after new mail: one message appended before each view (the append itself
   is not timed).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mailhost \\
        .venv/bin/python bench/conversations.py [--messages 5000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from parallel import drop_scratch, setup_scratch  # noqa: E402  (bench/parallel.py)

THREAD = 5


def message(i: int) -> bytes:
    root, depth = i - i % THREAD, i % THREAD
    refs = " ".join(f"<conv-{k}@remote.test>" for k in range(root, i))
    subject = ("Re: " if depth else "") + f"Topic {root // THREAD}"
    return (
        f"From: Person {i % 17} <p{i % 17}@remote.test>\r\nTo: user@bench.test\r\nSubject: {subject}\r\n"
        f"Date: Mon, 30 Nov 2026 07:00:00 +0000\r\nMessage-ID: <conv-{i}@remote.test>\r\n"
        + (f"References: {refs}\r\nIn-Reply-To: <conv-{i - 1}@remote.test>\r\n" if depth else "")
        + f"MIME-Version: 1.0\r\nContent-Type: text/plain\r\n\r\nMessage {i} of the bench.\r\n"
    ).encode()


def timed(rounds: int, before: Callable[[int], None], view: Callable[[], object]) -> list[float]:
    times = []
    for n in range(rounds):
        before(n)
        began = time.perf_counter()
        view()
        times.append(time.perf_counter() - began)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=5000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database", default="bench_conversations")
    parser.add_argument("--keep", action="store_true", help="leave the scratch database for a look")
    args = parser.parse_args()

    url = setup_scratch(
        args.database, {"MAIL_LOG_LEVEL": "WARNING", "MAIL_FAST_PASSWORD_HASHING": "1"}, without_redis=True
    )
    from django.db import connection, connections

    from mailboxes import store

    store.create_domain("bench.test")
    account = store.create_account("user@bench.test", "bench-password", quota=0)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for first in range(0, args.messages, 1000):
        batch = [(message(i), (), start + timedelta(minutes=i)) for i in range(first, min(first + 1000, args.messages))]
        store.append_many(account.id, "INBOX", batch)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    inbox = next(r.id for r in store.folder_rows(account.id) if r.name == "INBOX")

    def view() -> object:
        return store.conversation_page(account.id, inbox, page=1, per_page=50)

    def nothing(n: int) -> None:
        pass

    def flag(n: int) -> None:
        store.set_flags(account.id, inbox, [(1, 1)], "add" if n % 2 == 0 else "remove", ["\\Seen"])

    def new_mail(n: int) -> None:
        store.append(account.id, "INBOX", message(args.messages + n))

    load = os.getloadavg()[0]
    view()  # warm-up
    print(
        f"conversation_page, {args.messages} messages in threads of {THREAD}, "
        f"median and max of {args.rounds} calls (load {load:.1f})"
    )
    for label, before in (("unchanged folder", nothing), ("after a flag change", flag), ("after new mail", new_mail)):
        times = timed(args.rounds, before, view)
        print(f"  {label:22s} {statistics.median(times) * 1000:8.1f} ms  max {max(times) * 1000:8.1f} ms")
    connections.close_all()
    if not args.keep:
        drop_scratch(url)


if __name__ == "__main__":
    main()
