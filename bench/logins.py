"""What one login costs: IMAP (connect, LOGIN, LOGOUT) and POP3 (connect,
USER, PASS, QUIT), each with a real PBKDF2 password already in the
verified-credential cache (the first login of each account is a warm-up).

Two measurements, on a scratch database (bench_logins, created afresh and
dropped at the end):

- counted: the listeners run in this process and one client logs in
  --count times in a row; every SQL statement Django sends and every Redis
  round trip (a command, or a whole pipeline) is counted, per login;
- timed: `runmailserver` as a child process, 10 clients logging in
  --logins times each at once; logins per second, and the worker's CPU
  (user + system, from /proc) per login, beside bare connections
  (greeting, QUIT / LOGOUT) as the reference.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mailhost REDIS_URL=redis://127.0.0.1:6379/8 \\
        .venv/bin/python bench/logins.py [--count 50] [--logins 40] [--clients 10]
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from parallel import drop_scratch, setup_scratch, timed_clients  # noqa: E402

PASSWORD = "bench-password"


def imap_login(port: int, user: str, authenticate: bool = True) -> None:
    from imap import Client, logout

    client = Client(port)
    if authenticate:
        client.command(f"LOGIN {user} {PASSWORD}".encode())
    logout(client)


def pop3_login(port: int, user: str, authenticate: bool = True) -> None:
    from pop3 import Pop3Client

    client = Pop3Client(port)
    if authenticate:
        client.command(f"USER {user}")
        client.command(f"PASS {PASSWORD}")
    client.command("QUIT")
    # QUIT's work (the lock's release) is done before +OK; wait for the close.
    while client.sock.recv(4096):
        pass
    client.close()


LOGINS: dict[str, Callable[..., None]] = {"imap": imap_login, "pop3": pop3_login}


def redis_round_trips() -> Callable[[], int]:
    """A running count of Redis round trips in this process: one per command
    sent alone, one per pipeline (redis-py sends a pipeline in one write)."""
    from redis.connection import Connection

    counter = itertools.count(1)
    seen = [0]
    original = Connection.send_packed_command

    def counted(self, command, check_health=True):  # type: ignore[no-untyped-def]
        seen[0] = next(counter)
        return original(self, command, check_health)

    Connection.send_packed_command = counted  # type: ignore[method-assign]
    return lambda: seen[0]


def show_statements() -> None:
    """Print every SQL statement and Redis command as it is sent (--show)."""
    from django.db.backends import utils
    from redis.connection import Connection

    sql_original = utils.CursorWrapper._execute_with_wrappers
    redis_original = Connection.send_packed_command

    def sql(self, statement, params, many, executor):  # type: ignore[no-untyped-def]
        print("  SQL", " ".join(statement.split())[:160], flush=True)
        return sql_original(self, statement, params, many, executor)

    def redis(self, command, check_health=True):  # type: ignore[no-untyped-def]
        parts = command if isinstance(command, list) else [command]
        words = [bytes(p).split(b"\r\n")[2].decode(errors="replace") for p in parts if bytes(p).startswith(b"*")]
        print("  Redis", " | ".join(words) or "(pipeline)", flush=True)
        return redis_original(self, command, check_health)

    utils.CursorWrapper._execute_with_wrappers = sql  # type: ignore[method-assign]
    Connection.send_packed_command = redis  # type: ignore[method-assign]


def counted(users: dict[str, str], count: int, show: bool = False) -> dict[str, tuple[float, float]]:
    """(SQL statements, Redis round trips) per login, per protocol."""
    import time

    from run import count_queries

    from tests.servers import InProcessServer

    queries, trips = count_queries(), redis_round_trips()
    if show:
        show_statements()
    found = {}
    with InProcessServer(list(LOGINS)) as server:
        for protocol, login in LOGINS.items():
            port, user = server.ports[protocol], users[protocol]
            login(port, user)  # warm-up: the hash, the connection pool
            time.sleep(0.2)  # let the warm-up's closing work (off the loop) finish
            q0, r0 = queries(), trips()
            if show:
                print(f"{protocol}: one login", flush=True)
            for _ in range(count):
                login(port, user)
            time.sleep(0.2)
            found[protocol] = ((queries() - q0) / count, (trips() - r0) / count)
    return found


def timed(users: dict[str, list[str]], logins: int, profile: str | None = None) -> dict[str, dict[str, float]]:
    """Per protocol: logins/s, worker CPU ms per login, and the same for bare
    connections; with profile, py-spy (--gil) samples the worker's timed logins."""
    import subprocess

    from run import cpu_seconds

    from tests.servers import SubprocessServer

    env = {
        "MAIL_DB_POOL": "true",
        "MAIL_LOG_LEVEL": "WARNING",
        "MAIL_FAST_PASSWORD_HASHING": "0",
        "MAIL_MAX_CONNECTIONS_PER_IP": "20000",
    }
    found: dict[str, dict[str, float]] = {}
    with SubprocessServer(",".join(LOGINS), env) as server:
        assert server.proc is not None
        for protocol, login in LOGINS.items():
            port, names = server.ports[protocol], users[protocol]
            for name in names:
                login(port, name)  # warm-up: every account's first login pays the hash
            figures = found.setdefault(protocol, {})
            for label, authenticate in (("login", True), ("bare", False)):
                spy = None
                if profile and authenticate:
                    Path(profile).mkdir(parents=True, exist_ok=True)
                    spy = subprocess.Popen(
                        [
                            str(Path(sys.executable).parent / "py-spy"),
                            "record",
                            "--pid",
                            str(server.proc.pid),
                            "--format",
                            "raw",
                            "-o",
                            str(Path(profile) / f"{protocol}-logins.txt"),
                            "-r",
                            "200",
                            "--threads",
                            "--nonblocking",
                            "--gil",
                        ],
                        stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL,
                    )
                    import time

                    time.sleep(1)
                used = cpu_seconds(server.proc.pid)
                elapsed, n = timed_clients(
                    len(names),
                    lambda i: lambda: [login(port, names[i], authenticate) for _ in range(logins)] and logins,
                )
                if spy is not None:
                    spy.send_signal(2)
                    spy.wait(30)
                figures[f"{label}/s"] = n / elapsed
                figures[f"{label} cpu ms"] = (cpu_seconds(server.proc.pid) - used) / n * 1000
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=50, help="logins counted, per protocol")
    parser.add_argument("--logins", type=int, default=40, help="timed logins per client")
    parser.add_argument("--clients", type=int, default=10)
    parser.add_argument("--profile", metavar="DIR", help="py-spy --gil the timed logins into DIR (bench/stacks.py)")
    parser.add_argument("--show", action="store_true", help="print one login's statements and stop")
    args = parser.parse_args()
    url = setup_scratch("bench_logins", {"MAIL_LOG_LEVEL": "WARNING", "MAIL_FAST_PASSWORD_HASHING": "0"})
    try:
        from django.contrib.auth.hashers import make_password
        from django.db import connection

        from mailboxes import store

        store.create_domain("bench.test")
        names = {p: [f"{p}{n}@bench.test" for n in range(args.clients)] for p in LOGINS}
        for name in itertools.chain(*names.values()):
            account = store.create_account(name, "x", quota=0)
            store.append(account.id, "INBOX", b"Subject: one\r\n\r\nbody\r\n")
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE mailboxes_account SET password = %s", [make_password(PASSWORD, hasher="pbkdf2_sha256")]
            )
            cursor.execute("ANALYZE")
        load = " ".join(f"{x:.1f}" for x in os.getloadavg())
        print(
            f"logins: {os.cpu_count()} CPUs, load average {load}, "
            f"Redis {'on' if os.environ.get('REDIS_URL') else 'off'}",
            flush=True,
        )
        per_login = counted({p: n[0] for p, n in names.items()}, 1 if args.show else args.count, args.show)
        if args.show:
            return
        rates = timed(names, args.logins, args.profile)
        print(
            "| protocol | SQL statements / login | Redis round trips / login | logins/s | worker CPU ms / login "
            "| bare connections/s | bare CPU ms |"
        )
        print("|---|---|---|---|---|---|---|")
        for protocol in LOGINS:
            sql, trips = per_login[protocol]
            r = rates[protocol]
            print(
                f"| {protocol} | {sql:.1f} | {trips:.1f} | {r['login/s']:.0f} | {r['login cpu ms']:.2f} "
                f"| {r['bare/s']:.0f} | {r['bare cpu ms']:.2f} |"
            )
        print(f"load average at the end: {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    finally:
        from django.db import connections

        connections.close_all()
        drop_scratch(url)


if __name__ == "__main__":
    main()
