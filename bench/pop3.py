"""How many messages per second does POP3 RETR deliver? 4 KB messages to 10
parallel clients from PostgreSQL; prints messages/second.

Standalone: makes a scratch database (bench_pop3, created afresh and dropped
at the end), migrates it, creates one account per client (the maildrop lock
allows one POP3 session per maildrop) with --messages / --clients messages
of --size octets each in INBOX, and starts `runmailserver` (pop3) as a child
process with the production defaults (connection pool, MAIL_DB_THREADS),
after ANALYZE (a database in service has planner statistics).
Each client logs in with USER/PASS, then RETRs every message of its maildrop
one after another (no pipelining), checks that it received exactly the
octets LIST announced, and QUITs without deleting; that is one round. A
message counts once its terminating ".CRLF" has arrived. A warm-up round
runs first; the figure is the mean over --rounds rounds.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mailhost \\
        .venv/bin/python bench/pop3.py [--messages 2000] [--clients 10] [--size 4096] [--rounds 3]
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
PASSWORD = "bench-password"

from parallel import drop_scratch, setup_scratch, timed_clients  # noqa: E402  (bench/parallel.py)


def message(i: int, size: int) -> bytes:
    head = (
        f"From: Sender <sender@remote.test>\r\nTo: user@bench.test\r\nSubject: Bench {i}\r\n"
        f"Date: Mon, 30 Nov 2026 07:00:00 +0000\r\nMessage-ID: <bench-{i}@remote.test>\r\n"
        f"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
    ).encode()
    line = b"The quick brown fox jumps over the lazy dog, message %d.\r\n" % i
    body = (line * (size // len(line) + 1))[: max(0, size - len(head) - 2)] + b"\r\n"
    return head + body


class Pop3Client:
    """A lean POP3 client on a raw socket, so the client is not what is measured."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
        self.buffer = b""
        self.line()

    def line(self) -> bytes:
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _fill(self) -> None:
        chunk = self.sock.recv(262144)
        if not chunk:
            raise ConnectionError("server closed the connection")
        self.buffer += chunk

    def command(self, text: str) -> bytes:
        self.sock.sendall(text.encode() + b"\r\n")
        reply = self.line()
        if not reply.startswith(b"+OK"):
            raise RuntimeError(f"{text.split()[0]}: {reply!r}")
        return reply

    def multiline(self) -> bytes:
        """The body of a multi-line response, unstuffed."""
        while True:
            end = self.buffer.find(b"\r\n.\r\n")
            if end >= 0 or self.buffer.startswith(b".\r\n"):
                break
            self._fill()
        if self.buffer.startswith(b".\r\n"):
            body, self.buffer = b"", self.buffer[3:]
        else:
            body, self.buffer = self.buffer[: end + 2], self.buffer[end + 5 :]
        return (b"\r\n" + body).replace(b"\r\n..", b"\r\n.")[2:]

    def close(self) -> None:
        self.sock.close()


def run_round(port: int, users: list[str]) -> tuple[float, int, int]:
    """One session per user in parallel; (elapsed seconds, messages, octets) retrieved."""
    octets = [0] * len(users)

    def prepare(n: int) -> Callable[[], int]:
        pop = Pop3Client(port)

        def work() -> int:
            pop.command(f"USER {users[n]}")
            pop.command(f"PASS {PASSWORD}")
            pop.command("LIST")
            sizes = [int(line.split()[1]) for line in pop.multiline().splitlines()]
            for number, size in enumerate(sizes, 1):
                pop.command(f"RETR {number}")
                data = pop.multiline()
                if len(data) != size:
                    raise RuntimeError(f"message {number}: LIST said {size}, RETR sent {len(data)}")
                octets[n] += size
            pop.command("QUIT")
            pop.close()
            return len(sizes)

        return work

    elapsed, retrieved = timed_clients(len(users), prepare)
    return elapsed, retrieved, sum(octets)


