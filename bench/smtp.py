"""How many messages per second does SMTP accept and store? 4 KB messages
from 10 parallel clients into PostgreSQL; prints messages/second.

Standalone: makes a scratch database (bench_smtp, created afresh and dropped
at the end), migrates it, creates 10 accounts, starts `runmailserver` (MX
and submission) as a child process with the production defaults (connection
pool, MAIL_DB_THREADS), and a DNS server on 127.0.0.1 that answers NXDOMAIN
for the MX's SPF/DKIM/DMARC lookups. Each client keeps one connection and
sends its share of messages back to back, to one of the 10 accounts in turn;
a message counts once its 250 has come back, i.e. once it is committed. At
the end every INBOX is counted to check that nothing is missing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mailhost \\
        .venv/bin/python bench/smtp.py [--messages 2000] [--clients 10] [--size 4096] [--listener smtp]
"""
from __future__ import annotations

import argparse
import os
import smtplib
import subprocess
import sys
from pathlib import Path
from typing import Callable
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from parallel import timed_clients  # noqa: E402  (bench/parallel.py)

ACCOUNTS = 10
PASSWORD = "bench-password"


def message(i: int, size: int, to: str) -> bytes:
    head = (f"From: Sender <sender@remote.test>\r\nTo: {to}\r\nSubject: Bench {i}\r\n"
            f"Date: Mon, 30 Nov 2026 07:00:00 +0000\r\nMessage-ID: <bench-{i}@remote.test>\r\n"
            f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n").encode()
    line = b"The quick brown fox jumps over the lazy dog, message %d.\r\n" % i
    body = (line * (size // len(line) + 1))[:max(0, size - len(head) - 2)] + b"\r\n"
    return head + body


def run_clients(port: int, listener: str, clients: int, total: int, size: int) -> tuple[float, int]:
    """Send `total` messages from `clients` connections; (elapsed seconds, messages acknowledged)."""

    def prepare(n: int) -> Callable[[], int]:
        smtp = smtplib.SMTP("127.0.0.1", port, timeout=120)
        smtp.ehlo(f"client{n}.bench.test")
        sender = "sender@remote.test"
        if listener == "submission":  # loopback: AUTH allowed without TLS
            sender = f"user{n % ACCOUNTS}@bench.test"
            smtp.login(sender, PASSWORD)
        recipients = [f"user{i % ACCOUNTS}@bench.test" for i in range(n, total, clients)]
        payloads = [(message(i, size, to), to) for i, to in zip(range(n, total, clients), recipients)]

        def work() -> int:
            with smtp:
                for raw, to in payloads:
                    smtp.sendmail(sender, [to], raw)
            return len(payloads)
        return work

    return timed_clients(clients, prepare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--size", type=int, default=4096, help="octets per message")
    parser.add_argument("--listener", choices=["smtp", "submission"], default="smtp")
    parser.add_argument("--database", default="bench_smtp")
    args = parser.parse_args()

    from importlib import import_module
    scratch_database = import_module("import").scratch_database  # bench/import.py
    base = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mailhost")
    url = scratch_database(base, args.database)
    os.environ.update({"DATABASE_URL": url, "MAIL_LOG_LEVEL": "WARNING", "MAIL_HOSTNAME": "mx.bench.test"})
    subprocess.run([sys.executable, str(ROOT / "manage.py"), "migrate", "--noinput", "-v", "0"], check=True, cwd=ROOT)

    import django
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailhost.settings")
    django.setup()
    from django.db import connections

    from mailboxes import store
    from tests.relay.helpers import DnsServer
    from tests.servers import SubprocessServer

    store.create_domain("bench.test")
    accounts = [store.create_account(f"user{i}@bench.test", PASSWORD, quota=0) for i in range(ACCOUNTS)]
    dns = DnsServer({})
    server = SubprocessServer("smtp,submission", extra_env={
        "MAIL_DB_POOL": os.environ.get("MAIL_DB_POOL", "true"), "MAIL_DNS_NAMESERVERS": f"127.0.0.1:{dns.port}"})
    try:
        server.start()
        port = server.ports[args.listener]
        run_clients(port, args.listener, min(args.clients, 4), 40, args.size)  # warm up
        elapsed, acknowledged = run_clients(port, args.listener, args.clients, args.messages, args.size)
    finally:
        server.stop()
        dns.close()
    stored = sum(store.folder_status(a.id, "INBOX").messages for a in accounts)
    print(f"smtp: {args.messages} messages of {args.size} octets, {args.clients} parallel clients, "
          f"listener {args.listener}, PostgreSQL {urlsplit(url).path[1:]}, "
          f"MAIL_DB_THREADS={os.environ.get('MAIL_DB_THREADS', '8')}")
    print(f"  {acknowledged} acknowledged (250) in {elapsed:.2f} s: {acknowledged / elapsed:.1f} messages/s "
          f"accepted and stored")
    print(f"  stored in the INBOXes: {stored} (warm-up included: {stored - acknowledged})")
    connections.close_all()
    import psycopg
    with psycopg.connect(urlunsplit(urlsplit(url)._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')


if __name__ == "__main__":
    main()
