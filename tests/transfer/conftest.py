"""Generated Maildir trees and mbox files for the import and export tests,
and a view of what an account holds to compare them with."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mailboxes import store

ALL = [(1, 2**63 - 1)]


def message(
    n: int, subject: str = "", body: str = "", extra: str = "", newline: str = "\n", message_id: bool = True
) -> bytes:
    lines = [
        f"From: Sender {n} <sender{n}@example.net>",
        "To: alice@example.test",
        f"Subject: {subject or f'Message {n}'}",
        "Date: Mon, 30 Nov 2026 07:00:00 +0000",
    ]
    if message_id:
        lines.append(f"Message-ID: <msg-{n}@example.net>")
    lines += [line for line in extra.split("\n") if line]
    text = "\n".join(lines) + "\n\n" + (body or f"Body of message {n}.\nSecond line.\n")
    return text.replace("\n", newline).encode()


@dataclass(frozen=True)
class Stored:
    raw: bytes
    flags: frozenset[str]
    when: datetime


def stored(account_id: int) -> dict[str, list[Stored]]:
    """Every folder's messages in UID order: bytes, flags, internal date to the second."""
    result = {}
    for status in store.all_folder_status(account_id):
        infos = store.fetch_messages(account_id, status.id, ALL, content="full", limit=100000, max_bytes=2**62)
        result[status.name] = [Stored(i.data or b"", i.flags, i.internal_date.replace(microsecond=0)) for i in infos]
    return result


def crlf(raw: bytes) -> bytes:
    return raw if b"\r" in raw else raw.replace(b"\n", b"\r\n")


T0 = 1_700_000_000  # 2023-11-14


@dataclass
class Expected:
    """What an import of the generated source must produce: folder -> [(bytes, flags, date)]."""

    folders: dict[str, list[tuple[bytes, frozenset[str], datetime]]]
    failures: int = 0


def _put(folder: Path, sub: str, name: str, raw: bytes, when: int) -> None:
    for part in ("cur", "new", "tmp"):
        (folder / part).mkdir(parents=True, exist_ok=True)
    path = folder / sub / name
    path.write_bytes(raw)
    os.utime(path, (when, when))


def make_maildir(root: Path, layout: str) -> Expected:
    """A Maildir with nested folders, flags, keywords, a special-use folder
    and odd messages (no headers, 8-bit, CRLF already, NUL bytes, empty file)."""

    def folder(name: str) -> Path:
        if name == "INBOX":
            return root
        if layout == "maildir++":
            from mailboxes.transfer.names import encode_mutf7

            return root / ("." + ".".join(encode_mutf7(level) for level in name.split("/")))
        return root.joinpath(*name.split("/"))

    def when(i: int) -> datetime:
        return datetime.fromtimestamp(T0 + i * 60, UTC)

    expected: dict[str, list[tuple[bytes, frozenset[str], datetime]]] = {}
    odd = {
        3: message(3).replace(b"Body of message 3.", "Caf\xe9 \xfcber na\xefve".encode("latin-1")),
        4: message(4, newline="\r\n"),
        5: b"Just a line of text, no header at all.\nAnd another.\n",
        6: message(6, body="nul\x00inside\nend\n"),
        7: message(7, message_id=False),
    }
    plan = [  # (source folder, our folder, n, sub, info letters, flags)
        ("INBOX", "INBOX", 1, "new", "", frozenset()),
        ("INBOX", "INBOX", 2, "cur", "S", frozenset({"\\Seen"})),
        ("INBOX", "INBOX", 3, "cur", "RS", frozenset({"\\Seen", "\\Answered"})),
        ("INBOX", "INBOX", 4, "cur", "FPS", frozenset({"\\Seen", "\\Flagged", "$Forwarded"})),
        ("INBOX", "INBOX", 5, "cur", "", frozenset()),
        ("INBOX", "INBOX", 6, "cur", "DT", frozenset({"\\Draft", "\\Deleted"})),
        ("INBOX", "INBOX", 7, "cur", "Sab", frozenset({"\\Seen", "$Label1", "Project_X"})),
        ("Archive", "Archive", 8, "cur", "S", frozenset({"\\Seen"})),
        ("Archive/2020", "Archive/2020", 9, "cur", "S", frozenset({"\\Seen"})),
        ("Archive/2020", "Archive/2020", 10, "cur", "b", frozenset({"Project_X"})),
        ("Archive/2020/Q1", "Archive/2020/Q1", 11, "cur", "", frozenset()),
        ("Sent Items", "Sent", 12, "cur", "S", frozenset({"\\Seen"})),
        ("Café", "Café", 13, "cur", "S", frozenset({"\\Seen"})),
    ]
    for source_name, ours, n, sub, letters, flags in plan:
        raw = odd.get(n, message(n))
        info = "" if sub == "new" else f":2,{letters}"
        _put(folder(source_name), sub, f"{T0 + n * 60}.M{n}P1.test{info}", raw, T0 + n * 60)
        expected.setdefault(ours, []).append((crlf(raw), flags, when(n)))
        if letters and any(c.islower() for c in letters):
            (folder(source_name) / "dovecot-keywords").write_text("0 $Label1\n1 Project_X\n")
    _put(root, "cur", f"{T0 + 999}.M999P1.test:2,S", b"", T0 + 999)  # an empty file: reported
    return Expected(expected, failures=1)


