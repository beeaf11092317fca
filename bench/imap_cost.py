"""What one IMAP command of the mixed session costs the worker: SQL
statements per command (one client, the server in this process, every
statement Django runs counted), and CPU milliseconds per command (10
clients against a `runmailserver` child, its user + system time from /proc
divided by the commands answered), beside the rate and the NOOP floor.

Compare the CPU per command and the statement counts between runs, not the
rates: the machine is shared. Its own scratch database (bench_imap_cost,
created afresh and dropped at the end), so it never collides with run.py's.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mailhost REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/imap_cost.py [--rounds 3] [--profile DIR]

--profile DIR records the worker of the 10-client run with py-spy --gil
(only samples holding the GIL: where its CPU goes); summarise the file with
bench/stacks.py.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
import imap  # noqa: E402  (bench/imap.py)
from parallel import drop_scratch, setup_scratch  # noqa: E402
from run import Bench, count_queries, cpu_seconds  # noqa: E402  (bench/run.py)

CLIENTS = 10


def accounts(store, count: int, messages: int) -> list[str]:  # type: ignore[no-untyped-def]
    from django.contrib.auth.hashers import make_password
    from django.db import connection, connections

    store.create_domain("bench.test")
    users = [f"cost{n}@bench.test" for n in range(count)]
    batch = [(imap.message(i), ("\\Seen",) if i % 2 else (), None) for i in range(messages)]
    for user in users:
        store.append_many(store.create_account(user, imap.PASSWORD, quota=0).id, "INBOX", batch)
    with connection.cursor() as cursor:  # a real (slow) hash, as production stores it
        cursor.execute(
            "UPDATE mailboxes_account SET password = %s", [make_password(imap.PASSWORD, hasher="pbkdf2_sha256")]
        )
        cursor.execute("ANALYZE")
    connections.close_all()
    return users


def count_transactions() -> Callable[[], int]:
    """A running count of transactions committed or rolled back through Django
    (each is a BEGIN and a COMMIT/ROLLBACK round trip the statement count
    does not see: psycopg sends BEGIN itself)."""
    from django.db.backends.base.base import BaseDatabaseWrapper

    seen = [0]
    commit, rollback = BaseDatabaseWrapper.commit, BaseDatabaseWrapper.rollback

    def counted_commit(self):  # type: ignore[no-untyped-def]
        seen[0] += 1
        return commit(self)

    def counted_rollback(self):  # type: ignore[no-untyped-def]
        seen[0] += 1
        return rollback(self)

    BaseDatabaseWrapper.commit, BaseDatabaseWrapper.rollback = counted_commit, counted_rollback  # type: ignore
    return lambda: seen[0]


Counts = dict[str, list[tuple[int, int]]]  # command label -> (statements, transactions) per run


class CountingClient(imap.Client):
    """Records the statements and transactions the server ran for each labelled command."""

    def __init__(self, port: int, counters: tuple[Callable[[], int], Callable[[], int]], counts: Counts) -> None:
        super().__init__(port, {})
        self.counters, self.counts = counters, counts

    def command(self, text: bytes, label: str = "") -> list[bytes]:
        before = [count() for count in self.counters]
        responses = super().command(text, label)
        if label:
            statements, transactions = (count() - b for count, b in zip(self.counters, before))
            self.counts.setdefault(label, []).append((statements, transactions))
        return responses


def count_commands(users: list[str], rounds: int) -> Counts:
    from tests.servers import InProcessServer

    counters = count_queries(), count_transactions()
    counts: Counts = {}
    with InProcessServer(["imap"]) as server:
        port = server.ports["imap"]
        imap.session(port, users[0], 0)  # warm-up: the first login pays the hash
        original = imap.Client
        imap.Client = lambda port, timings=None: CountingClient(port, counters, counts)  # type: ignore
        try:
            for n in range(rounds):
                imap.session(port, users[0], n + 1)
        finally:
            imap.Client = original  # type: ignore[misc]
    return counts


def cpu(users: list[str], rounds: int, profile: str | None) -> tuple[float, float, float, float]:
    """(commands/s, CPU ms per command, NOOP/s, CPU ms per NOOP) with CLIENTS clients."""
    from tests.servers import SubprocessServer

    env = {"MAIL_DB_POOL": "true", "MAIL_LOG_LEVEL": "WARNING", "MAIL_FAST_PASSWORD_HASHING": "0"}
    with SubprocessServer("imap", env) as server:
        assert server.proc is not None
        port, pid = server.ports["imap"], server.proc.pid
        imap.run_sessions(port, users, 1)  # warm-up
        spy = None
        if profile:
            Path(profile).mkdir(parents=True, exist_ok=True)
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "py-spy"),
                    "record",
                    "--pid",
                    str(pid),
                    "--format",
                    "raw",
                    "-o",
                    str(Path(profile) / f"imap-cost-{pid}.txt"),
                    "-r",
                    "100",
                    "--threads",
                    "--nonblocking",
                    "--gil",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        used = cpu_seconds(pid)
        elapsed, commands = imap.run_sessions(port, users, rounds)
        mixed_cpu = cpu_seconds(pid) - used
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file on SIGINT
            spy.wait(30)

        used = cpu_seconds(pid)
        noop_rate = Bench._noop_rate(None, port, users)  # type: ignore[arg-type]  # (it uses no state)
        noop_cpu = (cpu_seconds(pid) - used) / (200 * len(users))
    return commands / elapsed, mixed_cpu / commands * 1000, noop_rate, noop_cpu * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="mixed sessions per client")
    parser.add_argument("--profile", metavar="DIR")
    parser.add_argument("--database", default="bench_imap_cost")
    args = parser.parse_args()
    url = setup_scratch(args.database, {"MAIL_LOG_LEVEL": "WARNING", "MAIL_FAST_PASSWORD_HASHING": "1"})
    try:
        from mailboxes import store

        users = accounts(store, CLIENTS, 100)
        counts = count_commands(users, args.rounds)
        print(f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
        print("SQL statements and transactions (BEGIN + COMMIT each) per command, one client, mixed session:")
        for label, values in counts.items():
            median = sorted(values)[len(values) // 2]
            print(
                f"  {label:20} {median[0]:3} statements, {median[1]} transactions (median; all runs: "
                + ", ".join(f"{s}/{t} x{n}" for (s, t), n in sorted(Counter(values).items()))
                + ")"
            )
        rate, per_command, noop_rate, per_noop = cpu(users, args.rounds, args.profile)
        print(
            f"mixed, {CLIENTS} clients: {rate:.0f} cmd/s, worker CPU {per_command:.2f} ms per command; "
            f"NOOP: {noop_rate:.0f} cmd/s, {per_noop:.3f} ms per NOOP; "
            f"load average now {os.getloadavg()[0]:.1f}"
        )
    finally:
        from django.db import connections

        connections.close_all()
        drop_scratch(url)


if __name__ == "__main__":
    main()
