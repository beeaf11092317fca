"""How fast are the webmail's pages on a big mailbox? Prints the median time
and the number of SQL statements of each page, served in process by
Django's test client (no network, no browser: the server's own cost).

Standalone: makes a scratch database (bench_webmail, created afresh and
dropped at the end), migrates it, creates one account with --messages
messages of about 2 KB in INBOX (distinct texts, so search has work to do,
added with store.append_many) plus a few in Sent, runs ANALYZE (the bulk
load would otherwise leave the planner blind until autovacuum comes by),
then times each page --rounds times after one warm-up request.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mailhost \\
        .venv/bin/python bench/webmail.py [--messages 20000] [--rounds 20]
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from parallel import drop_scratch, setup_scratch  # noqa: E402  (bench/parallel.py)

WORDS = (
    "invoice meeting report budget holiday travel contract review release server backup network "
    "customer project deadline summary agenda minutes proposal quarterly figures lunch party"
).split()
NAMES = ("Ann Lee", "Bo Chen", "Cleo Park", "Dan Moss", "Eva Lind", "Femi Ade", "Gus Roy", "Hana Sato")


def message(i: int, rng: random.Random) -> bytes:
    name = rng.choice(NAMES)
    subject = " ".join(rng.choice(WORDS) for _ in range(4)).capitalize() + f" #{i}"
    body = "\r\n".join(" ".join(rng.choice(WORDS) for _ in range(12)) for _ in range(20))
    body += f"\r\nreference code x{rng.randrange(5000):04d}y"  # a rare word: about 4 messages each
    return (
        f"From: {name} <{name.split()[0].lower()}@remote.test>\r\nTo: user@bench.test\r\n"
        f"Subject: {subject}\r\nDate: Mon, 30 Nov 2026 07:00:00 +0000\r\nMessage-ID: <web-{i}@remote.test>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def time_pages(
    client,
    pages: list[tuple[str, str]],
    rounds: int,  # type: ignore[no-untyped-def]
) -> list[tuple[str, float, float, int, str]]:
    """Each page requested once (warm-up), then `rounds` times through Django's
    test client: (label, p50 s, p99 s, SQL statements, the slowest statement)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    figures = []
    for label, path in pages:
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code)
        times = []
        for _ in range(rounds):
            with CaptureQueriesContext(connection) as queries:
                began = time.perf_counter()
                client.get(path)
                times.append(time.perf_counter() - began)
        statements = [q for q in queries.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))]
        slowest = max(statements, key=lambda q: float(q["time"]), default={"time": "0", "sql": ""})
        figures.append(
            (
                label,
                percentile(times, 0.5),
                percentile(times, 0.99),
                len(statements),
                f"{float(slowest['time']) * 1000:.0f} ms: {slowest['sql'][:90]}",
            )
        )
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--database", default="bench_webmail")
    parser.add_argument("--verbose", action="store_true", help="show each page's slowest SQL statement")
    parser.add_argument("--keep", action="store_true", help="leave the scratch database for a look")
    args = parser.parse_args()
    verbose = args.verbose

    url = setup_scratch(
        args.database, {"MAIL_LOG_LEVEL": "WARNING", "MAIL_FAST_PASSWORD_HASHING": "1"}, without_redis=True
    )
    from django.contrib.auth import get_user_model
    from django.db import connection, connections
    from django.test import Client

    from mailboxes import store

    store.create_domain("bench.test")
    account = store.create_account("user@bench.test", "bench-password", quota=0)
    rng = random.Random(7)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    filled = time.perf_counter()
    for first in range(0, args.messages, 1000):
        batch = [
            (message(i, rng), ("\\Seen",) if i % 3 else (), start + timedelta(minutes=i))
            for i in range(first, min(first + 1000, args.messages))
        ]
        store.append_many(account.id, "INBOX", batch)
    for i in range(20):
        store.append(
            account.id,
            "Sent",
            message(args.messages + i, rng).replace(
                b"To: user@bench.test", f"To: Pat Friend{i} <pat{i}@far.test>".encode()
            ),
        )
    filled = time.perf_counter() - filled
    with connection.cursor() as cursor:  # fresh planner statistics, as autovacuum keeps them in production
        cursor.execute("ANALYZE")
    rows = {r.name: r for r in store.folder_rows(account.id)}
    inbox = rows["INBOX"].id
    uid = store.message_page(account.id, inbox, per_page=1, page=args.messages // 2).items[0].uid

    client = Client()
    client.force_login(get_user_model()._default_manager.get(pk=account.id))
    pages = [
        ("inbox, first page", f"/mail/f/{inbox}/"),
        ("inbox, page 200", f"/mail/f/{inbox}/?page=200"),
        ("inbox by subject", f"/mail/f/{inbox}/?sort=subject&dir=asc"),
        ("message view", f"/mail/m/{inbox}/{uid}/"),
        ("live poll (state)", f"/mail/f/{inbox}/state"),
        ("search a rare word everywhere", "/mail/search/?q=x0042y"),
        ("search a word in every message", "/mail/search/?q=budget"),
        ("search from + subject", "/mail/search/?from=cleo&subject=invoice"),
        ("address suggestions", "/mail/suggest?q=pat"),
        ("compose reply", f"/mail/compose/?mode=reply&f={inbox}&u={uid}"),
    ]
    print(
        f"webmail: {args.messages} messages in INBOX, PostgreSQL {urlsplit(url).path[1:]}, "
        f"filled in {filled:.0f} s; p50 of {args.rounds} requests after a warm-up"
    )
    for label, p50, _, statements, slowest in time_pages(client, pages, args.rounds):
        print(
            f"  {label:32s} {p50 * 1000:7.1f} ms  {statements:2d} SQL statements"
            + (f", slowest {slowest}" if verbose else "")
        )
    connections.close_all()
    if args.keep:
        return
    drop_scratch(url)


if __name__ == "__main__":
    main()
