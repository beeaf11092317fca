"""How fast does the outbound relay deliver? Prints messages (and recipients)
per second relayed to a local SMTP sink, 10 recipients per domain.

Standalone: makes its own scratch database (bench_relay, dropped and created
afresh), starts an aiosmtpd sink on 127.0.0.1 that accepts everything and
points every bench domain at it (MAIL_RELAY_MX_OVERRIDE), queues N messages through
store.deliver, each to 10 recipients of one of D domains (each on-commit
kick waits in Redis), then starts a real `celery -A mailhost worker` and
times it draining the queue until every recipient is sent.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mailhost REDIS_URL=redis://127.0.0.1:6379/5 \\
        .venv/bin/python bench/relay.py [--messages 300] [--domains 5] [--concurrency 2] [--dkim]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
RECIPIENTS_PER_DOMAIN = 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--domains", type=int, default=5)
    parser.add_argument("--concurrency", type=int, default=2, help="worker processes (prefork)")
    parser.add_argument("--dkim", action="store_true", help="sign every message (RSA-2048)")
    parser.add_argument("--database", default="bench_relay")
    args = parser.parse_args()

    from parallel import scratch_database

    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mailhost")
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/5")
    url = scratch_database(base, args.database)
    domains = [f"d{i}.bench-remote.test" for i in range(args.domains)]

    from tests.relay.helpers import Sink, Worker, wait_for

    sink = Sink()
    env = {
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "MAIL_RELAY_MX_OVERRIDE": ",".join(f"{d}=127.0.0.1:{sink.port}" for d in domains),
        "MAIL_HOSTNAME": "relay.bench.test",
        "MAIL_LOG_LEVEL": "WARNING",
    }
    os.environ.update(env)
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], check=True, cwd=ROOT)

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailhost.settings")
    django.setup()
    import redis

    from mailboxes import store

    redis.Redis.from_url(redis_url).flushdb()
    store.create_domain("bench.test")
    sender = store.create_account("sender@bench.test", "bench-password")
    if args.dkim:
        store.generate_dkim_key("bench.test")

    body = "The quick brown fox jumps over the lazy dog, again and again.\r\n" * 160  # about 10 KB
    started = time.perf_counter()
    for i in range(args.messages):
        domain = domains[i % len(domains)]
        to = [f"user{j}@{domain}" for j in range(RECIPIENTS_PER_DOMAIN)]
        raw = (
            f"From: Sender <sender@bench.test>\r\nTo: {', '.join(to)}\r\nSubject: Bench {i}\r\n"
            f"Date: Mon, 30 Nov 2026 07:00:00 +0000\r\nMessage-ID: <bench-{i}@bench.test>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}"
        ).encode()
        store.deliver(raw, to, "sender@bench.test", sender_account_id=sender.id)
    queued = time.perf_counter() - started
    total = args.messages * RECIPIENTS_PER_DOMAIN

    # The queue is full and every kick waits in Redis: time the worker draining it.
    workdir = Path(tempfile.mkdtemp(prefix="bench-relay-"))
    worker = Worker(env, workdir, pool=("--pool=prefork", f"--concurrency={args.concurrency}")).start()
    try:
        started = time.perf_counter()
        wait_for(
            lambda: (lambda c: c["sent"] + c["failed"] == total)(store.outbound_counts()),
            timeout=600,
            what="every recipient sent",
        )
        elapsed = time.perf_counter() - started
    finally:
        worker.stop()
        sink.close()
    counts = store.outbound_counts()
    transactions = len(sink.handler.messages)
    print(
        f"relay: {args.messages} messages x {RECIPIENTS_PER_DOMAIN} recipients over {args.domains} domains, "
        f"worker --concurrency={args.concurrency}{', DKIM-signed' if args.dkim else ''}"
    )
    print(f"  queued through store.deliver in {queued:.2f} s ({args.messages / queued:.1f} messages/s)")
    print(
        f"  relayed by the worker in {elapsed:.2f} s: {args.messages / elapsed:.1f} messages/s, "
        f"{total / elapsed:.0f} recipients/s"
    )
    print(
        f"  sink saw {transactions} SMTP transactions on {sink.handler.connections} connections; queue states {counts}"
    )


if __name__ == "__main__":
    main()
