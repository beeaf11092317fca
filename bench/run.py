"""`make bench`: every figure measured beside its reference in one run, one table.

The machine is shared and noisy, so each figure comes with a reference taken
on the same machine in the same run, and the ratio is what to compare
between runs (with the load average printed beside it). Parts reuse the
standalone scripts (bench/smtp.py, imap.py, pop3.py, webmail.py) and the
timing harness (bench/parallel.py); everything runs in one scratch database
(bench_run, dropped at the end) against real `runmailserver` child processes.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mailhost REDIS_URL=redis://127.0.0.1:6379/9 \\
        .venv/bin/python bench/run.py [--parts smtp,imap,idle,big,pop3,webmail,workers] [--quick]

Parts and references:
- smtp: 2,000 4 KB messages from 10 clients to the MX listener, each counted
  at its 250 and checked in the store at the end; the ceiling is a minimal
  aiosmtpd server doing one INSERT of the raw message per transaction
  (bench/smtp.py CeilingServer). Target: at least 0.6 of the ceiling.
- imap: the mixed session (bench/imap.py session) from 10 and 50 clients,
  p50/p99 per command; the reference for 10 clients is NOOP from the same
  clients (the protocol's own floor), for 50 clients the 10-client rate;
  the login-heavy session against the persistent one.
- idle: as many IDLE connections as the descriptor limit allows, up to
  10,000, on one worker: RSS per connection (target under 50 KiB), and the
  time from an SMTP delivery's 250 to EXISTS on all of them.
- big: a 100,000-message folder: SELECT, FETCH 1:* (UID FLAGS), UID SEARCH
  UNSEEN, UID SEARCH TEXT and the webmail inbox page, each timed and its SQL
  statements counted, against the same on a 1,000-message folder (target:
  the same number of statements, or one more per 2,000-message page where
  the answer streams in pages).
- pop3: RETR from 10 clients against the same bytes read straight from
  PostgreSQL; logins against bare connections (greeting + QUIT).
- webmail: inbox page, message page, search at p50/p99 against a page that
  touches no mail (the login form).
- workers: the IMAP mixed workload from 20 clients on one worker against two.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from parallel import drop_scratch, setup_scratch, timed_clients  # noqa: E402  (bench/parallel.py)

PARTS = ("smtp", "imap", "idle", "big", "pop3", "webmail", "workers")
DATABASE = "bench_run"


@dataclass
class Row:
    figure: str
    value: float
    unit: str
    reference: str
    ref_value: float
    target: str = ""
    met: bool | None = None
    load: float = 0.0

    @property
    def ratio(self) -> float:
        return self.value / self.ref_value if self.ref_value else float("nan")


class Table:
    def __init__(self) -> None:
        self.rows: list[Row] = []
        self.latencies: list[tuple[str, str, float, float, int]] = []

    def add(
        self,
        figure: str,
        value: float,
        unit: str,
        reference: str,
        ref_value: float,
        target: str = "",
        met: bool | None = None,
    ) -> Row:
        row = Row(figure, value, unit, reference, ref_value, target, met, os.getloadavg()[0])
        self.rows.append(row)
        print(
            f"  {figure}: {value:,.4g} {unit} | {reference}: {ref_value:,.4g} | ratio {row.ratio:.3f}"
            f"{' | ' + target + (' met' if met else ' MISSED') if target else ''} | load {row.load:.1f}",
            flush=True,
        )
        return row

    def markdown(self) -> str:
        lines = ["| figure | value | reference | ratio | target | met? | load |", "|---|---|---|---|---|---|---|"]
        for r in self.rows:
            met = "" if r.met is None else ("yes" if r.met else "**no**")
            lines.append(
                f"| {r.figure} | {r.value:,.4g} {r.unit} | {r.reference}: {r.ref_value:,.4g} | "
                f"{r.ratio:.3f} | {r.target} | {met} | {r.load:.1f} |"
            )
        if self.latencies:
            lines += ["", "| IMAP workload | command | p50 ms | p99 ms | count |", "|---|---|---|---|---|"]
            lines += [
                f"| {w} | {c} | {p50 * 1000:.1f} | {p99 * 1000:.1f} | {n} |" for w, c, p50, p99, n in self.latencies
            ]
        return "\n".join(lines)


def percentile(values: list[float], fraction: float) -> float:
    return import_module("webmail").percentile(values, fraction)


class Bench:
    """The scratch database, its accounts, and one method per part."""

    def __init__(self, url: str, quick: bool, profile: str | None = None, gil: bool = False) -> None:
        self.url = url
        self.quick = quick
        self.profile = profile
        self.gil = gil
        self.table = Table()
        self.dns = import_module("tests.relay.helpers").DnsServer({}, negative_ttl=3600)
        self.env = {
            "MAIL_DB_POOL": "true",
            "MAIL_LOG_LEVEL": "WARNING",
            "MAIL_FAST_PASSWORD_HASHING": "0",
            "MAIL_DNS_NAMESERVERS": f"127.0.0.1:{self.dns.port}",
            "MAIL_HOSTNAME": "mx.bench.test",
            # every bench client comes from 127.0.0.1, and the idle part holds 10,000
            # sessions on 20 accounts (500 each: past the per-account limit of 50)
            "MAIL_MAX_CONNECTIONS": "20000",
            "MAIL_MAX_CONNECTIONS_PER_IP": "20000",
            "MAIL_MAX_SESSIONS_PER_ACCOUNT": "0",
        }
        from mailboxes import store

        self.store = store
        store.create_domain("bench.test")
        self._accounts: dict[str, int] = {}

    # -- setup -------------------------------------------------------------
    def accounts(self, prefix: str, count: int, messages: int = 0) -> list[str]:
        """count accounts `<prefix><n>@bench.test`, each with `messages` messages in INBOX
        (the same bytes for all, so they are parsed once), with a real (PBKDF2) password."""
        from django.contrib.auth.hashers import make_password
        from django.db import connection

        imap = import_module("imap")
        users = [f"{prefix}{n}@bench.test" for n in range(count)]
        batch = [(imap.message(i), ("\\Seen",) if i % 2 else (), None) for i in range(messages)]
        for user in users:
            if user not in self._accounts:
                self._accounts[user] = self.store.create_account(user, imap.PASSWORD, quota=0).id
                if batch:
                    self.store.append_many(self._accounts[user], "INBOX", batch)
        with connection.cursor() as cursor:  # one slow hash for all, as production stores them
            cursor.execute(
                "UPDATE mailboxes_account SET password = %s WHERE address LIKE %s",
                [make_password(imap.PASSWORD, hasher="pbkdf2_sha256"), f"{prefix}%"],
            )
            cursor.execute("ANALYZE")
        from django.db import connections

        connections.close_all()
        return users

    def server(self, protocols: str, **env: str):  # type: ignore[no-untyped-def]
        """A runmailserver child; with --profile, py-spy samples it while it runs."""
        from tests.servers import SubprocessServer

        bench = self

        class Server(SubprocessServer):
            def start(self) -> Server:
                super().start()
                if bench.profile and self.proc is not None:
                    out = Path(bench.profile) / f"{protocols.replace(',', '+')}-{self.proc.pid}.txt"
                    self.spy = subprocess.Popen(
                        [
                            str(Path(sys.executable).parent / "py-spy"),
                            "record",
                            "--subprocesses",
                            "--pid",
                            str(self.proc.pid),
                            "--format",
                            "raw",
                            "-o",
                            str(out),
                            "-r",
                            "50",
                            "--threads",
                            "--nonblocking",
                            *(["--gil"] if bench.gil else []),
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                return self

            def stop(self, *args, **kwargs) -> int:  # type: ignore[no-untyped-def]
                code = super().stop(*args, **kwargs)
                if getattr(self, "spy", None) is not None:
                    self.spy.wait(30)
                return code

        # One worker unless a part asks for more: the figures read the CPU and
        # memory of the process they start (with the default of one worker per
        # core on PostgreSQL, that process is the supervisor, not a worker).
        return Server(protocols, {"MAIL_WORKERS": "1", **self.env, **env})

    # -- parts -------------------------------------------------------------
    def smtp(self) -> None:
        smtp = import_module("smtp")
        total = 400 if self.quick else 2000
        users = self.accounts("user", 10)
        cores = os.cpu_count() or 1
        rates, cpu = {}, {}
        stored_before = 0
        for workers in sorted({1, cores}):
            with self.server("smtp", MAIL_WORKERS=str(workers)) as server:
                smtp.run_clients(server.ports["smtp"], "smtp", 4, 40, 4096)  # warm-up
                used = cpu_seconds(server.proc.pid)
                elapsed, acknowledged = smtp.run_clients(server.ports["smtp"], "smtp", 10, total, 4096)
                rates[workers] = acknowledged / elapsed
                cpu[workers] = cpu_seconds(server.proc.pid) - used
            stored = sum(self.store.folder_status(self._accounts[u], "INBOX").messages for u in users)
            assert stored - stored_before == total + 40, f"{stored - stored_before} stored, {total + 40} acknowledged"
            stored_before = stored
        with smtp.CeilingServer(self.url) as ceiling:
            smtp.run_clients(ceiling.port, "smtp", 4, 40, 4096)
            elapsed, acknowledged = smtp.run_clients(ceiling.port, "smtp", 10, total, 4096)
            rates["ceiling"] = acknowledged / elapsed
        for workers in sorted({1, cores}):
            label = "1 worker" if workers == 1 else f"{workers} workers (one per core)"
            self.table.add(
                f"SMTP accept-and-store, 10 clients, {total} x 4 KB, {label}",
                rates[workers],
                "msg/s",
                "ceiling (aiosmtpd + 1 INSERT)",
                rates["ceiling"],
                ">= 0.6",
                rates[workers] >= 0.6 * rates["ceiling"],
            )
        self.table.add(
            "SMTP worker CPU per message, 1 worker",
            cpu[1] / total * 1000,
            "ms",
            "wall time per message, 10 clients",
            1000 / rates[1],
        )

    def imap(self) -> None:
        imap = import_module("imap")
        users = self.accounts("imap", 50, 100)
        rounds = 1 if self.quick else 3
        with self.server("imap") as server:
            port = server.ports["imap"]
            imap.run_sessions(port, users[:10], 1)  # warm-up: every account's first login pays the hash
            imap.run_sessions(port, users[10:], 1)
            noop = self._noop_rate(port, users[:10])
            figures: dict[str, float] = {}
            for label, clients, kind, n in (
                ("mixed, 10 clients", 10, imap.session, rounds),
                ("mixed, 50 clients", 50, imap.session, 1),
                ("login-heavy, 10 clients", 10, imap.login_heavy_session, 3 * rounds),
            ):
                timings: dict[str, list[float]] = {}
                used = cpu_seconds(server.proc.pid)
                elapsed, commands = imap.run_sessions(port, users[:clients], n, kind, timings)
                figures[label] = commands / elapsed
                figures[f"{label} cpu"] = (cpu_seconds(server.proc.pid) - used) / commands * 1000
                for command, values in timings.items():
                    self.table.latencies.append(
                        (label, command, percentile(values, 0.5), percentile(values, 0.99), len(values))
                    )
        self.table.add("IMAP mixed, 10 clients", figures["mixed, 10 clients"], "cmd/s", "NOOP, same clients", noop)
        # bench/imap_cost.py breaks this down: SQL statements and transactions per command.
        self.table.add(
            "IMAP worker CPU per command, mixed, 10 clients",
            figures["mixed, 10 clients cpu"],
            "ms",
            "wall time per command, 10 clients",
            1000 / figures["mixed, 10 clients"],
        )
        self.table.add(
            "IMAP mixed, 50 clients",
            figures["mixed, 50 clients"],
            "cmd/s",
            "mixed, 10 clients",
            figures["mixed, 10 clients"],
            ">= 0.8 (holds with 5x clients)",
            figures["mixed, 50 clients"] >= 0.8 * figures["mixed, 10 clients"],
        )
        self.table.add(
            "IMAP login-heavy (login, 5 commands, logout)",
            figures["login-heavy, 10 clients"],
            "cmd/s",
            "mixed, 10 clients",
            figures["mixed, 10 clients"],
        )

    def _noop_rate(self, port: int, users: list[str]) -> float:
        imap = import_module("imap")

        def prepare(n: int) -> Callable[[], int]:
            client = imap.Client(port)
            client.command(f"LOGIN {users[n]} {imap.PASSWORD}".encode())

            def work() -> int:
                for _ in range(200):
                    client.command(b"NOOP")
                imap.logout(client)
                return 200

            return work

        elapsed, commands = timed_clients(len(users), prepare)
        return commands / elapsed

    def idle(self) -> None:
        imap = import_module("imap")
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # the workers started below inherit it
        count = min(1000 if self.quick else 10_000, hard - 1000)
        users = self.accounts("idle", 20, 20)
        with self.server("imap") as server, self.server("smtp") as mx:
            figures = asyncio.run(
                imap.idle_part(server.ports["imap"], server.proc.pid, users, count, mx.ports["smtp"], accounts=5)
            )
        self.table.add(
            f"IMAP IDLE: RSS per connection, {figures.connections} connections (ulimit -n {soft} raised to {hard})",
            figures.kib_per_connection,
            "KiB",
            "target",
            50,
            "< 50 KiB",
            figures.kib_per_connection < 50,
        )
        self.table.add(
            f"IMAP IDLE: SMTP delivery to EXISTS on all {figures.connections // len(users)} sessions "
            "of the account (median session, 5 deliveries)",
            figures.push_median * 1000,
            "ms",
            "the SMTP delivery itself",
            figures.delivery * 1000,
        )
        self.table.add(
            "IMAP IDLE: slowest push",
            figures.push_slowest * 1000,
            "ms",
            "the SMTP delivery itself",
            figures.delivery * 1000,
        )

    def big(self) -> None:
        imap = import_module("imap")
        webmail = import_module("webmail")
        from django.db import connections

        from tests.servers import InProcessServer

        count = 10_000 if self.quick else 100_000
        big_user, small_user = self.accounts("big", 2)
        big_folder = imap.fill_big_folder(self._accounts[big_user], "Archive", count)
        small_folder = imap.fill_big_folder(self._accounts[small_user], "Archive", 1000)
        connections.close_all()
        counter = count_queries()
        with InProcessServer(["imap"]) as server:  # in process, so its SQL statements can be counted
            big = imap.big_part(server.ports["imap"], big_user, "Archive", counter)
            small = imap.big_part(server.ports["imap"], small_user, "Archive", counter)
        pages = []
        for user, folder in ((big_user, big_folder), (small_user, small_folder)):
            pages.append(webmail.time_pages(self._web_client(user), [("inbox", f"/mail/f/{folder}/")], 5)[0])
        rows = [
            (label, seconds, queries, s_seconds, s_queries)
            for (label, seconds, _, queries), (_, s_seconds, _, s_queries) in zip(big, small)
        ]
        rows.append(("webmail inbox page", pages[0][1], pages[0][3], pages[1][1], pages[1][3]))
        for label, seconds, queries, s_seconds, s_queries in rows:
            self.table.add(f"{count:,} messages: {label}", seconds * 1000, "ms", "1,000 messages", s_seconds * 1000)
            # Constant, or one keyset page per 2,000 messages where the answer streams
            # (FETCH writes each page before reading the next): never one per message.
            self.table.add(
                f"{count:,} messages: {label}, SQL statements",
                queries,
                "",
                "1,000 messages",
                s_queries,
                "constant or 1 per 2,000 (a page)",
                queries <= s_queries + count // 2000,
            )
        connections.close_all()

    def _web_client(self, user: str):  # type: ignore[no-untyped-def]
        from django.contrib.auth import get_user_model
        from django.test import Client

        client = Client()
        client.force_login(get_user_model()._default_manager.get(address=user))
        return client

    def pop3(self) -> None:
        pop3 = import_module("pop3")
        users = self.accounts("pop", 10, 40 if self.quick else 200)
        with self.server("pop3") as server:
            port = server.ports["pop3"]
            pop3.run_round(port, users)  # warm-up: first logins, sizes counted
            rounds = [pop3.run_round(port, users) for _ in range(1 if self.quick else 2)]
            used = cpu_seconds(server.proc.pid)
            logins = pop3.login_round(port, users, 20)
            login_cpu = (cpu_seconds(server.proc.pid) - used) / logins[1]
            used = cpu_seconds(server.proc.pid)
            bare = pop3.login_round(port, users, 20, authenticate=False)
            bare_cpu = (cpu_seconds(server.proc.pid) - used) / bare[1]
        raw = pop3.raw_retr_round(self.url, users)
        retr = sum(r[1] for r in rounds) / sum(r[0] for r in rounds)
        self.table.add("POP3 RETR, 10 clients, 4 KB", retr, "msg/s", "same bytes by SQL, no protocol", raw[1] / raw[0])
        self.table.add(
            "POP3 logins (USER/PASS/QUIT), 10 clients",
            logins[1] / logins[0],
            "logins/s",
            "connect + greeting + QUIT",
            bare[1] / bare[0],
        )
        self.table.add("POP3 worker CPU per login", login_cpu * 1000, "ms", "per bare connection", bare_cpu * 1000)

    def webmail(self) -> None:
        webmail = import_module("webmail")
        user = self.accounts("web", 1, 0)[0]
        account = self._accounts[user]
        import random

        rng = random.Random(7)
        for first in range(0, 2000, 500):
            self.store.append_many(
                account, "INBOX", [(webmail.message(i, rng), (), None) for i in range(first, first + 500)]
            )
        inbox = next(r.id for r in self.store.folder_rows(account) if r.name == "INBOX")
        uid = self.store.message_page(account, inbox, per_page=1, page=100).items[0].uid
        rounds = 10 if self.quick else 50
        from django.test import Client

        reference = webmail.time_pages(Client(), [("login form", "/mail/login/")], rounds)[0]
        client = self._web_client(user)
        for label, p50, p99, statements, _ in webmail.time_pages(
            client,
            [
                ("inbox page", f"/mail/f/{inbox}/"),
                ("message page", f"/mail/m/{inbox}/{uid}/"),
                ("search", "/mail/search/?q=x0042y"),
            ],
            rounds,
        ):
            self.table.add(
                f"webmail {label} p50 (2,000 messages, {statements} SQL)",
                p50 * 1000,
                "ms",
                "login form p50",
                reference[1] * 1000,
            )
            self.table.add(f"webmail {label} p99", p99 * 1000, "ms", "login form p99", reference[2] * 1000)

    def workers(self) -> None:
        imap = import_module("imap")
        users = self.accounts("imap", 50, 100)[:20]
        rates = []
        for count in (1, 2):
            servers = [self.server("imap") for _ in range(count)]
            try:
                ports = [s.start().ports["imap"] for s in servers]

                def prepare(n: int) -> Callable[[], int]:
                    return lambda: imap.session(ports[n % count], users[n], n)

                timed_clients(len(users), prepare)  # warm-up
                elapsed, commands = timed_clients(
                    len(users),
                    lambda n: lambda: sum(imap.session(ports[n % count], users[n], n * 10 + r) for r in range(2)),
                )
                rates.append(commands / elapsed)
            finally:
                for s in servers:
                    s.stop()
        self.table.add("IMAP mixed, 20 clients on two workers", rates[1], "cmd/s", "one worker", rates[0])

    def close(self) -> None:
        self.dns.close()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time so far of a process and its live children
    (runmailserver --workers N forks its workers), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    own = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    children = Path(f"/proc/{pid}/task/{pid}/children")
    return own + sum(cpu_seconds(int(child)) for child in children.read_text().split())


def count_queries() -> Callable[[], int]:
    """A running count of SQL statements executed through Django in this
    process (every thread): wraps CursorWrapper's execute path (bench only)."""
    from django.db.backends import utils

    counter = itertools.count()
    seen = [0]
    original = utils.CursorWrapper._execute_with_wrappers

    def counted(self, sql, params, many, executor):  # type: ignore[no-untyped-def]
        seen[0] = next(counter) + 1
        return original(self, sql, params, many, executor)

    utils.CursorWrapper._execute_with_wrappers = counted  # type: ignore[method-assign]
    return lambda: seen[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default=",".join(PARTS), help=f"comma-separated, of {','.join(PARTS)}")
    parser.add_argument("--quick", action="store_true", help="smaller counts, for trying the runner out")
    parser.add_argument("--markdown", help="also write the table to this file")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="record each worker with py-spy (pip install py-spy) "
        "into DIR as collapsed stacks (bench/stacks.py summarises them)",
    )
    parser.add_argument(
        "--gil",
        action="store_true",
        help="with --profile: only samples holding the GIL (where the worker's CPU goes, not where it waits)",
    )
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the workers and the scratch database are cleaned up
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if unknown := set(parts) - set(PARTS):
        parser.error(f"unknown parts: {', '.join(sorted(unknown))}")

    url = setup_scratch(DATABASE, {"MAIL_LOG_LEVEL": "WARNING", "MAIL_FAST_PASSWORD_HASHING": "1"})
    import psycopg

    with psycopg.connect(url) as conn:
        durability = ", ".join(
            f"{name}={conn.execute(f'SHOW {name}').fetchone()[0]}" for name in ("synchronous_commit", "fsync")
        )
    print(
        f"bench: {os.cpu_count()} CPUs, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}, "
        f"PostgreSQL {DATABASE} ({durability}), event bus {'Redis' if os.environ.get('REDIS_URL') else 'in-process'}",
        flush=True,
    )
    started = time.perf_counter()
    bench = Bench(url, args.quick, args.profile, args.gil)
    try:
        for part in parts:
            began = time.perf_counter()
            print(f"{part}:", flush=True)
            getattr(bench, part)()
            print(f"  ({time.perf_counter() - began:.0f} s)", flush=True)
    finally:
        bench.close()
        from django.db import connections

        connections.close_all()
        drop_scratch(url)
    print(f"\nAll figures ({time.perf_counter() - started:.0f} s in all; load average now {os.getloadavg()[0]:.1f}):\n")
    text = bench.table.markdown()
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")


if __name__ == "__main__":
    main()