def make_mbox_dir(root: Path) -> Expected:
    """Thunderbird-like: Inbox, Sent, Archive with Archive.sbd/2020, an empty Trash,
    .msf indexes; mboxrd quoting, status headers, junk before the first From line."""
    root.mkdir(parents=True, exist_ok=True)
    date = "Tue Nov 14 22:13:20 2023"
    when = datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    expected: dict[str, list[tuple[bytes, frozenset[str], datetime]]] = {}

    def entry(raw: bytes, status: str = "") -> bytes:
        from_line = f"From sender@example.net {date}\n".encode()
        if b"\n\n" not in raw:
            return from_line + raw + b"\n"
        head, _, body = raw.partition(b"\n\n")
        quoted = b"\n".join(
            b">" + line if line.lstrip(b">").startswith(b"From ") else line for line in body.split(b"\n")
        )
        fields = status.encode() + b"\n" if status else b""
        return from_line + head + b"\n" + fields + b"\n" + quoted + b"\n"

    body_with_from = "From the start, this line needs quoting.\n>From this one too.\nNormal line.\n"
    inbox = [
        (
            message(20, body=body_with_from),
            "Status: RO\nX-Status: AF\nX-Keywords: $Label1 Work",
            frozenset({"\\Seen", "\\Answered", "\\Flagged", "$Label1", "Work"}),
        ),
        (message(21), "Status: O", frozenset()),
        (
            message(22),
            "X-Mozilla-Status: 0003\nX-Mozilla-Keys: $label2",
            frozenset({"\\Seen", "\\Answered", "$label2"}),
        ),
        (b"No header here at all.\nJust text.\n", "", frozenset()),
    ]
    (root / "Inbox").write_bytes(
        b"garbage before any From line\n" + b"".join(entry(raw, status) for raw, status, _ in inbox)
    )
    for raw, status, flags in inbox:
        kept = raw
        if status.startswith("X-Mozilla"):  # Thunderbird's fields stay in the message
            head, _, body = raw.partition(b"\n\n")
            kept = head + b"\n" + status.encode() + b"\n\n" + body
        expected.setdefault("INBOX", []).append((crlf(kept), flags, when))
    (root / "Inbox.msf").write_bytes(b"// <!-- <mdb:mork:z v=\"1.4\"/> -->")
    (root / "notes.org").write_bytes(b"* not mail\n")
    (root / "Sent").write_bytes(entry(message(23), "Status: RO"))
    expected["Sent"] = [(crlf(message(23)), frozenset({"\\Seen"}), when)]
    (root / "Archive").write_bytes(entry(message(24)))
    expected["Archive"] = [(crlf(message(24)), frozenset(), when)]
    (root / "Archive.sbd").mkdir()
    crlf_file = entry(message(25)).replace(b"\n", b"\r\n")
    (root / "Archive.sbd" / "2020").write_bytes(crlf_file)
    expected["Archive/2020"] = [(crlf(message(25)), frozenset(), when)]
    (root / "Trash").write_bytes(b"")
    expected["Trash"] = []
    return Expected(expected, failures=1)


@pytest.fixture
def small_limit(settings):  # type: ignore[no-untyped-def]
    settings.MAIL_MAX_MESSAGE_SIZE = 64 * 1024
    return settings.MAIL_MAX_MESSAGE_SIZE
