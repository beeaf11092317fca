"""The SMTP worker's CPU per message under Postfix's smtp-source pattern: N x
4 KB messages in 10 sessions, a NEW connection per message (EHLO, MAIL, RCPT,
DATA, QUIT), to user100@example.test, as reference/compare.sh smtp sends them.

Standalone: makes a scratch database (bench_smtp_cpu, created afresh and
dropped at the end), starts `runmailserver --protocols smtp` as a child
process (production defaults, log level INFO) with a DNS server on
127.0.0.1 that answers NXDOMAIN (cached for an hour, as a real negative
answer may be), warms up, then runs smtp-source ROUNDS times and prints, per
round and as medians, the messages per second and the worker's CPU per
message (utime + stime from /proc/PID/stat, before and after the round).
With --profile SECONDS, py-spy records the worker (--gil) during the first
round into /tmp/bench-smtp-cpu.txt (py-spy's raw
(collapsed stacks) format).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mailhost REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/smtp_cpu.py [--messages 2000] [--rounds 3] [--profile 15]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from parallel import drop_scratch, setup_scratch  # noqa: E402  (bench/parallel.py)

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime (fields 14, 15)


def smtp_source(port: int, messages: int, sessions: int = 10) -> None:
    program = shutil.which("smtp-source") or "/usr/sbin/smtp-source"
    subprocess.run(
        [program, "-s", str(sessions), "-m", str(messages), "-l", "4096", "-f", "bench@example.org"]
        + ["-t", "user100@example.test", "-M", "client.example.org", f"127.0.0.1:{port}"],
        check=True,
        stdout=subprocess.DEVNULL,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--sessions", type=int, default=10, help="parallel SMTP sessions (smtp-source -s)")
    parser.add_argument("--profile", type=int, default=0, help="py-spy the first round for this many seconds")
    parser.add_argument("--database", default="bench_smtp_cpu")
    args = parser.parse_args()

    url = setup_scratch(args.database, {"MAIL_HOSTNAME": "mx.example.test"})
    from django.db import connections

    from mailboxes import store
    from tests.relay.helpers import DnsServer
    from tests.servers import SubprocessServer

    store.create_domain("example.test")
    account = store.create_account("user100@example.test", "pass", quota=0)
    dns = DnsServer({}, negative_ttl=3600)
    server = SubprocessServer(
        "smtp",
        extra_env={
            "MAIL_DB_POOL": os.environ.get("MAIL_DB_POOL", "true"),
            "MAIL_DNS_NAMESERVERS": f"127.0.0.1:{dns.port}",
        },
    )
    rates, costs = [], []
    try:
        server.start()
        assert server.proc is not None
        pid, port = server.proc.pid, server.ports["smtp"]
        smtp_source(port, 200)  # warm up: the pool's connections, the caches
        for n in range(args.rounds):
            spy = None
            if n == 0 and args.profile:
                spy = subprocess.Popen(
                    [
                        str(Path(sys.executable).parent / "py-spy"),
                        "record",
                        "--gil",
                        "-r",
                        "200",
                        "-d",
                        str(args.profile),
                        "-p",
                        str(pid),
                    ]
                    + ["-o", "/tmp/bench-smtp-cpu.txt", "-f", "raw"],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                time.sleep(1)
            before, started = cpu_seconds(pid), time.perf_counter()
            try:
                smtp_source(port, args.messages, args.sessions)
            except subprocess.CalledProcessError:
                print(server.output()[-3000:])
                raise
            elapsed, used = time.perf_counter() - started, cpu_seconds(pid) - before
            rates.append(args.messages / elapsed)
            costs.append(used * 1000 / args.messages)
            print(f"  round {n + 1}: {rates[-1]:.1f} msg/s, worker CPU {costs[-1]:.3f} ms/message", flush=True)
            if spy is not None:
                spy.wait()
    finally:
        server.stop()
        dns.close()
    stored = store.folder_status(account.id, "INBOX").messages
    print(
        f"smtp-source pattern, {args.messages} x 4 KB, {args.sessions} sessions, new connection per message: "
        f"median {statistics.median(rates):.1f} msg/s, worker CPU {statistics.median(costs):.3f} ms/message "
        f"({stored} stored, {200 + args.messages * args.rounds} sent)"
    )
    connections.close_all()
    drop_scratch(url)
    if stored != 200 + args.messages * args.rounds:
        sys.exit("messages missing")


if __name__ == "__main__":
    main()
