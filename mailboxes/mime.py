"""Analyse one raw RFC 5322 message once, at delivery time.

Everything IMAP FETCH (ENVELOPE, BODYSTRUCTURE, BODY[section]), IMAP SEARCH
and the webmail need later is computed here and stored, so the message bytes
are never parsed again; readers slice them by the stored offsets.

Implementation notes
- Pure: stdlib only, no Django, no I/O. ``analyze`` never raises.
- Works on raw bytes with CRLF, bare LF or mixed line endings. Headers split
  from the body at the first empty line; without one the entity is all header.
  Header bytes decode as UTF-8, else Latin-1 (8-bit headers never fail).
- Part numbering is RFC 3501 6.4.5, implemented by ``part_at``.
- Multipart bodies are cut at delimiter lines (RFC 2046 5.1.1): a part ends
  before the line break that precedes the next delimiter; a missing close
  delimiter ends the multipart at the end of its parent.
- Limits, as Dovecot's message parser: 100 levels of nesting and 10,000 parts
  in all. A container past the depth limit becomes an opaque leaf; parts past
  the count limit are not listed (their bytes stay in the parent's body).
  Boundary scans stop at SCAN_FACTOR times the message size in all.
- Deviation: a multipart without a usable boundary or without any delimiter
  line, and a container past a limit, are reported as application/octet-stream
  leaves. So every ``multipart/*`` part has at least one sub-part and every
  ``message/rfc822`` part has "envelope" and "message", as BODYSTRUCTURE needs.
  A message/rfc822 body is parsed as a message even if (against RFC 2046
  5.2.1) it has a base64 or quoted-printable encoding.
- Scanning is linear: compiled regexes and bytes methods, one pass per nesting
  level; text extraction is capped (``MAX_TEXT`` characters).

Stored part format (``ParsedMessage.structure``; JSON-serialisable)
- type, subtype: lower-cased; params: [[name, value], ...] in order, names
  lower-cased, values unquoted and RFC 2231-joined/decoded.
- id, description, md5, location: raw header values or None; encoding:
  upper-cased, "7BIT" by default; disposition: None or [type, params];
  language: None or [tag, ...]; filename: decoded, for the webmail.
- offsets: [header_start, body_start, body_end] in the raw message, so
  BODY[n.MIME] = raw[h:b] and BODY[n] = raw[b:e]; size = e - b; lines: for
  text/* and message/rfc822, else None.
- parts: multipart only; envelope and message (the embedded root part):
  message/rfc822 only. Envelope values are raw (RFC 3501 7.4.2), addresses
  [name, adl, mailbox, host] (see mime_addresses).
"""

from __future__ import annotations

import binascii
import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

from .mime_addresses import (
    b64decode_lenient,
    decode_bytes,
    decode_header_value,
    display_addresses,
    envelope,
    named_mailboxes,
    parse_address_list,
    parse_params,
)

__all__ = [
    "ParsedMessage",
    "analyze",
    "header_addresses",
    "part_at",
    "decode_header_value",
    "decoded_part_body",
    "part_text",
]

Part = dict[str, Any]  # the JSON-serialisable part dict described in the module notes
Envelope = dict[str, Any]

MAX_DEPTH = 100
MAX_PARTS = 10_000
SCAN_FACTOR = 16
MAX_TEXT = 1_000_000
MAX_HTML = 512 * 1024  # characters of one HTML part reduced to text
PREVIEW_CHARS = 200
MAX_BOUNDARY = 200  # RFC 2046 5.1.1 allows 70; be lenient, but bound the regex
# Fields are looked for in the first 2 MiB of a header block only (Postfix
# cuts headers at 100 KB by default); offsets still cover the whole block.
MAX_HEADER_SCAN = 2 * 1024 * 1024


@dataclass(frozen=True)
class ParsedMessage:
    """The facts stored for one message: IMAP's raw forms plus decoded display forms."""

    envelope: Envelope
    structure: Part
    subject: str
    from_: str
    to: str
    cc: str
    bcc: str
    date: datetime | None
    message_id: str
    in_reply_to: str
    references: str
    text: str
    preview: str
    has_attachments: bool
    header_bytes: int


# --- public API -------------------------------------------------------------


