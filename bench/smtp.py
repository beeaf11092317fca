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
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from parallel import drop_scratch, setup_scratch, timed_clients  # noqa: E402  (bench/parallel.py)

ACCOUNTS = 10
PASSWORD = "bench-password"


def message(i: int, size: int, to: str, sender: str = "sender@remote.test") -> bytes:
    head = (
        f"From: Sender <{sender}>\r\nTo: {to}\r\nSubject: Bench {i}\r\n"
        f"Date: Mon, 30 Nov 2026 07:00:00 +0000\r\nMessage-ID: <bench-{i}@remote.test>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    ).encode()
    line = b"The quick brown fox jumps over the lazy dog, message %d.\r\n" % i
    body = (line * (size // len(line) + 1))[: max(0, size - len(head) - 2)] + b"\r\n"
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
        payloads = [(message(i, size, to, sender), to) for i, to in zip(range(n, total, clients), recipients)]

        def work() -> int:
            with smtp:
                for raw, to in payloads:
                    smtp.sendmail(sender, [to], raw)
            return len(payloads)

        return work

    return timed_clients(clients, prepare)


CEILING_TABLE = (
    "CREATE TABLE IF NOT EXISTS bench_ceiling (id bigserial PRIMARY KEY, mail_from text NOT NULL,"
    " recipients text[] NOT NULL, raw bytea NOT NULL, received timestamptz NOT NULL DEFAULT now())"
)


def serve_ceiling(url: str, ready_file: str, pool_size: int) -> None:
    """The reference: a minimal aiosmtpd server that stores each message with
    one INSERT of its raw bytes per transaction (a durable commit), on a pool of
    pool_size asynchronous connections. Runs until killed; writes its port to ready_file."""
    import asyncio

    from aiosmtpd.smtp import SMTP
    from psycopg_pool import AsyncConnectionPool

    async def serve() -> None:
        pool = AsyncConnectionPool(url, min_size=pool_size, max_size=pool_size, open=False)
        await pool.open(wait=True)
        async with pool.connection() as conn:
            await conn.execute(CEILING_TABLE)

        class Handler:
            async def handle_DATA(self, server, session, envelope) -> str:  # type: ignore[no-untyped-def]
                async with pool.connection() as conn:
                    await conn.execute(
                        "INSERT INTO bench_ceiling (mail_from, recipients, raw) VALUES (%s, %s, %s)",
                        (envelope.mail_from, envelope.rcpt_tos, envelope.original_content),
                    )
                return "250 OK"

        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: SMTP(Handler(), decode_data=False), "127.0.0.1", 0)
        Path(ready_file).write_text(f"{server.sockets[0].getsockname()[1]}\n")
        await asyncio.Event().wait()

    asyncio.run(serve())


class CeilingServer:
    """serve_ceiling in a child process of its own (like runmailserver, it has its own interpreter)."""

    def __init__(self, url: str, pool_size: int = 8) -> None:
        import tempfile

        self.url, self.pool_size = url, pool_size
        self._ready = Path(tempfile.mkstemp(prefix="bench-ceiling-")[1])
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def __enter__(self) -> CeilingServer:
        import time

        self._ready.write_text("")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--serve-ceiling", self.url, str(self._ready), str(self.pool_size)], cwd=ROOT
        )
        deadline = time.monotonic() + 30
        while not self._ready.read_text().endswith("\n"):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the ceiling server did not start")
            time.sleep(0.05)
        self.port = int(self._ready.read_text())
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
        self._ready.unlink(missing_ok=True)


def main() -> None:
    if sys.argv[1:2] == ["--serve-ceiling"]:
        return serve_ceiling(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--size", type=int, default=4096, help="octets per message")
    parser.add_argument("--listener", choices=["smtp", "submission"], default="smtp")
    parser.add_argument("--database", default="bench_smtp")
    args = parser.parse_args()

    url = setup_scratch(args.database, {"MAIL_LOG_LEVEL": "WARNING", "MAIL_HOSTNAME": "mx.bench.test"})
    from django.db import connections

    from mailboxes import store
    from tests.relay.helpers import DnsServer
    from tests.servers import SubprocessServer

    store.create_domain("bench.test")
    accounts = [store.create_account(f"user{i}@bench.test", PASSWORD, quota=0) for i in range(ACCOUNTS)]
    dns = DnsServer({}, negative_ttl=3600)
    server = SubprocessServer(
        "smtp,submission",
        extra_env={
            "MAIL_DB_POOL": os.environ.get("MAIL_DB_POOL", "true"),
            "MAIL_DNS_NAMESERVERS": f"127.0.0.1:{dns.port}",
        },
    )
    try:
        server.start()
        port = server.ports[args.listener]
        run_clients(port, args.listener, min(args.clients, 4), 40, args.size)  # warm up
        elapsed, acknowledged = run_clients(port, args.listener, args.clients, args.messages, args.size)
    finally:
        server.stop()
        dns.close()
    stored = sum(store.folder_status(a.id, "INBOX").messages for a in accounts)
    print(
        f"smtp: {args.messages} messages of {args.size} octets, {args.clients} parallel clients, "
        f"listener {args.listener}, PostgreSQL {urlsplit(url).path[1:]}, "
        f"MAIL_DB_THREADS={os.environ.get('MAIL_DB_THREADS', '8')}"
    )
    print(
        f"  {acknowledged} acknowledged (250) in {elapsed:.2f} s: {acknowledged / elapsed:.1f} messages/s "
        f"accepted and stored"
    )
    print(f"  stored in the INBOXes: {stored} (warm-up included: {stored - acknowledged})")
    connections.close_all()
    drop_scratch(url)


if __name__ == "__main__":
    main()
