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

__all__ = [
    "UnknownCTE",
    "binary_bytes",
    "binary_entity",
    "decode_quoted_printable",
    "decode_transfer_encoding",
    "render_binary",
]

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
        ending = line[len(text) :]
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


_CTE_FIELD: Final = re.compile(rb"(?im)^(content-transfer-encoding:)[ \t]*[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*")


def binary_entity(raw: bytes, node: Mapping[str, Any]) -> tuple[bytes, bytes, dict[str, Any]]:
    """The entity at ``node`` with the transfer encoding of every leaf inside
    it undone (URLAUTH=BINARY, RFC 5524 3): ``(header, body, part)``.

    A decoded leaf's Content-Transfer-Encoding field says ``binary``; a
    composite keeps its own header and gets its children rebuilt the same
    way. ``part`` is ``node`` with the sizes and line counts of the rebuilt
    octets (the encoding names stay, as Dovecot reports them), for the
    BODYPARTSTRUCTURE of a URL fetched with BINARY. A decoded leaf's lines
    are the line breaks in it (a last line without one is closed by the
    delimiter's, as Dovecot counts); a composite's change by as many as its
    parts' did. Raises :class:`UnknownCTE` like
    :func:`binary_bytes`.
    """
    start, body_start, end = node["offsets"]
    header = raw[start:body_start]
    body, part = _binary_body(raw, node)
    if "parts" not in node and "message" not in node:
        if str(node.get("encoding") or "7BIT").upper() not in IDENTITY:
            header = _CTE_FIELD.sub(rb"\1 binary", header)
    return header, body, part


def _binary_body(raw: bytes, node: Mapping[str, Any]) -> tuple[bytes, dict[str, Any]]:
    _start, body_start, end = node["offsets"]
    part = dict(node)
    if node.get("parts"):
        pieces, position, children = [], body_start, []
        for child in node["parts"]:
            child_start, _, child_end = child["offsets"]
            header, body, rebuilt = binary_entity(raw, child)
            pieces += [raw[position:child_start], header, body]
            children.append(rebuilt)
            position = child_end
        pieces.append(raw[position:end])
        data = b"".join(pieces)
        part["parts"] = children
    elif node.get("message"):
        header, body, part["message"] = binary_entity(raw, node["message"])
        data = header + body
    else:
        data = decode_transfer_encoding(raw[body_start:end], str(node.get("encoding") or "7BIT"))
    part["size"] = len(data)
    if part.get("lines") is None:
        pass
    elif "parts" in node or "message" in node:
        part["lines"] = int(part["lines"]) + data.count(b"\n") - raw.count(b"\n", body_start, end)
    elif str(node.get("encoding") or "7BIT").upper() not in IDENTITY:
        part["lines"] = data.count(b"\n")
    return data, part


def render_binary(data: bytes) -> bytes:
    """``~{n}`` CRLF octets when ``data`` holds a NUL, else ``{n}`` CRLF octets."""
    prefix = b"~" if b"\x00" in data else b""
    return prefix + b"{%d}\r\n" % len(data) + data