def login_round(port: int, users: list[str], logins: int, authenticate: bool = True) -> tuple[float, int]:
    """Each user's client connects `logins` times: greeting, USER/PASS (or,
    the reference, nothing), QUIT. (seconds, sessions)."""

    def prepare(n: int) -> Callable[[], int]:
        def work() -> int:
            for _ in range(logins):
                pop = Pop3Client(port)
                if authenticate:
                    pop.command(f"USER {users[n]}")
                    pop.command(f"PASS {PASSWORD}")
                pop.command("QUIT")
                pop.close()
            return logins

        return work

    return timed_clients(len(users), prepare)


def raw_retr_round(url: str, users: list[str]) -> tuple[float, int]:
    """The reference for RETR: the same messages read straight from PostgreSQL
    (one SELECT of the bytes per message, one connection per client), no protocol."""
    import psycopg

    def prepare(n: int) -> Callable[[], int]:
        conn = psycopg.connect(url, autocommit=True)
        ids = [
            row[0]
            for row in conn.execute(
                "SELECT m.id FROM mailboxes_message m JOIN mailboxes_folder f ON f.id = m.folder_id"
                " JOIN mailboxes_account a ON a.id = f.owner_id WHERE a.address = %s AND f.name = 'INBOX'"
                " ORDER BY m.uid",
                (users[n],),
            )
        ]

        def work() -> int:
            with conn:
                for message_id in ids:
                    data = conn.execute(
                        "SELECT b.data FROM mailboxes_message m JOIN mailboxes_blob b"
                        " ON b.sha256 = m.blob_id WHERE m.id = %s",
                        (message_id,),
                    ).fetchone()[0]
                    (b"\r\n" + bytes(data)).replace(b"\r\n.", b"\r\n..")  # the dot-stuffing RETR does
            return len(ids)

        return work

    return timed_clients(len(users), prepare)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000, help="in all, spread over the clients' maildrops")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--size", type=int, default=4096, help="octets per message")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--database", default="bench_pop3")
    args = parser.parse_args()

    url = setup_scratch(
        args.database, {"MAIL_LOG_LEVEL": "WARNING", "MAIL_FAST_PASSWORD_HASHING": "1"}, without_redis=True
    )
    from django.db import connections

    from mailboxes import store
    from tests.servers import SubprocessServer

    store.create_domain("bench.test")
    users = [f"user{n}@bench.test" for n in range(args.clients)]
    for user in users:
        store.create_account(user, PASSWORD, quota=0)
    for i in range(args.messages):
        store.deliver(message(i, args.size), [users[i % args.clients]])
    with connections["default"].cursor() as cursor:
        cursor.execute("ANALYZE")  # planner statistics, as a database in service has them
    connections.close_all()

    server = SubprocessServer("pop3", extra_env={"MAIL_DB_POOL": os.environ.get("MAIL_DB_POOL", "true")})
    try:
        server.start()
        port = server.ports["pop3"]
        cold, _, _ = run_round(port, users)  # warm-up: the first snapshot counts POP sizes
        results = [run_round(port, users) for _ in range(args.rounds)]
    finally:
        server.stop()
    elapsed = sum(r[0] for r in results)
    retrieved = sum(r[1] for r in results)
    octets = sum(r[2] for r in results)
    print(
        f"pop3: {args.messages} messages of {args.size} octets in {args.clients} maildrops, "
        f"{args.clients} parallel clients, PostgreSQL {urlsplit(url).path[1:]}, "
        f"MAIL_DB_THREADS={os.environ.get('MAIL_DB_THREADS', '8')}"
    )
    print(f"  warm-up round (first login, sizes counted in the database): {cold:.2f} s")
    print(
        f"  {retrieved} RETRs in {args.rounds} rounds, {elapsed:.2f} s: {retrieved / elapsed:.1f} messages/s "
        f"({octets / elapsed / 1e6:.1f} MB/s), login + LIST + RETR each + QUIT per round"
    )
    drop_scratch(url)


if __name__ == "__main__":
    main()
