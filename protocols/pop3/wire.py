"""What POP3 puts on the wire around message bytes. Pure: no I/O, no Django.

The bytes handed in are already in their POP form (the store's pop_message:
CRLF line ends, ending in CRLF), whose length LIST and STAT report.
"""

from __future__ import annotations

CRLF = b"\r\n"
TERMINATOR = b".\r\n"


def dot_stuff(data: bytes) -> bytes:
    """Byte-stuff lines that start with the termination octet (RFC 1939 3)."""
    stuffed = data.replace(b"\r\n.", b"\r\n..")
    return b"." + stuffed if stuffed.startswith(b".") else stuffed


def multiline(first: bytes, body: bytes) -> bytes:
    """A positive multi-line response: status line, stuffed body, terminator."""
    return first + CRLF + dot_stuff(body) + TERMINATOR


def listing(first: bytes, lines: list[bytes]) -> bytes:
    """A multi-line response whose lines we write ourselves (never start with '.')."""
    return first + CRLF + b"".join(line + CRLF for line in lines) + TERMINATOR


def top(data: bytes, lines: int) -> bytes:
    """The header, the blank line and the first `lines` lines of the body
    (RFC 1939 7, TOP). A message without a blank line is all header."""
    if data.startswith(CRLF):
        body_start = 2
    else:
        blank = data.find(b"\r\n\r\n")
        if blank < 0:
            return data
        body_start = blank + 4
    end = body_start
    for _ in range(lines):
        nxt = data.find(CRLF, end)
        if nxt < 0:
            return data
        end = nxt + 2
    return data[:end]
