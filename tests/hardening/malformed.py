"""The malformed-message corpus: the small files of tests/data/malformed/
plus the big ones made here (megabytes are not committed)."""

from __future__ import annotations

from pathlib import Path

CORPUS = Path(__file__).resolve().parent.parent / "data" / "malformed"
HEAD = (
    b"From: Bob <bob@example.test>\r\nTo: alice@example.test\r\nDate: Mon, 30 Nov 2026 07:00:00 +0000\r\n"
    b"MIME-Version: 1.0\r\n"
)


def ten_thousand_parts() -> bytes:
    parts = b"".join(b"--P\r\nContent-Type: text/plain\r\n\r\npart %d\r\n" % n for n in range(10_000))
    return HEAD + b'Subject: 10,000 parts\r\nContent-Type: multipart/mixed; boundary="P"\r\n\r\n' + parts + b"--P--\r\n"


def nested(depth: int = 1_000) -> bytes:
    """multipart/mixed inside multipart/mixed, depth levels deep, a text part at the bottom."""
    opening = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (n, n) for n in range(depth))
    closing = b"".join(b"\r\n--b%d--\r\n" % n for n in reversed(range(depth)))
    return (
        HEAD
        + b"Subject: nested %d deep\r\n" % depth
        + opening
        + b"Content-Type: text/plain\r\n\r\nthe bottom"
        + closing
    )


def huge_header_line() -> bytes:
    return HEAD + b"Subject: a 1 MB header line\r\nX-Long: " + b"a" * (1 << 20) + b"\r\n\r\nbody\r\n"


def huge_subject() -> bytes:
    return HEAD + b"Subject: =?utf-8?B?" + b"w6k=" * (1 << 18) + b"?=\r\n\r\nbody\r\n"


def many_headers() -> bytes:
    return HEAD + b"".join(b"X-H%d: v\r\n" % n for n in range(50_000)) + b"Subject: 50,000 fields\r\n\r\nbody\r\n"


GENERATED = {
    "10000-parts": ten_thousand_parts,
    "nested-1000": nested,
    "header-line-1mb": huge_header_line,
    "encoded-subject-1mb": huge_subject,
    "50000-header-fields": many_headers,
}


def corpus() -> list[tuple[str, object]]:
    """(name, function returning the message's bytes), for parametrize ids."""
    files = [(path.stem, path.read_bytes) for path in sorted(CORPUS.glob("*.eml"))]
    return files + sorted(GENERATED.items())