def analyze(raw: bytes) -> ParsedMessage:
    """Every stored fact about ``raw``; never raises, whatever the input."""
    try:
        raw = raw if type(raw) is bytes else _as_bytes(raw)
        return _analyze(raw)
    except Exception:  # last resort: a hostile message must still be stored
        return _fallback(raw if isinstance(raw, bytes) else b"")


def header_addresses(raw: bytes, *names: str) -> list[tuple[str, str]]:
    """(decoded display name, address) of the mailboxes in the named address
    fields of the message's header block (to, cc, ...), in order; the body is
    not read. Never raises."""
    raw = raw if type(raw) is bytes else _as_bytes(raw)
    fields = _parse_headers(raw[: _body_start(raw, 0, len(raw))], names)
    return [pair for name in names for pair in named_mailboxes(parse_address_list(fields.get(name)))]


def part_at(structure: Part, section: list[int]) -> Part | None:
    """The part at an RFC 3501 6.4.5 section number, e.g. [1, 2] for BODY[1.2].

    In a non-multipart message part 1 is the body itself; the numbers after a
    message/rfc822 part go into its embedded message. [] is the whole message.
    """
    container: Part | None = structure  # the entity whose parts the next number indexes
    node = structure
    for n in section:
        if container is None or n < 1:
            return None
        parts = container.get("parts")
        if parts:
            if n > len(parts):
                return None
            node = parts[n - 1]
        elif n == 1:
            node = container
        else:
            return None
        container = node if node.get("parts") else node.get("message")
    return node


def decoded_part_body(raw: bytes, part: Part) -> bytes:
    """The part's body with base64 / quoted-printable undone (tolerantly)."""
    _h, start, end = part["offsets"]
    return _decode_transfer(raw[start:end], part.get("encoding", "7BIT"))


def part_text(raw: bytes, part: Part) -> str:
    """The part's body as text, decoded with its charset (unknown: UTF-8)."""
    return decode_bytes(decoded_part_body(raw, part), _param(part, "charset"))


# --- bytes ------------------------------------------------------------------


def _as_bytes(raw: Any) -> bytes:
    if isinstance(raw, str):
        return raw.encode("utf-8", "surrogateescape")
    return bytes(raw)


def _header_text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _decode_transfer(body: bytes, encoding: str) -> bytes:
    if encoding == "BASE64":
        return b64decode_lenient(body)
    if encoding == "QUOTED-PRINTABLE":
        return binascii.a2b_qp(body)
    return body


# --- headers ----------------------------------------------------------------

_BLANK_LINE = re.compile(rb"\n\r?\n")
_MIME_FIELDS = tuple(
    f"content-{n}"
    for n in ("type", "transfer-encoding", "disposition", "id", "description", "md5", "language", "location")
)
_MESSAGE_FIELDS = _MIME_FIELDS + (
    "date",
    "subject",
    "from",
    "sender",
    "reply-to",
    "to",
    "cc",
    "bcc",
    "in-reply-to",
    "message-id",
    "references",
)
# White space before the colon is obsolete syntax, still accepted (RFC 5322 4.5).
_FIELD_START = {name: re.compile(b"\n" + re.escape(name.encode()) + rb"[ \t]*:") for name in _MESSAGE_FIELDS}
_FIELD_END = re.compile(rb"\n(?![ \t])")
_LINE_BREAK = re.compile(rb"\r?\n")


def _body_start(raw: bytes, start: int, end: int) -> int:
    """Offset just past the empty line ending the header block at ``start``."""
    if raw.startswith(b"\n", start, end):
        return start + 1
    if raw.startswith(b"\r\n", start, end):
        return start + 2
    m = _BLANK_LINE.search(raw, start, end)
    return m.end() if m else end


def _parse_headers(block: bytes, names: tuple[str, ...]) -> dict[str, str]:
    """The first occurrence of each named field, value unfolded and stripped.

    A field runs to the next line that does not start with white space;
    unfolding (RFC 5322 2.2.3) removes the line breaks and keeps the white
    space. One C-level search per name: no Python work per header line.
    """
    lowered = b"\n" + block.lower()  # the "\n" lets a field on the first line match
    fields: dict[str, str] = {}
    for name in names:
        m = _FIELD_START[name].search(lowered)
        if m is not None:
            start = m.end() - 1  # in block
            end = _FIELD_END.search(block, start)
            value = block[start : end.start() if end else len(block)]
            fields[name] = _header_text(_LINE_BREAK.sub(b"", value)).strip()
    return fields


