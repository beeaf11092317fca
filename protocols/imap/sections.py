"""Body sections cut from stored message bytes (RFC 3501 6.4.5). Pure.

The structure stored at delivery (``mailboxes.mime``) gives every part
``offsets = [header_start, body_start, end]`` into the raw message, so a
section is a slice, never a new parse. A message/rfc822 part also holds
the embedded message as ``part["message"]`` with its own offsets.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any, Final

from mailboxes.mime import part_at

from .fetch import Section

__all__ = ["header_fields", "partial", "section_bytes"]

_LINE: Final = re.compile(rb"[^\n]*\n|[^\n]+\Z")


def header_fields(block: bytes, names: Iterable[str], *, exclude: bool) -> bytes:
    """The fields of a header block named (or, with ``exclude``, not named) in ``names``.

    Fields keep their order and continuation lines; the blank line that
    ends a header is always added (RFC 3501 6.4.5: the subset "includes
    the delimiting blank line"). Names compare case-insensitively.
    """
    wanted = {name.lower().encode("ascii", "replace") for name in names}
    out: list[bytes] = []
    keep = False
    for match in _LINE.finditer(block):
        line = match.group()
        if line in (b"\r\n", b"\n"):
            break
        if line[:1] in (b" ", b"\t"):
            if keep:
                out.append(line)
            continue
        name = line.split(b":", 1)[0].strip().lower()
        keep = (name in wanted) != exclude
        if keep:
            out.append(line if line.endswith(b"\n") else line + b"\r\n")
    out.append(b"\r\n")
    return b"".join(out)


def _entity(raw: bytes, offsets: list[int], section: Section) -> bytes:
    """HEADER, HEADER.FIELDS(.NOT), TEXT or the whole of a message entity."""
    start, body, end = offsets
    if section.text is None:
        return raw[start:end]
    if section.text == "TEXT":
        return raw[body:end]
    header = raw[start:body]
    if section.text == "HEADER":
        return header
    return header_fields(header, section.headers, exclude=section.text == "HEADER.FIELDS.NOT")


def section_bytes(section: Section, raw: bytes, structure: Mapping[str, Any] | None, header_bytes: int) -> bytes | None:
    """The octets of ``BODY[section]``, or None when the part does not exist.

    ``raw`` is the whole message, or only its header block when the
    section needs no more (top-level HEADER and HEADER.FIELDS).
    """
    if not section.part:
        return _entity(raw, [0, header_bytes, len(raw)], section)
    if structure is None:
        return None
    node = part_at(dict(structure), list(section.part))
    if node is None:
        return None
    start, body, end = node["offsets"]
    if section.text is None:
        return raw[body:end]
    if section.text == "MIME":
        return raw[start:body]
    # HEADER/TEXT after a part number only for a message/rfc822 part (RFC 3501 6.4.5).
    message = node.get("message")
    if message is None:
        return None
    return _entity(raw, message["offsets"], section)


def partial(data: bytes, window: tuple[int, int] | None) -> bytes:
    """``<origin.length>``: an origin past the end gives the empty string (RFC 3501 6.4.5)."""
    if window is None:
        return data
    origin, length = window
    return data[origin : origin + length]
