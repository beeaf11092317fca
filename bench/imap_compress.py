"""COMPRESS=DEFLATE (RFC 4978): octets on the wire for FETCH 1:1000 (ENVELOPE),
without and with compression.

Standalone: makes a scratch database (bench_imap_compress, dropped at the
end), one account with --messages messages (bench/imap.py's, distinct
senders and subjects) appended through the store, starts `runmailserver`
(imap) as a child process, and fetches every envelope twice over one
connection each: plain, then after COMPRESS DEFLATE. Counts the octets the
client received for the FETCH alone (its tagged OK included).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mailhost \\
        .venv/bin/python bench/imap_compress.py [--messages 1000]
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from imap import PASSWORD, message  # noqa: E402  (bench/imap.py)
from parallel import drop_scratch, setup_scratch  # noqa: E402  (bench/parallel.py)

USER = "user@bench.test"


def fetch_octets(port: int, compress: bool) -> tuple[int, int]:
    """(octets received on the socket, octets of the responses) for the FETCH."""
    from tests.imap.client import DeflateClient

    with DeflateClient(port, timeout=120) as client:
        client.line()
        client.send(f"a1 LOGIN {USER} {PASSWORD}\r\na2 SELECT INBOX\r\n".encode())
        client.until_tagged(b"a2")
        if compress:
            assert client.compress(b"a3") == b"a3 OK DEFLATE active\r\n"
        before = client.wire_in
        client.send(b"a4 FETCH 1:* (ENVELOPE)\r\n")
        text = client.until_tagged(b"a4")
        assert text.endswith(b"a4 OK FETCH completed\r\n")
        return client.wire_in - before, len(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--database", default="bench_imap_compress")
    args = parser.parse_args()

    url = setup_scratch(args.database, {"MAIL_LOG_LEVEL": "WARNING", "MAIL_FAST_PASSWORD_HASHING": "1"})
    from django.db import connections

    from mailboxes import store
    from tests.servers import SubprocessServer

    try:
        store.create_domain("bench.test")
        account = store.create_account(USER, PASSWORD, quota=0)
        start = datetime(2026, 1, 1, tzinfo=UTC)
        store.append_many(
            account.id, "INBOX", [(message(i), (), start + timedelta(minutes=i)) for i in range(args.messages)]
        )
        connections.close_all()
        with SubprocessServer("imap", {}) as server:
            port = server.ports["imap"]
            plain, text = fetch_octets(port, compress=False)
            squeezed, text2 = fetch_octets(port, compress=True)
        assert text == text2
        print(
            f"FETCH 1:{args.messages} (ENVELOPE): {plain} octets plain, {squeezed} with COMPRESS=DEFLATE "
            f"({squeezed / plain:.1%} of plain; {plain - squeezed} octets, {1 - squeezed / plain:.1%} saved)"
        )
    finally:
        connections.close_all()
        drop_scratch(url)


if __name__ == "__main__":
    main()
