"""FETCH BINARY (RFC 3516, RFC 9051 6.4.5): sections with their transfer encoding undone. Pure.

``BINARY[section]`` is ``BODY[section]`` with the Content-Transfer-Encoding
of the entity at ``section`` removed:

* a leaf part: base64 and quoted-printable are decoded (leniently, as the
  webmail does: junk skipped, padding repaired), 7bit/8bit/binary are the
  identity; any other encoding raises :class:`UnknownCTE`, which FETCH
  answers ``NO [UNKNOWN-CTE]`` (RFC 3516 4.3);
* a multipart or message/rfc822 part: its bytes as they are, because RFC
  2045 6.4 allows composite types only identity encodings (RFC 9051 says
  clients should ask for leaf parts only; a server answer is still needed);
* ``BINARY[]``: the whole message as it is (a message has no transfer
  encoding of its own; its body's is undone by ``BINARY[1]``).

:func:`render_binary` sends the result as a ``~{n}`` literal8 when it holds
a NUL octet and as an ordinary literal otherwise (RFC 3516 4.3).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Final

from mailboxes.mime import part_at
from mailboxes.mime_addresses import b64decode_lenient

__all__ = ["UnknownCTE", "binary_bytes", "decode_quoted_printable", "decode_transfer_encoding", "render_binary"]

#: Encodings whose decoding is the identity (RFC 2045 6.2).
IDENTITY: Final = frozenset({"7BIT", "8BIT", "BINARY"})


class UnknownCTE(Exception):
    """The part's Content-Transfer-Encoding is not one this server can undo."""


def decode_transfer_encoding(body: bytes, encoding: str) -> bytes:
    """``body`` with the transfer encoding named ``encoding`` (any case) undone."""
    name = encoding.strip().upper() or "7BIT"
    if name in IDENTITY:
        return body
    if name == "BASE64":
        return b64decode_lenient(body)
    if name == "QUOTED-PRINTABLE":
        return decode_quoted_printable(body)
    raise UnknownCTE(name)


_QP_ESCAPE: Final = re.compile(rb"=([0-9A-Fa-f]{2})")


def decode_quoted_printable(body: bytes) -> bytes:
    """RFC 2045 6.7, line by line: white space at a line's end is dropped
    (rule 3, it may have been added in transport), a line then ending in
    "=" is a soft break (rule 5, "=" and white space after it included),
    "=XX" is one octet; a stray "=" stays as it is (the webmail's leniency)."""
    out = []
    for line in body.splitlines(keepends=True):
        text = line.rstrip(b"\r\n")
        ending = line[len(text):]
        text = text.rstrip(b" \t")
        if text.endswith(b"="):
            text, ending = text[:-1], b""
        out.append(_QP_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), text) + ending)
    return b"".join(out)


def binary_bytes(part: tuple[int, ...], raw: bytes, structure: Mapping[str, Any] | None) -> bytes | None:
    """The octets of ``BINARY[part]``, or None when the part does not exist.

    Raises :class:`UnknownCTE` for a leaf part in an encoding not known here.
    """
    if not part:
        return raw
    if structure is None:
        return None
    node = part_at(dict(structure), list(part))
    if node is None:
        return None
    _header, start, end = node["offsets"]
    if node.get("parts") or node.get("message"):
        return raw[start:end]
    return decode_transfer_encoding(raw[start:end], str(node.get("encoding") or "7BIT"))


def render_binary(data: bytes) -> bytes:
    """``~{n}`` CRLF octets when ``data`` holds a NUL, else ``{n}`` CRLF octets."""
    prefix = b"~" if b"\x00" in data else b""
    return prefix + b"{%d}\r\n" % len(data) + data
