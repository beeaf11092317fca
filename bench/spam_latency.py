"""How much time does spam scanning add to an SMTP transaction? Prints the
median and 99th percentile of MAIL FROM .. 250-after-DATA, without and with
rspamd, for the same messages.

Standalone: makes a scratch database (bench_spam, created afresh and dropped
at the end), starts a private rspamd with the project's config
(mailhost/rspamd_server.py: no Redis, so no greylisting and no Bayes) and
two `runmailserver` MX children, one without MAIL_RSPAMD_URL and one with
it, and a DNS server on 127.0.0.1 that answers NXDOMAIN for every lookup
(the MX's SPF/DKIM/DMARC and rspamd's own). One client sends the messages
one after another, timing each transaction on one connection.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mailhost \\
        .venv/bin/python bench/spam_latency.py [--messages 300] [--size 4096]
"""

from __future__ import annotations

import argparse
import os
import smtplib
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from parallel import drop_scratch, setup_scratch  # noqa: E402  (bench/parallel.py)
from smtp import message  # noqa: E402  (bench/smtp.py)


def timings(port: int, total: int, size: int) -> list[float]:
    """Seconds per transaction (MAIL, RCPT, DATA, the 250), one connection."""
    out = []
    with smtplib.SMTP("127.0.0.1", port, timeout=60) as smtp:
        smtp.ehlo("client.bench.test")
        for i in range(total):
            raw = message(i, size, "user@bench.test")
            started = time.perf_counter()
            smtp.sendmail("sender@remote.test", ["user@bench.test"], raw)
            out.append(time.perf_counter() - started)
    return out


def summary(label: str, seconds: list[float]) -> tuple[float, float]:
    ordered = sorted(seconds)
    median, p99 = statistics.median(ordered), ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
    print(f"  {label:<16} median {median * 1000:7.2f} ms   p99 {p99 * 1000:7.2f} ms")
    return median, p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--size", type=int, default=4096, help="octets per message")
    parser.add_argument("--database", default="bench_spam")
    args = parser.parse_args()

    from mailhost import rspamd_server

    if rspamd_server.binary() is None:
        raise SystemExit("rspamd is not installed (apt-get install rspamd)")
    url = setup_scratch(args.database, {"MAIL_LOG_LEVEL": "WARNING", "MAIL_HOSTNAME": "mx.bench.test"})
    from django.db import connections

    from mailboxes import store
    from tests.relay.helpers import DnsServer
    from tests.servers import SubprocessServer
    from tests.spam.conftest import free_port

    store.create_domain("bench.test")
    store.create_account("user@bench.test", "bench-password", quota=0)
    dns = DnsServer({}, negative_ttl=3600)
    nameserver = f"127.0.0.1:{dns.port}"
    instance = rspamd_server.Instance(
        Path(tempfile.mkdtemp(prefix="bench-rspamd-")), free_port(), free_port(), nameservers=(nameserver,)
    )
    env = {"MAIL_DB_POOL": os.environ.get("MAIL_DB_POOL", "true"), "MAIL_DNS_NAMESERVERS": nameserver}
    rspamd = rspamd_server.start(instance)
    plain = SubprocessServer("smtp", extra_env=env)
    scanning = SubprocessServer("smtp", extra_env={**env, "MAIL_RSPAMD_URL": instance.url})
    try:
        plain.start()
        scanning.start()
        for server in (plain, scanning):  # warm up both
            timings(server.ports["smtp"], 20, args.size)
        without = timings(plain.ports["smtp"], args.messages, args.size)
        with_scan = timings(scanning.ports["smtp"], args.messages, args.size)
    finally:
        plain.stop()
        scanning.stop()
        rspamd_server.stop(rspamd)
        dns.close()
    print(f"spam_latency: {args.messages} messages of {args.size} octets, one client, MX, PostgreSQL")
    m0, p0 = summary("without scanning", without)
    m1, p1 = summary("with rspamd", with_scan)
    print(f"  added by scanning: median {(m1 - m0) * 1000:.2f} ms, p99 {(p1 - p0) * 1000:.2f} ms")
    connections.close_all()
    drop_scratch(url)


if __name__ == "__main__":
    main()