_TOKEN_CHARS = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"  # RFC 2045 5.1 token
_MEDIA_TYPE = re.compile(rf"\s*({_TOKEN_CHARS})\s*/\s*({_TOKEN_CHARS})")
_DISPOSITION_TYPE = re.compile(rf"\s*({_TOKEN_CHARS})")


def _content_type(value: str | None, digest: bool) -> tuple[str, str, list[list[str]]]:
    # RFC 2045 5.2 default (message/rfc822 inside multipart/digest, RFC 2046 5.1.5);
    # a syntactically invalid Content-Type also gets the default.
    default = ("message", "rfc822", []) if digest else ("text", "plain", [["charset", "us-ascii"]])
    if value is None:
        return default
    m = _MEDIA_TYPE.match(value)
    if m is None:
        return default
    return m.group(1).lower(), m.group(2).lower(), parse_params(value, m.end())


def _disposition(value: str | None) -> list[Any] | None:
    m = _DISPOSITION_TYPE.match(value) if value else None
    if m is None or value is None:
        return None
    return [m.group(1).lower(), parse_params(value, m.end())]


def _lookup(pairs: list[list[str]], name: str) -> str | None:
    for key, value in pairs:
        if key == name:
            return value
    return None


def _param(part: Part, name: str) -> str | None:
    return _lookup(part.get("params") or [], name)


def _filename(part: Part) -> str | None:
    """Decoded file name for the webmail: path parts and control characters removed."""
    disposition = part["disposition"]
    name = (_lookup(disposition[1], "filename") if disposition else None) or _param(part, "name")
    if not name:
        return None
    name = decode_header_value(name)
    name = re.split(r"[/\\]", name)[-1]
    name = re.sub(r"[\x00-\x1f\x7f]", "", name).strip()
    return name or None


def _opt(headers: dict[str, str], name: str) -> str | None:
    return headers.get(name) or None


def _language(value: str | None) -> list[str] | None:
    """Content-Language (RFC 3282): comma-separated tags."""
    tags = [tag.strip() for tag in value.split(",") if tag.strip()] if value else []
    return tags or None


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = parsedate_to_datetime(value[:256])
    except Exception:  # ValueError, TypeError, OverflowError on garbage
        return None
    # RFC 5322 3.3: "-0000" means UTC with no local-time information.
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


# --- structure --------------------------------------------------------------


class _Budget:
    """What is left of the work limits for one message."""

    def __init__(self, size: int) -> None:
        self.parts_left = MAX_PARTS
        # Each nested multipart scans its own region for its boundary, so a
        # hostile message nesting 100 multiparts around 25 MB would be scanned
        # 100 times; past SCAN_FACTOR times its size, multiparts turn opaque.
        self.scan_left = SCAN_FACTOR * size + 16 * 1024 * 1024


def _split_multipart(raw: bytes, body_start: int, end: int, boundary: bytes, limit: int) -> list[tuple[int, int]]:
    """(header_start, body_end) of the first ``limit`` body parts between the delimiter lines.

    RFC 2046 5.1.1: a delimiter is "--boundary" at the start of a line, with
    optional transport padding; the line break before it belongs to the
    delimiter, not to the preceding part. "--boundary--" closes the multipart.
    """
    delimiter = re.compile(rb"\n--" + re.escape(boundary) + rb"(?:(--)|[ \t]*(?=\r?\n|\Z))")
    # The header block's final line break stands in for the one a first
    # delimiter at the very start of the body would need.
    search_from = body_start - 1 if body_start > 0 and raw[body_start - 1] == 0x0A else body_start
    spans: list[tuple[int, int]] = []
    current: int | None = None
    for m in delimiter.finditer(raw, search_from, end):
        if current is not None:
            before = m.start() - 1 if m.start() > current and raw[m.start() - 1] == 0x0D else m.start()
            spans.append((current, max(current, before)))
        if m.group(1) or len(spans) == limit:  # close delimiter, or enough parts
            return spans
        newline = raw.find(b"\n", m.end(), end)
        current = newline + 1 if newline >= 0 else end
    if current is not None:  # no close delimiter: the last part runs to the parent's end
        spans.append((current, end))
    return spans


