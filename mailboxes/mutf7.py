"""Modified UTF-7 mailbox names (RFC 3501 section 5.1.3).

Printable US-ASCII (0x20-0x7E) stands for itself, except ``&`` which is
written ``&-``. Every other run of characters is UTF-16BE, base64 encoded
with ``,`` in place of ``/`` and without ``=`` padding, between ``&`` and
``-``. Decoding is strict: anything an encoder following the RFC could not
have produced is rejected, so each name has exactly one wire form.

The one codec for the IMAP server (protocols/imap: parser, encoder) and
for imports and exports (mailboxes/transfer/names.py: remote IMAP folder
names, Dovecot's Maildir directories). Pure: no I/O, no Django.
"""

from __future__ import annotations

import base64
import binascii
import re

__all__ = ["MailboxNameError", "decode_mailbox", "decode_utf8_mailbox", "encode_mailbox"]


class MailboxNameError(ValueError):
    """Bytes that are not a valid modified UTF-7 mailbox name."""


# RFC 6855 3: Net-Unicode (RFC 5198 2) without C0/C1 controls, DEL,
# LINE SEPARATOR or PARAGRAPH SEPARATOR.
_NOT_IN_UTF8_NAME = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_PRINTABLE = re.compile(r"[\x20-\x7e]+")
_B64_CHARS = re.compile(rb"[A-Za-z0-9+,]*")


def _b64(run: str) -> bytes:
    raw = base64.b64encode(run.encode("utf-16-be")).rstrip(b"=")
    return b"&" + raw.replace(b"/", b",") + b"-"


def encode_mailbox(name: str) -> bytes:
    """Encode a mailbox name for the wire in modified UTF-7."""
    out: list[bytes] = []
    pos = 0
    for match in _PRINTABLE.finditer(name):
        if match.start() > pos:
            out.append(_b64(name[pos : match.start()]))
        out.append(match.group().encode("ascii").replace(b"&", b"&-"))
        pos = match.end()
    if pos < len(name):
        out.append(_b64(name[pos:]))
    return b"".join(out)


def decode_mailbox(data: bytes) -> str:
    """Decode a modified UTF-7 mailbox name; raise MailboxNameError if invalid."""
    out: list[str] = []
    pos = 0
    end = len(data)
    while pos < end:
        amp = data.find(b"&", pos)
        stop = end if amp < 0 else amp
        plain = data[pos:stop]
        if any(b < 0x20 or b > 0x7E for b in plain):
            raise MailboxNameError("mailbox name has a character outside printable US-ASCII")
        out.append(plain.decode("ascii"))
        if amp < 0:
            break
        match = _B64_CHARS.match(data, amp + 1)
        assert match is not None  # the pattern matches the empty string
        close = match.end()
        if close >= end or data[close] != 0x2D:  # "-"
            raise MailboxNameError("unterminated modified base64 in mailbox name")
        encoded = match.group()
        if not encoded:
            out.append("&")
        else:
            out.append(_decode_run(encoded))
        pos = close + 1
    return "".join(out)


def _decode_run(encoded: bytes) -> str:
    # Base64 of UTF-16 without padding: 16 bits per unit, so the length mod 8
    # can only be 0, 3 (one unit over) or 6 (two units over).
    if len(encoded) % 8 not in (0, 3, 6):
        raise MailboxNameError("modified base64 run of impossible length")
    padded = encoded.replace(b",", b"/") + b"=" * (-len(encoded) % 4)
    try:
        raw = base64.b64decode(padded, validate=True)
    except binascii.Error as exc:
        raise MailboxNameError("bad modified base64 in mailbox name") from exc
    # Canonical form only: the unused low bits of the last character must be
    # zero, or two wire forms would map to the same name.
    if base64.b64encode(raw).rstrip(b"=") != padded.rstrip(b"="):
        raise MailboxNameError("non-canonical modified base64 in mailbox name")
    try:
        text = raw.decode("utf-16-be")
    except UnicodeDecodeError as exc:
        raise MailboxNameError("modified base64 is not valid UTF-16") from exc
    # RFC 3501 5.1.3: base64 "MUST NOT be used to represent any printing
    # US-ASCII character which can represent itself".
    if any("\x20" <= ch <= "\x7e" for ch in text):
        raise MailboxNameError("printable US-ASCII hidden in modified base64")
    return text


def decode_utf8_mailbox(data: bytes) -> str:
    """A mailbox name from a session that enabled UTF8=ACCEPT (RFC 6855 3):
    UTF-8 as it is, ``&`` included; raise MailboxNameError if it is not
    valid UTF-8 or holds a character the RFC excludes."""
    try:
        name = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MailboxNameError("mailbox name is not valid UTF-8") from exc
    if _NOT_IN_UTF8_NAME.search(name):
        raise MailboxNameError("mailbox name has a control or separator character")
    return name
