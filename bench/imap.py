"""IMAP figures: commands per second for a mixed workload from 10 parallel
clients, the memory of one worker holding 1,000 idle IDLE connections (and
how fast IDLE hears of a delivery), and a 100,000-message folder.

Standalone: makes a scratch database (bench_imap, created afresh and dropped
at the end), migrates it, creates one account per client with --messages
messages of about 4 KB in INBOX, and starts `runmailserver` (imap) as a
child process with the production defaults (connection pool,
MAIL_DB_THREADS); each part gets a fresh worker so
its peak memory (VmHWM) is its own.

1. Mixed workload: each client repeats a session of 13 commands: LOGIN,
   SELECT INBOX, FETCH 1:20 (FLAGS ENVELOPE), FETCH 1:5 (BODYSTRUCTURE),
   UID FETCH n BODY.PEEK[], STORE 1:10 +FLAGS (\\Seen), SEARCH UNSEEN,
   SEARCH SUBJECT, APPEND, UID STORE +FLAGS (\\Deleted) on the appended
   message, EXPUNGE, NOOP, LOGOUT. A command counts once its tagged OK has
   arrived.
2. IDLE: --idlers connections log in, SELECT INBOX and IDLE; the worker's
   resident memory (and its peak) is read from /proc before and after. Then
   the worker's MX takes one SMTP delivery per account and the time from
   each delivery's start until every IDLE session of that account has its
   EXISTS is measured (through Redis when REDIS_URL is set, as in
   production, else the in-process bus).
3. Big folder: --big messages (1,000 distinct ones stored through the store,
   the rest rows sharing their bytes made by one SQL statement) in one
   account; times SELECT, FETCH 1:* (UID FLAGS), UID SEARCH UNSEEN and
   UID SEARCH TEXT, with the worker's peak memory before and after.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mailhost \\
        .venv/bin/python bench/imap.py [--clients 10] [--rounds 20] [--idlers 1000] [--big 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from parallel import drop_scratch, setup_scratch, timed_clients  # noqa: E402  (bench/parallel.py)

PASSWORD = "bench-password"
Timings = dict[str, list[float]]  # command label -> latencies in seconds
_LITERAL = re.compile(rb"\{(\d+)\}\r\n$")


def message(i: int, size: int = 4096) -> bytes:
    head = (
        f"From: Sender {i % 7} <sender{i % 7}@remote.test>\r\nTo: user@bench.test\r\nSubject: Bench {i}\r\n"
        f"Date: Mon, 30 Nov 2026 07:00:00 +0000\r\nMessage-ID: <bench-{i}@remote.test>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    ).encode()
    line = b"The quick brown fox jumps over the lazy dog, message %d.\r\n" % i
    return head + (line * (size // len(line) + 1))[: max(0, size - len(head))]


class Client:
    """A lean IMAP client on a raw socket, so the client is not what is measured."""

    def __init__(self, port: int, timings: Timings | None = None) -> None:
        self.timings = timings
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=300)
        self.file = self.sock.makefile("rb", buffering=262144)
        self.tags = 0
        self.line()

    def line(self) -> bytes:
        line = self.file.readline()
        if not line:
            raise ConnectionError("server closed the connection")
        return line

    def response(self) -> bytes:
        out = self.line()
        while (match := _LITERAL.search(out)) is not None:
            out += self.file.read(int(match.group(1)))
            out += self.line()
        return out

    def command(self, text: bytes, label: str = "") -> list[bytes]:
        """The untagged responses, then the tagged OK; with a label (and
        self.timings set) the command's latency is recorded under it."""
        started = time.perf_counter()
        self.tags += 1
        tag = b"b%d " % self.tags
        self.sock.sendall(tag + text + b"\r\n")
        responses = []
        while True:
            response = self.response()
            responses.append(response)
            if response.startswith(tag):
                if not response.startswith(tag + b"OK"):
                    raise RuntimeError(f"{text[:40]!r}: {response!r}")
                if label and self.timings is not None:
                    self.timings.setdefault(label, []).append(time.perf_counter() - started)
                return responses

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def session(port: int, user: str, n: int, timings: Timings | None = None) -> int:
    """One mixed session; returns the number of commands."""
    imap = Client(port, timings)
    imap.command(f"LOGIN {user} {PASSWORD}".encode(), "LOGIN")
    selected = imap.command(b"SELECT INBOX", "SELECT")
    exists = int(next(r for r in selected if r.endswith(b"EXISTS\r\n")).split()[1])
    imap.command(b"FETCH 1:20 (FLAGS ENVELOPE)", "FETCH envelope")
    imap.command(b"FETCH 1:5 (BODYSTRUCTURE)", "FETCH bodystructure")
    imap.command(b"UID FETCH %d BODY.PEEK[]" % (1 + n % exists), "FETCH body")
    imap.command(b"STORE 1:10 +FLAGS (\\Seen)", "STORE")
    imap.command(b"SEARCH UNSEEN", "SEARCH UNSEEN")
    imap.command(b"SEARCH SUBJECT \"Bench 1\"", "SEARCH SUBJECT")
    raw = message(100000 + n)
    done = imap.command(b"APPEND INBOX {%d+}\r\n" % len(raw) + raw, "APPEND")[-1]
    uid = int(re.search(rb"APPENDUID \d+ (\d+)", done).group(1))  # type: ignore[union-attr]
    imap.command(b"UID STORE %d +FLAGS.SILENT (\\Deleted)" % uid, "STORE")
    imap.command(b"EXPUNGE", "EXPUNGE")
    imap.command(b"NOOP", "NOOP")
    logout(imap)
    return 13


