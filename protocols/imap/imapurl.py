"""IMAP URLs (RFC 5092) that name one message or a part of it. Pure.

:func:`parse_message_url` reads the forms CATENATE (RFC 4469) and URLAUTH
(RFC 4467) use: an absolute ``imap://[user[;AUTH=type]@]host[:port]/...``
URL or the path alone (``/...``, relative to this server), naming

    enc-mailbox [";UIDVALIDITY=" nz-number] "/;UID=" nz-number
    ["/;SECTION=" enc-section] ["/;PARTIAL=" number ["." nz-number]]
    [";EXPIRE=" date-time] [";URLAUTH=" access [":" mechanism ":" verifier]]

Keys are case-insensitive; %-escapes are decoded and the mailbox name is
UTF-8 (RFC 5092 3.2, not modified UTF-7); the section is parsed with the
FETCH section grammar. Message lists (``?search``), mailbox-only URLs and
anything else are :class:`UrlError`. The URLAUTH parts are parsed only so
that a caller can refuse them or check them; this module decides nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final
from urllib.parse import unquote_to_bytes

from .errors import ParseError
from .fetch import Section, parse_section

__all__ = ["MessageUrl", "UrlError", "parse_message_url"]


class UrlError(ValueError):
    """Text that is not an IMAP URL naming a message (or part) we can read."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageUrl:
    mailbox: str
    uid: int
    uidvalidity: int | None = None
    section: Section | None = None
    #: PARTIAL=offset[.length]; no length: to the end.
    partial: tuple[int, int | None] | None = None
    user: str | None = None
    host: str | None = None
    #: ";EXPIRE=...;URLAUTH=..." as written, when the URL has one (RFC 4467).
    urlauth: str | None = None


#: Longest URL accepted (a mailbox name of 1,000 characters fits, %-encoded).
MAX_URL: Final = 8192
# RFC 3986 unreserved / pct-encoded / sub-delims (RFC 5092 achar and bchar) plus ":@/".
_URL_CHARS = re.compile(r"[A-Za-z0-9\-._~%!$&'()*+,;=:@/]*")
_SERVER = re.compile(r"imap://(?:(?P<user>[^@/;]*)(?:;AUTH=[^@/]*)?@)?(?P<host>[^/:]+)(?::\d+)?(?=/)", re.I)
_NUMBER = re.compile(r"(0|[1-9][0-9]{0,9})")
_NZ_NUMBER = re.compile(r"[1-9][0-9]{0,9}")
_MAX_NUMBER: Final = 2**32 - 1
_PARTS: Final = ("UID", "SECTION", "PARTIAL")
_URLAUTH = re.compile(r";(?:EXPIRE|URLAUTH)=", re.I)


def parse_message_url(text: str) -> MessageUrl:
    if len(text) > MAX_URL or not _URL_CHARS.fullmatch(text):
        raise UrlError("not a URL")
    user = host = None
    server = _SERVER.match(text)
    if server is not None:
        user = _decode(server.group("user")) if server.group("user") else None
        host = server.group("host").lower()
        text = text[server.end():]
    elif not text.startswith("/") or text.startswith("//"):
        raise UrlError("not an IMAP URL or absolute path")
    urlauth = None
    auth = _URLAUTH.search(text)
    if auth is not None:
        text, urlauth = text[: auth.start()], text[auth.start():]
    # "/mailbox[;UIDVALIDITY=n]" then "/;KEY=value" segments, in RFC order.
    head, *segments = re.split(r"/(?=;)", text[1:])
    fields: dict[str, str] = {}
    for segment in segments:
        key, sep, value = segment[1:].partition("=")
        key = key.upper()
        if not sep or key not in _PARTS or (fields and _PARTS.index(key) <= _PARTS.index(list(fields)[-1])):
            raise UrlError("unknown, repeated or misplaced URL part")
        fields[key] = value
    mailbox_part, sep, validity = head.partition(";")
    uidvalidity = None
    if sep:
        key, _, value = validity.partition("=")
        if key.upper() != "UIDVALIDITY":
            raise UrlError("unknown mailbox parameter")
        uidvalidity = _number(value, nonzero=True)
    mailbox = _decode(mailbox_part)
    if not mailbox or "UID" not in fields:
        raise UrlError("the URL names no message")
    if mailbox.upper() == "INBOX":
        mailbox = "INBOX"
    return MessageUrl(
        mailbox=mailbox,
        uid=_number(fields["UID"], nonzero=True),
        uidvalidity=uidvalidity,
        section=_section(fields["SECTION"]) if "SECTION" in fields else None,
        partial=_partial(fields["PARTIAL"]) if "PARTIAL" in fields else None,
        user=user,
        host=host,
        urlauth=urlauth,
    )


def _decode(text: str) -> str:
    if re.search(r"%(?![0-9A-Fa-f]{2})", text):
        raise UrlError("bad %-escape")
    try:
        return unquote_to_bytes(text).decode("utf-8")
    except UnicodeDecodeError:
        raise UrlError("not UTF-8") from None


def _number(text: str, *, nonzero: bool) -> int:
    if not (_NZ_NUMBER if nonzero else _NUMBER).fullmatch(text) or int(text) > _MAX_NUMBER:
        raise UrlError("bad number")
    return int(text)


def _section(text: str) -> Section:
    try:
        return parse_section(_decode(text).encode("utf-8"))
    except ParseError:
        raise UrlError("bad section") from None


def _partial(text: str) -> tuple[int, int | None]:
    origin, dot, length = text.partition(".")
    return _number(origin, nonzero=False), _number(length, nonzero=True) if dot else None
