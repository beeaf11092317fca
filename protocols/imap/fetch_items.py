"""FETCH response data from stored message facts (RFC 3501 7.4.2). Pure.

:func:`plan` says what a list of FETCH items needs from the store (the
parsed facts, the header bytes, the whole message), so a FETCH of flags
never loads a body; :func:`render_message` turns one message into its
``* n FETCH (...)`` line.
"""

from __future__ import annotations

import base64
import functools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final, Literal, Protocol

from .binary import binary_bytes, render_binary
from .downgrade import ascii_envelope
from .encoder import (
    fetch_response,
    format_internaldate,
    render_bodystructure,
    render_envelope,
    render_flags,
    render_literal,
    render_nstring,
)
from .fetch import FetchAttribute
from .objectid import email_id, render_objectid
from .sections import partial, section_bytes

__all__ = ["FetchPlan", "MessageFacts", "flag_order", "plan", "render_message"]

#: RFC 8970 3.1: a preview is at most 256 characters.
PREVIEW_MAX: Final = 256
#: RFC 3501 system flags in the order responses list them.
_SYSTEM_ORDER = {"\\Answered": 0, "\\Flagged": 1, "\\Deleted": 2, "\\Seen": 3, "\\Draft": 4, "\\Recent": 5}


class MessageFacts(Protocol):
    """What the store returns for one message (``store.MessageInfo``)."""

    @property
    def uid(self) -> int: ...
    @property
    def modseq(self) -> int: ...
    @property
    def flags(self) -> frozenset[str]: ...
    @property
    def internal_date(self) -> datetime | None: ...
    @property
    def size(self) -> int: ...
    @property
    def envelope(self) -> dict[str, Any] | None: ...
    @property
    def structure(self) -> dict[str, Any] | None: ...
    @property
    def header_bytes(self) -> int: ...
    @property
    def data(self) -> bytes | None: ...
    @property
    def blob(self) -> str: ...
    @property
    def preview(self) -> str | None: ...


@dataclass(frozen=True)
class FetchPlan:
    """What the store must read: the envelope, the body structure (part
    offsets, header size), and the header block or the whole message."""

    envelope: bool
    structure: bool
    content: Literal["header", "full"] | None
    sets_seen: bool
    preview: bool = False
    #: INTERNALDATE is asked for (the store skips reading the date otherwise).
    dates: bool = False


def _needs_header_only(attr: FetchAttribute) -> bool:
    if attr.name == "RFC822.HEADER":
        return True
    section = attr.section
    return (
        attr.name == "BODY"
        and section is not None
        and not section.part
        and section.text in ("HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT")
    )


def plan(attributes: Iterable[FetchAttribute]) -> FetchPlan:
    envelope = structure = sets_seen = preview = dates = False
    content: Literal["header", "full"] | None = None
    for attr in attributes:
        sets_seen = sets_seen or attr.sets_seen
        dates = dates or attr.name == "INTERNALDATE"
        if attr.name == "ENVELOPE":
            envelope = True
        elif attr.name == "PREVIEW":
            preview = True
        elif attr.name == "BODYSTRUCTURE" or (attr.name == "BODY" and attr.section is None):
            structure = True
        elif _needs_header_only(attr):
            content = content or "header"
        elif attr.name in ("RFC822", "RFC822.TEXT", "BODY", "BINARY", "BINARY.SIZE"):
            structure = True
            content = "full"
    return FetchPlan(envelope, structure, content, sets_seen, preview, dates)


def flag_order(flags: Iterable[str]) -> list[str]:
    """System flags first in RFC order, then keywords alphabetically."""
    return sorted(flags, key=lambda f: (_SYSTEM_ORDER.get(f, 9), f))


@functools.lru_cache(maxsize=4096)
def flags_bytes(flags: frozenset[str]) -> bytes:
    """``(\\Seen ...)`` for a set of flags; a folder holds few distinct sets,
    and ``FETCH 1:* (FLAGS)`` renders one per message."""
    return render_flags(flag_order(flags))


#: ENVELOPE and BODYSTRUCTURE/BODY as rendered, by (item, message bytes' SHA-256):
#: the bytes never change (DESIGN.md rule 4), so neither do these, and clients
#: fetch the same messages' facts again and again.
_RENDERED: dict[tuple[str, str], bytes] = {}
_RENDERED_MAX: Final = 20_000


def _rendered(key: tuple[str, str], render: Callable[[], bytes]) -> bytes:
    value = _RENDERED.get(key)
    if value is None:
        value = render()
        if key[1]:
            if len(_RENDERED) >= _RENDERED_MAX:
                _RENDERED.clear()
            _RENDERED[key] = value
    return value