def _parse_entity(
    raw: bytes, start: int, end: int, depth: int, digest: bool, budget: _Budget, message: bool = False
) -> tuple[Part, dict[str, str]]:
    """Part dict and headers of the MIME entity (a whole message if ``message``) at raw[start:end].

    Recursion is bounded by MAX_DEPTH.
    """
    budget.parts_left -= 1
    body_start = _body_start(raw, start, end)
    headers = _parse_headers(
        raw[start : min(body_start, start + MAX_HEADER_SCAN)], _MESSAGE_FIELDS if message else _MIME_FIELDS
    )
    ctype, subtype, params = _content_type(headers.get("content-type"), digest)
    encoding = re.match(r"\s*([^\s;(]{0,64})", headers.get("content-transfer-encoding", ""))
    part: Part = {
        "type": ctype,
        "subtype": subtype,
        "params": params,
        "id": _opt(headers, "content-id"),
        "description": _opt(headers, "content-description"),
        "encoding": (encoding.group(1).upper() if encoding else "") or "7BIT",
        "size": end - body_start,
        "lines": None,
        "md5": _opt(headers, "content-md5"),
        "disposition": _disposition(headers.get("content-disposition")),
        "language": _language(headers.get("content-language")),
        "location": _opt(headers, "content-location"),
        "filename": None,
        "offsets": [start, body_start, end],
    }
    part["filename"] = _filename(part)
    container = depth < MAX_DEPTH and budget.parts_left > 0
    if ctype == "multipart":
        boundary = (_param(part, "boundary") or "").rstrip().encode("utf-8")
        spans = []
        if container and 0 < len(boundary) <= MAX_BOUNDARY and end - body_start <= budget.scan_left:
            budget.scan_left -= end - body_start
            spans = _split_multipart(raw, body_start, end, boundary, budget.parts_left)
        children = []
        for child_start, child_end in spans:
            if budget.parts_left <= 0:
                break
            children.append(_parse_entity(raw, child_start, child_end, depth + 1, subtype == "digest", budget)[0])
        if children:
            part["parts"] = children
        else:
            part["type"], part["subtype"] = "application", "octet-stream"
    elif (ctype, subtype) == ("message", "rfc822"):
        if container:
            inner, inner_headers = _parse_entity(raw, body_start, end, depth + 1, False, budget, message=True)
            part["envelope"], part["message"] = envelope(inner_headers), inner
        else:
            part["type"], part["subtype"] = "application", "octet-stream"
    if part["type"] == "text" or "message" in part:
        # Lines of the body; a last line without a line break counts too.
        part["lines"] = raw.count(b"\n", body_start, end) + (0 < end - body_start and raw[end - 1] != 0x0A)
    return part, headers


def _walk(root: Part) -> list[Part]:
    """All parts in pre-order, embedded messages included (explicit stack)."""
    out, stack = [], [root]
    while stack:
        part = stack.pop()
        out.append(part)
        if "message" in part:
            stack.append(part["message"])
        stack.extend(reversed(part.get("parts") or []))
    return out


# --- text -------------------------------------------------------------------


# Every alternative ends at its closing delimiter or, unclosed, at the end of
# the text, so each match moves forward and the scan is linear.
_MARKUP = re.compile(
    r"""
      <!--.*?(?:-->|\Z)                            # comment
    | <(script|style)\b.*?(?:</\1\s*>|\Z)          # hidden content
    | <(/?)([A-Za-z][A-Za-z0-9]*)[^>]*(?:>|\Z)     # tag
    | <[!?][^>]*(?:>|\Z)                           # doctype, processing instruction
    """,
    re.I | re.S | re.X,
)
_BLOCK_TAGS = {"br", "p", "div", "tr", "li", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "pre", "hr"}