def login_heavy_session(port: int, user: str, n: int, timings: Timings | None = None) -> int:
    """Log in, five commands, log out (a client that opens a connection per check)."""
    imap = Client(port, timings)
    imap.command(f"LOGIN {user} {PASSWORD}".encode(), "LOGIN")
    imap.command(b"SELECT INBOX", "SELECT")
    imap.command(b"FETCH 1:20 (FLAGS)", "FETCH flags")
    imap.command(b"UID SEARCH UNSEEN", "SEARCH UNSEEN")
    imap.command(b"STATUS Sent (MESSAGES UNSEEN)", "STATUS")
    imap.command(b"NOOP", "NOOP")
    logout(imap)
    return 7


def logout(imap: Client) -> None:
    imap.sock.sendall(b"z LOGOUT\r\n")
    while not imap.line().startswith(b"z OK"):
        pass
    imap.close()


def run_sessions(
    port: int, users: list[str], rounds: int, kind: Callable[..., int] = session, timings: Timings | None = None
) -> tuple[float, int]:
    """len(users) parallel clients, each running `rounds` sessions of `kind`: (seconds, commands)."""

    def prepare(n: int) -> Callable[[], int]:
        return lambda: sum(kind(port, users[n], n * 1000 + r, timings) for r in range(rounds))

    return timed_clients(len(users), prepare)


def proc_memory(pid: int) -> tuple[int, int]:
    """(VmRSS, VmHWM) of a process, in KiB."""
    fields = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    return int(fields["VmRSS"].split()[0]), int(fields["VmHWM"].split()[0])


async def idle_sessions(
    port: int,
    users: list[str],
    count: int,
    batch: int = 100,
) -> list[tuple[asyncio.StreamReader, asyncio.StreamWriter, str]]:
    sessions = []

    async def one(n: int) -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        await reader.readline()
        user = users[n % len(users)]
        writer.write(f"a LOGIN {user} {PASSWORD}\r\nb SELECT INBOX\r\nc IDLE\r\n".encode())
        while not (line := await reader.readline()).startswith(b"+ idling"):
            if not line or line.split(b" ")[:2] in ([b"a", b"NO"], [b"a", b"BAD"], [b"c", b"BAD"]):
                raise RuntimeError(f"IDLE session {n} refused: {line!r}")
        sessions.append((reader, writer, user))

    for start in range(0, count, batch):  # `batch` at a time, as a crowd of clients would arrive
        await asyncio.gather(*(one(n) for n in range(start, min(count, start + batch))))
    return sessions


@dataclass
class IdleFigures:
    connections: int
    rss_before_kib: int
    rss_after_kib: int
    push_median: float  # seconds from the start of an SMTP delivery to EXISTS
    push_slowest: float
    delivery: float  # the SMTP transaction itself (the reference)
    peak_kib: int = 0  # the worker's VmHWM with the connections open

    @property
    def kib_per_connection(self) -> float:
        return (self.rss_after_kib - self.rss_before_kib) / self.connections


