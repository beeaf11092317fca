"""IMAP response encoder: Python values in, response bytes out. No I/O.

Implementation notes
--------------------

* Value model for :func:`render`: ``None`` is NIL, ``int`` a number,
  ``str``/``bytes`` an IMAP *string* (quoted when short printable ASCII,
  else a literal), lists and tuples parenthesised lists. A plain string is
  never sent as a bare atom, because the value "NIL" would then read as
  NIL; wrap atoms in :class:`Atom` and already-encoded bytes in
  :class:`Raw`.
* Quoted strings hold only 0x20-0x7E (RFC 3501 section 9 QUOTED-CHAR, with
  ``"`` and ``\\`` escaped) and at most :data:`QUOTED_MAX` octets; anything
  else (8-bit, CR, LF, NUL) becomes a literal ``{n}`` CRLF octets. The one
  exception: a mailbox name for a session that enabled UTF8=ACCEPT is
  quoted UTF-8 (RFC 6855 3, :func:`render_mailbox`). NUL in a
  literal is outside RFC 3501's CHAR8, but message bytes are sent as they
  are stored.
* Envelopes and body structures are rendered from the dicts that
  ``mailboxes/mime.py`` stores at delivery (see :func:`render_envelope`
  and :func:`render_bodystructure`). Strings in them are sent as they are;
  non-ASCII ones go out as UTF-8 literals.
* Status lines (:func:`tagged`, :func:`untagged_status`) strip anything but
  printable ASCII from the human-readable text, so no caller can put a CR,
  LF or 8-bit byte on the wire there.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeAlias

from mailboxes.mutf7 import encode_mailbox

from .sequence import SequenceSet

__all__ = [
    "QUOTED_MAX",
    "Atom",
    "Item",
    "Raw",
    "Status",
    "continuation",
    "continuation_data",
    "esearch_response",
    "fetch_response",
    "format_internaldate",
    "render",
    "render_address_list",
    "render_astring",
    "render_bodystructure",
    "render_envelope",
    "render_flags",
    "render_list",
    "render_literal",
    "render_mailbox",
    "render_nstring",
    "render_string",
    "response_code",
    "tagged",
    "untagged",
    "untagged_status",
]

#: Longest string sent quoted; longer ones are literals.
QUOTED_MAX: Final = 1024
CRLF: Final = b"\r\n"

Status: TypeAlias = Literal["OK", "NO", "BAD", "PREAUTH", "BYE"]


class Atom(str):
    """A string sent verbatim as an atom (``EXISTS``, ``\\Seen``, ``UIDNEXT``)."""

    __slots__ = ()


class Raw(bytes):
    """Bytes already in wire form (a rendered envelope, a sequence set)."""

    __slots__ = ()


Item: TypeAlias = "None | int | str | bytes | Atom | Raw | SequenceSet | Sequence[Item]"

_QUOTABLE = re.compile(rb"[\x20-\x7e]*")
_QUOTABLE_UTF8 = re.compile(rb"[\x20-\x7e\x80-\xff]*")
_ASTRING_ATOM = re.compile(rb'[^(){ \x00-\x1f\x7f%*"\\\x80-\xff]+')
_TEXT_UNSAFE = re.compile(r"[^\x20-\x7e]")
_MONTHS: Final = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


# -- scalars -----------------------------------------------------------------


def _bytes(data: str | bytes) -> bytes:
    return data.encode("utf-8") if isinstance(data, str) else data


def render_literal(data: str | bytes) -> bytes:
    """Always a literal: ``{n}`` CRLF octets (message bodies, long text)."""
    raw = _bytes(data)
    return b"{%d}\r\n" % len(raw) + raw


def render_string(data: str | bytes) -> bytes:
    """A quoted string when safe and short, else a literal."""
    raw = _bytes(data)
    if len(raw) <= QUOTED_MAX and _QUOTABLE.fullmatch(raw):
        return _quote(raw)
    return render_literal(raw)


def _quote(raw: bytes) -> bytes:
    return b'"' + raw.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def render_nstring(data: str | bytes | None) -> bytes:
    return b"NIL" if data is None else render_string(data)


def render_astring(data: str | bytes) -> bytes:
    """An atom when every character allows it (and it is not NIL), else a string."""
    raw = _bytes(data)
    if _ASTRING_ATOM.fullmatch(raw) and raw.upper() != b"NIL":
        return raw
    return render_string(raw)


def render_mailbox(name: str, *, utf8: bool = False) -> bytes:
    """A mailbox name as an astring: in modified UTF-7 (RFC 3501 5.1.3), or
    for a session that enabled UTF8=ACCEPT in UTF-8, quoted when short
    (RFC 6855 3 allows UTF-8 in quoted strings then; names hold no controls)."""
    if not utf8:
        return render_astring(encode_mailbox(name))
    raw = name.encode("utf-8")
    if raw.isascii() or len(raw) > QUOTED_MAX or not _QUOTABLE_UTF8.fullmatch(raw):
        return render_astring(raw)
    return _quote(raw)


def render(value: Item) -> bytes:
    """Render one value by the rules in the module notes."""
    if value is None:
        return b"NIL"
    if isinstance(value, Atom):
        return value.encode("ascii")
    if isinstance(value, Raw):
        return bytes(value)
    if isinstance(value, bool):
        raise TypeError("booleans have no IMAP form")
    if isinstance(value, int):
        if value < 0:
            raise ValueError("IMAP numbers are unsigned")
        return b"%d" % value
    if isinstance(value, (str, bytes)):
        return render_string(value)
    if isinstance(value, SequenceSet):
        return value.to_bytes()
    return render_list(value)


def render_list(items: Iterable[Item]) -> bytes:
    return b"(" + b" ".join(render(item) for item in items) + b")"


def render_flags(flags: Iterable[str]) -> bytes:
    """``(\\Seen $Forwarded)``: flags are atoms (keywords were atoms when stored)."""
    return b"(" + b" ".join(flag.encode("ascii") for flag in flags) + b")"


def format_internaldate(value: datetime) -> bytes:
    """``"17-Jul-1996 02:44:25 -0700"`` with its quotes (RFC 3501 date-time).

    The day is space-padded (date-day-fixed); a naive datetime is taken
    as UTC. Month names are English whatever the locale.
    """
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    offset = value.utcoffset()
    minutes = int(offset.total_seconds()) // 60 if offset is not None else 0
    sign = "-" if minutes < 0 else "+"
    minutes = abs(minutes)
    text = (
        f'"{value.day:2d}-{_MONTHS[value.month - 1]}-{value.year:04d} '
        f'{value.hour:02d}:{value.minute:02d}:{value.second:02d} {sign}{minutes // 60:02d}{minutes % 60:02d}"'
    )
    return text.encode("ascii")


# -- envelope (RFC 3501 7.4.2 ENVELOPE) -------------------------------------


def render_address_list(addresses: Sequence[Sequence[str | None]] | None) -> bytes:
    """``((name adl mailbox host) ...)``, or NIL when there are none.

    RFC 3501 section 9 allows no empty list here (``"(" 1*address ")" / nil``).
    Group markers (RFC 3501 7.4.2: mailbox set and host NIL) pass through.
    """
    if not addresses:
        return b"NIL"
    out = []
    for address in addresses:
        name, adl, mailbox, host = (list(address) + [None] * 4)[:4]
        out.append(
            b"("
            + b" ".join((render_nstring(name), render_nstring(adl), render_nstring(mailbox), render_nstring(host)))
            + b")"
        )
    return b"(" + b"".join(out) + b")"


def render_envelope(env: Mapping[str, Any]) -> bytes:
    """The ENVELOPE of a stored envelope dict.

    Keys: date, subject, in_reply_to, message_id (str or None) and from,
    sender, reply_to, to, cc, bcc (lists of ``[name, adl, mailbox, host]``
    or None). RFC 3501 7.4.2 says sender and reply-to default to from; the
    stored dict has done that already, but it is applied here again so a
    dict without them still renders correctly.
    """
    sender = env.get("sender") or env.get("from")
    reply_to = env.get("reply_to") or env.get("from")
    fields = (
        render_nstring(env.get("date")),
        render_nstring(env.get("subject")),
        render_address_list(env.get("from")),
        render_address_list(sender),
        render_address_list(reply_to),
        render_address_list(env.get("to")),
        render_address_list(env.get("cc")),
        render_address_list(env.get("bcc")),
        render_nstring(env.get("in_reply_to")),
        render_nstring(env.get("message_id")),
    )
    return b"(" + b" ".join(fields) + b")"


# -- body structure (RFC 3501 7.4.2 BODY / BODYSTRUCTURE, section 9 body) ----

# Dovecot's stand-in for a multipart without parts, which the grammar
# (body-type-mpart = 1*body ...) cannot express.
_EMPTY_PART: Final[Mapping[str, Any]] = {
    "type": "text",
    "subtype": "plain",
    "params": [["CHARSET", "US-ASCII"]],
    "encoding": "7BIT",
    "size": 0,
    "lines": 0,
}


def render_bodystructure(part: Mapping[str, Any], extended: bool) -> bytes:
    """BODYSTRUCTURE (``extended=True``) or BODY of a stored part dict.

    Single parts: ``type subtype params id description encoding size``,
    then ``lines`` for text/*, ``envelope body lines`` for message/rfc822,
    and with ``extended`` ``md5 disposition language location``
    (body-ext-1part). Multiparts: the children back to back (no space,
    RFC 3501 section 9 ``1*body``), the subtype, and with ``extended``
    ``params disposition language location`` (body-ext-mpart).
    """
    media_type = str(part.get("type") or "text").lower()
    if media_type == "multipart":
        return _multipart(part, extended)
    subtype = str(part.get("subtype") or "plain").lower()
    out = [
        render_string(media_type.upper()),
        render_string(subtype.upper()),
        _params(part.get("params")),
        render_nstring(part.get("id")),
        render_nstring(part.get("description")),
        render_string(part.get("encoding") or "7BIT"),
        render(int(part.get("size") or 0)),
    ]
    if media_type == "message" and subtype in ("rfc822", "global") and part.get("message") is not None:
        # body-type-msg; message/global is RFC 6532 section 3.4 / RFC 9051.
        out.append(render_envelope(part.get("envelope") or {}))
        out.append(render_bodystructure(part["message"], extended))
        out.append(render(int(part.get("lines") or 0)))
    elif media_type == "text":
        out.append(render(int(part.get("lines") or 0)))
    if extended:
        out.append(render_nstring(part.get("md5")))
        out.extend(_ext_common(part))
    return b"(" + b" ".join(out) + b")"


def _multipart(part: Mapping[str, Any], extended: bool) -> bytes:
    children = part.get("parts") or [_EMPTY_PART]
    out = b"(" + b"".join(render_bodystructure(child, extended) for child in children)
    out += b" " + render_string(str(part.get("subtype") or "mixed").upper())
    if extended:
        out += b" " + b" ".join([_params(part.get("params")), *_ext_common(part)])
    return out + b")"


def _ext_common(part: Mapping[str, Any]) -> list[bytes]:
    """body-fld-dsp SP body-fld-lang SP body-fld-loc."""
    return [
        _disposition(part.get("disposition")),
        _language(part.get("language")),
        render_nstring(part.get("location")),
    ]


def _params(params: Sequence[Sequence[str]] | None) -> bytes:
    """``body-fld-param = "(" string SP string *(SP string SP string) ")" / nil``."""
    if not params:
        return b"NIL"
    return b"(" + b" ".join(render_string(k) + b" " + render_string(v) for k, v in params) + b")"


def _disposition(disposition: Sequence[Any] | None) -> bytes:
    """``body-fld-dsp = "(" string SP body-fld-param ")" / nil``."""
    if not disposition:
        return b"NIL"
    kind = disposition[0]
    params = disposition[1] if len(disposition) > 1 else None
    return b"(" + render_string(str(kind).upper()) + b" " + _params(params) + b")"


def _language(language: Sequence[str] | str | None) -> bytes:
    """``body-fld-lang = nstring / "(" string *(SP string) ")"``."""
    if not language:
        return b"NIL"
    if isinstance(language, str):
        return render_string(language)
    return b"(" + b" ".join(render_string(tag) for tag in language) + b")"


# -- response lines ------------------------------------------------------------


def response_code(name: str, *args: Item) -> bytes:
    """``NAME arg ...`` for a resp-text-code, e.g. ``response_code("UIDNEXT", 4)``."""
    return b" ".join([name.encode("ascii"), *(render(arg) for arg in args)])


def _text(text: str, status: Status) -> bytes:
    clean = _TEXT_UNSAFE.sub("?", text).strip()
    if not clean:  # text = 1*TEXT-CHAR
        clean = {"OK": "Completed", "NO": "Failed", "BAD": "Error", "PREAUTH": "Ready", "BYE": "Bye"}[status]
    return clean.encode("ascii")


def _status_line(status: Status, code: str | bytes | None, text: str) -> bytes:
    out = status.encode("ascii") + b" "
    clean = _text(text, status)
    if code is not None:
        raw = _bytes(code)
        if b"\r" in raw or b"\n" in raw:
            raise ValueError("a response code must fit on one line")
        out += b"[" + raw + b"] "
    elif clean.startswith(b"["):
        # resp-text = ["[" resp-text-code "]" SP] text: a leading "[" would
        # read as a response code; TEXT-CHAR allows a leading space instead.
        clean = b" " + clean
    return out + clean + CRLF


def tagged(tag: bytes, status: Status, code: str | bytes | None, text: str) -> bytes:
    """``tag OK [CODE] text`` CRLF. ``code`` goes in verbatim; see :func:`response_code`."""
    return tag + b" " + _status_line(status, code, text)


def untagged_status(status: Status, code: str | bytes | None, text: str) -> bytes:
    """``* OK [CODE] text`` CRLF (also NO, BAD, PREAUTH, BYE)."""
    return b"* " + _status_line(status, code, text)


def untagged(*items: Item) -> bytes:
    """``*`` and the rendered items, e.g. ``untagged(3, Atom("EXISTS"))``."""
    return b"* " + b" ".join(render(item) for item in items) + CRLF


def continuation(text: str = "Ready") -> bytes:
    """``+ text`` CRLF: go on sending the literal (RFC 3501 7.5)."""
    return b"+ " + _TEXT_UNSAFE.sub("?", text).encode("ascii") + CRLF


def continuation_data(data: bytes) -> bytes:
    """``+ base64`` CRLF: a SASL challenge (RFC 3501 6.2.2)."""
    return b"+ " + base64.b64encode(data) + CRLF


def fetch_response(seq: int, items: Iterable[tuple[bytes, bytes]]) -> bytes:
    """``* seq FETCH (name value ...)`` from (name, rendered value) pairs.

    Names come from ``FetchAttribute.response_name()``; values from the
    render functions here (:func:`render_flags`, :func:`render_literal`, ...).
    """
    body = b" ".join(name + b" " + value for name, value in items)
    return b"* %d FETCH (" % seq + body + b")" + CRLF


def esearch_response(
    tag: bytes | None,
    *,
    uid: bool,
    min: int | None = None,
    max: int | None = None,
    count: int | None = None,
    all: SequenceSet | None = None,
) -> bytes:
    """``* ESEARCH (TAG "t") [UID] MIN n MAX n COUNT n ALL set`` (RFC 4731 section 3.1).

    Only the given results appear; ALL is left out for an empty result.
    """
    out = [b"* ESEARCH"]
    if tag is not None:
        out.append(b"(TAG " + render_string(tag) + b")")
    if uid:
        out.append(b"UID")
    for name, value in ((b"MIN", min), (b"MAX", max), (b"COUNT", count)):
        if value is not None:
            out.append(name + b" %d" % value)
    if all is not None and all.ranges:
        out.append(b"ALL " + all.to_bytes())
    return b" ".join(out) + CRLF
