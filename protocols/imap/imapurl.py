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
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final
from urllib.parse import unquote_to_bytes

from .errors import ParseError
from .fetch import Section, parse_section
from .sections import section_bytes

__all__ = ["MessageUrl", "UrlAuth", "UrlError", "cut", "parse_message_url", "parse_urlauth"]


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

    @property
    def owner(self) -> str | None:
        """Whose mailbox: the URL's user, taken as ``user@host`` when it has
        no "@" of its own (our users log in with their address)."""
        if self.user is None:
            return None
        return self.user if "@" in self.user or self.host is None else f"{self.user}@{self.host}"


@dataclass(frozen=True, slots=True, kw_only=True)
class UrlAuth:
    """RFC 4467 2: ``[";EXPIRE=" date-time] ";URLAUTH=" access [":" mechanism ":" verifier]``."""

    access: str
    expire: datetime | None = None
    mechanism: str | None = None
    verifier: str | None = None
    #: The URL up to and including the access identifier: what the verifier signs.
    rump: str


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
        text = text[server.end() :]
    elif not text.startswith("/") or text.startswith("//"):
        raise UrlError("not an IMAP URL or absolute path")
    urlauth = None
    auth = _URLAUTH.search(text)
    if auth is not None:
        text, urlauth = text[: auth.start()], text[auth.start() :]
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


_URLAUTH_PART = re.compile(
    r";(?:EXPIRE=(?P<expire>[0-9T:.+Zz-]+);)?URLAUTH=(?P<access>(?:submit\+|user\+)[^:;]+|authuser|anonymous)"
    r"(?::(?P<mechanism>[A-Za-z0-9.-]+):(?P<verifier>[0-9A-Fa-f]{32,}))?",
    re.I,
)


def parse_urlauth(text: str, url: MessageUrl) -> UrlAuth:
    """The URLAUTH parts of ``text``, the URL ``url`` was parsed from."""
    part = _URLAUTH_PART.fullmatch(url.urlauth or "")
    if part is None:
        raise UrlError("no or bad URLAUTH part")
    expire = None
    if part.group("expire"):
        try:
            expire = datetime.fromisoformat(part.group("expire"))
        except ValueError:
            raise UrlError("bad EXPIRE") from None
        if expire.tzinfo is None:
            raise UrlError("EXPIRE without a zone")
    access = part.group("access")
    kind, plus, who = access.partition("+")
    access = kind.lower() + plus + _decode(who) if plus else access.lower()
    # The URLAUTH part ends the URL, so the verifier is the text's tail.
    rump = text[: len(text) - (len(part.group(0)) - part.end("access"))]
    return UrlAuth(
        access=access, expire=expire, mechanism=part.group("mechanism"), verifier=part.group("verifier"), rump=rump
    )


def cut(url: MessageUrl, raw: bytes, structure: Mapping[str, Any] | None, header_bytes: int) -> bytes | None:
    """The octets the URL names in a message (RFC 5092: the section, then
    the partial range), or None when the section does not exist."""
    data = raw if url.section is None else section_bytes(url.section, raw, structure, header_bytes)
    if data is None or url.partial is None:
        return data
    origin, length = url.partial
    return data[origin:] if length is None else data[origin : origin + length]


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