def smtp_deliver(port: int, to: str, raw: bytes) -> None:
    import smtplib

    with smtplib.SMTP("127.0.0.1", port, timeout=120) as smtp:
        smtp.sendmail("sender@remote.test", [to], raw)


async def idle_part(
    port: int, pid: int, users: list[str], count: int, smtp_port: int, accounts: int | None = None
) -> IdleFigures:
    """count IDLE sessions on the worker `pid`; then one SMTP delivery to each
    of the first `accounts` accounts (default all) and the time until every
    IDLE session of that account has its EXISTS."""
    before, _ = proc_memory(pid)
    sessions = await idle_sessions(port, users, count, batch=250)
    await asyncio.sleep(2)
    rss, peak = proc_memory(pid)
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    deliveries: list[float] = []
    for user in users[:accounts]:
        started = time.perf_counter()

        async def wait_exists(idler: asyncio.StreamReader) -> float:
            while not (await idler.readline()).endswith(b"EXISTS\r\n"):
                pass
            return time.perf_counter() - started

        waiters = [asyncio.ensure_future(wait_exists(r)) for r, _, u in sessions if u == user]
        await loop.run_in_executor(None, smtp_deliver, smtp_port, user, message(7))
        deliveries.append(time.perf_counter() - started)
        latencies += await asyncio.gather(*waiters)
    latencies.sort()
    for _, idler, _ in sessions:
        idler.close()
    return IdleFigures(
        len(sessions),
        before,
        rss,
        latencies[len(latencies) // 2],
        latencies[-1],
        sorted(deliveries)[len(deliveries) // 2],
        peak,
    )


SAMPLE_WORDS = 1000  # distinct messages in the big folder; each row shares one of them


def fill_big_folder(account_id: int, folder: str, count: int) -> int:
    """count messages in the account's `folder`: SAMPLE_WORDS distinct messages
    through store.append_many (each with its own rare word, "word<n>"), then
    rows that share their stored bytes made by one SQL statement. Returns the folder id."""
    from datetime import datetime, timedelta

    from django.db import connection

    from mailboxes import store

    start = datetime(2026, 1, 1, tzinfo=UTC)
    sample = min(count, SAMPLE_WORDS)
    results = store.append_many(
        account_id,
        folder,
        [
            (
                message(i).replace(b"lazy dog", b"lazy word%d" % i),
                ("\\Seen",) if i % 3 else (),
                start + timedelta(minutes=i),
            )
            for i in range(sample)
        ],
    )
    folder_id = results[0].folder_id
    if count > sample:
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO mailboxes_message (folder_id, uid, modseq, seen, answered, flagged, deleted, draft,"
                " keywords, internal_date, size, blob_id)"
                " SELECT m.folder_id, g, f.highestmodseq + g, g %% 3 <> 0, false, g %% 50 = 0, false, false,"
                " '[]'::jsonb, m.internal_date + g * interval '1 second', m.size, m.blob_id"
                " FROM generate_series(%s, %s) g JOIN mailboxes_message m ON m.folder_id = %s"
                " AND m.uid = 1 + (g %% %s) JOIN mailboxes_folder f ON f.id = m.folder_id",
                [sample + 1, count, folder_id, sample],
            )
            cursor.execute(
                "UPDATE mailboxes_folder SET uidnext = %s, highestmodseq = highestmodseq + %s + 1 WHERE id = %s",
                [count + 1, count, folder_id],
            )
            cursor.execute("ANALYZE mailboxes_message")
    return folder_id


BIG_COMMANDS = (
    ("SELECT", b"SELECT {folder}"),
    ("FETCH 1:* (UID FLAGS)", b"FETCH 1:* (UID FLAGS)"),
    ("UID SEARCH UNSEEN", b"UID SEARCH UNSEEN"),
    ("UID SEARCH TEXT word", b"UID SEARCH TEXT word42"),
)


def big_part(
    port: int,
    user: str,
    folder: str,
    count_queries: Callable[[], int] | None = None,
) -> list[tuple[str, float, int, int]]:
    """Each BIG_COMMANDS on `folder`: (label, seconds, octets of response, SQL queries or -1)."""
    imap = Client(port)
    imap.command(f"LOGIN {user} {PASSWORD}".encode())
    figures = []
    for label, text in BIG_COMMANDS:
        queries = count_queries() if count_queries else 0
        started = time.perf_counter()
        responses = imap.command(text.replace(b"{folder}", folder.encode()))
        elapsed = time.perf_counter() - started
        queries = count_queries() - queries if count_queries else -1
        figures.append((label, elapsed, sum(len(r) for r in responses), queries))
    logout(imap)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=20, help="mixed sessions per client")
    parser.add_argument("--messages", type=int, default=200, help="in each client's INBOX")
    parser.add_argument("--idlers", type=int, default=1000)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--database", default="bench_imap")
    args = parser.parse_args()

    url = setup_scratch(args.database, {"MAIL_LOG_LEVEL": "WARNING", "MAIL_FAST_PASSWORD_HASHING": "1"})
    from django.db import connections

    from mailboxes import store
    from tests.servers import SubprocessServer

    store.create_domain("bench.test")
    users = [f"user{n}@bench.test" for n in range(args.clients)]
    accounts = [store.create_account(user, PASSWORD, quota=0) for user in users]
    for i in range(args.messages * args.clients):
        store.deliver(message(i), [users[i % args.clients]])
    connections.close_all()
    env = {
        "MAIL_DB_POOL": os.environ.get("MAIL_DB_POOL", "true"),
        "MAIL_MAX_SESSIONS_PER_ACCOUNT": "0",
    }  # the idle part opens many sessions per account
    bus = "Redis" if os.environ.get("REDIS_URL") else "in-process"
    print(
        f"imap: PostgreSQL {urlsplit(url).path[1:]}, MAIL_DB_THREADS={os.environ.get('MAIL_DB_THREADS', '8')}, "
        f"event bus {bus}, {os.cpu_count()} CPUs"
    )
    from tests.relay.helpers import DnsServer

    dns = DnsServer({}, negative_ttl=3600)
    env["MAIL_DNS_NAMESERVERS"] = f"127.0.0.1:{dns.port}"
    try:
        with SubprocessServer("imap", env) as server:
            port = server.ports["imap"]
            run_sessions(port, users, 1)  # warm-up
            elapsed, commands = run_sessions(port, users, args.rounds)
            print(
                f"  mixed workload: {commands} commands from {args.clients} parallel clients in {elapsed:.2f} s: "
                f"{commands / elapsed:.0f} commands/s ({args.messages} messages per INBOX)"
            )
        with SubprocessServer("imap,smtp", env) as server:
            assert server.proc is not None
            idle = asyncio.run(
                idle_part(server.ports["imap"], server.proc.pid, users, args.idlers, server.ports["smtp"])
            )
            print(
                f"  {idle.connections} IDLE connections: worker RSS {idle.rss_before_kib / 1024:.1f} MiB before, "
                f"{idle.rss_after_kib / 1024:.1f} MiB with them (peak {idle.peak_kib / 1024:.1f} MiB), "
                f"{idle.kib_per_connection:.1f} KiB per connection"
            )
            print(
                f"  EXISTS after an SMTP delivery: median {idle.push_median * 1000:.0f} ms, "
                f"slowest {idle.push_slowest * 1000:.0f} ms (the delivery itself {idle.delivery * 1000:.0f} ms)"
            )
        if args.big:
            fill_big_folder(accounts[0].id, "Archive", args.big)
            connections.close_all()
            with SubprocessServer("imap", env) as server:
                assert server.proc is not None
                _, peak_before = proc_memory(server.proc.pid)
                for label, seconds, octets, _ in big_part(server.ports["imap"], users[0], "Archive"):
                    print(f"  {args.big} messages, {label}: {seconds:.2f} s, {octets / 1e6:.1f} MB")
                _, peak = proc_memory(server.proc.pid)
                print(f"  worker peak RSS {peak_before / 1024:.1f} MiB before, {peak / 1024:.1f} MiB after")
    finally:
        dns.close()
        connections.close_all()
        drop_scratch(url)


if __name__ == "__main__":
    main()