def _value(attr: FetchAttribute, msg: MessageFacts, utf8: bool) -> bytes:
    name = attr.name
    raw = msg.data or b""
    if name == "UID":
        return b"%d" % msg.uid
    if name == "FLAGS":
        return flags_bytes(msg.flags)
    if name == "MODSEQ":
        return b"(%d)" % msg.modseq  # RFC 7162 3.1.4.1
    if name == "INTERNALDATE":
        assert msg.internal_date is not None  # plan() asked the store for it
        return format_internaldate(msg.internal_date)
    if name == "RFC822.SIZE":
        return b"%d" % msg.size
    if name == "ENVELOPE":
        envelope = msg.envelope or {}
        # RFC 6855 7: UTF-8 headers reach only a client that enabled UTF8=ACCEPT as they are.
        return _rendered(
            ("ENVELOPE UTF8" if utf8 else name, msg.blob),
            lambda: render_envelope(envelope if utf8 else ascii_envelope(envelope)),
        )
    if name == "BODYSTRUCTURE" or (name == "BODY" and attr.section is None):
        return _rendered(
            (name, msg.blob), lambda: render_bodystructure(_structure(msg), extended=name == "BODYSTRUCTURE")
        )
    if name == "EMAILID":
        return render_objectid(email_id(msg.blob))  # RFC 8474 5.1
    if name == "THREADID":
        return render_objectid(None)  # RFC 8474 5.2: no threads kept
    if name == "SAVEDATE":
        # RFC 8514 4.2: NIL where the mailbox keeps no save date, as ours do
        # not (the internal date is the client's to set, and COPY keeps it).
        return b"NIL"
    if name == "PREVIEW":
        return render_nstring(_preview(msg.preview or ""))
    if name == "RFC822":
        return render_literal(raw)
    if name == "RFC822.HEADER":
        return render_literal(raw[: msg.header_bytes])
    if name == "RFC822.TEXT":
        return render_literal(raw[msg.header_bytes :])
    assert attr.section is not None
    if name == "BODY":
        data = section_bytes(attr.section, raw, msg.structure, msg.header_bytes)
        if data is not None and attr.section.part and attr.section.text is None:
            data = _no_nul(data)
        return b"NIL" if data is None else render_literal(partial(data, attr.partial))
    # BINARY and BINARY.SIZE (RFC 3516 4.3); UnknownCTE goes up to FETCH.
    data = binary_bytes(attr.section.part, raw, msg.structure)
    if name == "BINARY.SIZE":
        return b"%d" % len(data) if data is not None else b"0"
    return b"NIL" if data is None else render_binary(partial(data, attr.partial))


def _preview(text: str) -> str:
    """RFC 8970 3.1: at most 256 characters of plain text, no CR or LF
    (whitespace folded at delivery, ``mime._body_text``); always available
    here, so ``PREVIEW (LAZY)`` gets it too rather than NIL (3.2)."""
    return " ".join(text.split())[:PREVIEW_MAX]


def _no_nul(data: bytes) -> bytes:
    """A literal may not hold NUL (RFC 3501 4.3, 9 CHAR8): a part's content
    that does (a binary part APPENDed with a literal8, RFC 3516 4.2) goes out
    base64 encoded in 76-column lines; BINARY[...] gives its octets. (The
    whole message, BODY[] or RFC822, still goes out as it is: the mail
    importer copies it byte for byte.)"""
    if b"\x00" not in data:
        return data
    return base64.encodebytes(data).replace(b"\n", b"\r\n")


def _structure(msg: MessageFacts) -> Mapping[str, Any]:
    return msg.structure or {"type": "text", "subtype": "plain", "size": msg.size, "lines": 0}


def render_message(
    seq: int,
    attributes: Iterable[FetchAttribute],
    msg: MessageFacts,
    *,
    add_flags: bool = False,
    add_modseq: bool = False,
    add_uid: bool = False,
    utf8: bool = False,
    flags: frozenset[str] | None = None,
) -> bytes:
    """``* seq FETCH (...)`` for the requested items.

    ``add_flags``: FLAGS changed as a side effect (implicit ``\\Seen``), so
    they are reported even if not asked for (RFC 3501 6.4.5);
    ``add_modseq``: CONDSTORE is on and the flags changed (RFC 7162 3.2);
    ``add_uid``: QRESYNC is on and the flags changed (RFC 7162 3.2.4);
    ``utf8``: the session enabled UTF8=ACCEPT (the envelope as stored);
    ``flags``: the flags to show instead of the message's (with this
    session's ``\\Recent``), rather than a copy of the message made for them.
    """
    shown = msg.flags if flags is None else flags
    items = [
        (attr.response_name(), flags_bytes(shown) if attr.name == "FLAGS" else _value(attr, msg, utf8))
        for attr in attributes
    ]
    if add_flags or add_uid or add_modseq:
        names = {name for name, _ in items}
        if add_flags and b"FLAGS" not in names:
            items.append((b"FLAGS", flags_bytes(shown)))
        if add_uid and b"UID" not in names:
            items.append((b"UID", b"%d" % msg.uid))
        if add_modseq and b"MODSEQ" not in names:
            items.append((b"MODSEQ", b"(%d)" % msg.modseq))
    return fetch_response(seq, items)