def _html_to_text(markup: str) -> str:
    """Text of an HTML part: markup dropped, script/style hidden, entities unescaped.

    Not html.parser: in CPython before the CVE-2025-6069 fix it is quadratic
    on crafted input (80 KB of "<a " took two minutes here).
    """

    def replace(m: re.Match[str]) -> str:
        return "\n" if (m.group(3) or "").lower() in _BLOCK_TAGS else ""

    return html.unescape(_MARKUP.sub(replace, markup[:MAX_HTML]))


def _text_parts(root: Part) -> list[Part]:
    """Text leaves in reading order; of a multipart/alternative only its text/plain."""
    out, stack = [], [root]
    while stack:
        part = stack.pop()
        if "message" in part:
            stack.append(part["message"])
        elif part.get("parts"):
            children = part["parts"]
            if part["subtype"] == "alternative":
                plain = [c for c in children if (c["type"], c["subtype"]) == ("text", "plain")]
                children = plain[:1] or children
            stack.extend(reversed(children))
        elif part["type"] == "text":
            out.append(part)
    return out


def _body_text(raw: bytes, root: Part) -> tuple[str, str]:
    """(search text capped at MAX_TEXT, preview) of the message's text parts."""
    texts: list[str] = []
    left = MAX_TEXT
    preview: str | None = None
    for part in _text_parts(root):
        if left <= 0:
            break
        _h, start, end = part["offsets"]
        # A character needs at least one decoded byte, and base64 or
        # quoted-printable at most 3 encoded bytes per decoded byte, so 4 raw
        # bytes per character still wanted are enough; the rest is not read.
        body = _decode_transfer(raw[start : min(end, start + 4 * left + 8)], part["encoding"])
        text = decode_bytes(body, _param(part, "charset"))
        if part["subtype"] == "html":
            text = _html_to_text(text)
        text = text[:left]
        left -= len(text) + 1
        texts.append(text)
        disposition = part["disposition"]
        if preview is None and not (disposition and disposition[0] == "attachment"):
            preview = " ".join(text[: PREVIEW_CHARS * 20].split())[:PREVIEW_CHARS]
    return "\n".join(texts)[:MAX_TEXT], preview or ""


# --- assembly ---------------------------------------------------------------


def _analyze(raw: bytes) -> ParsedMessage:
    structure, headers = _parse_entity(raw, 0, len(raw), 0, False, _Budget(len(raw)), message=True)
    facts = envelope(headers)
    text, preview = _body_text(raw, structure)
    return ParsedMessage(
        envelope=facts,
        structure=structure,
        subject=decode_header_value(headers.get("subject", "")),
        from_=display_addresses(facts["from"], headers.get("from")),
        to=display_addresses(facts["to"], headers.get("to")),
        cc=display_addresses(facts["cc"], headers.get("cc")),
        bcc=display_addresses(facts["bcc"], headers.get("bcc")),
        date=_parse_date(headers.get("date")),
        message_id=headers.get("message-id", ""),
        in_reply_to=headers.get("in-reply-to", ""),
        references=headers.get("references", ""),
        text=text,
        preview=preview,
        has_attachments=any(_is_attachment(p) for p in _walk(structure)),
        header_bytes=structure["offsets"][1],
    )


def _is_attachment(part: Part) -> bool:
    disposition = part["disposition"]
    if disposition and disposition[0] == "attachment":
        return True
    return part["type"] not in ("text", "multipart") and not part.get("parts") and bool(part["filename"])


def _fallback(raw: bytes) -> ParsedMessage:
    """An opaque single-part message, for when analysis itself failed."""
    header_bytes = _body_start(raw, 0, len(raw))
    structure = {
        "type": "application",
        "subtype": "octet-stream",
        "params": [],
        "id": None,
        "description": None,
        "encoding": "7BIT",
        "size": len(raw) - header_bytes,
        "lines": None,
        "md5": None,
        "disposition": None,
        "language": None,
        "location": None,
        "filename": None,
        "offsets": [0, header_bytes, len(raw)],
    }
    empty = dict.fromkeys(
        ("date", "subject", "from", "sender", "reply_to", "to", "cc", "bcc", "in_reply_to", "message_id")
    )
    return ParsedMessage(empty, structure, "", "", "", "", "", None, "", "", "", "", "", False, header_bytes)
