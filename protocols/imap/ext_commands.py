"""Parsers for the extensions around APPEND and message URLs: the parts of
an APPEND message that CATENATE (RFC 4469) and UTF8=ACCEPT (RFC 6855 4)
add, and the URLAUTH (RFC 4467) and METADATA (RFC 5464) commands. Pure,
like the rest of the parser (:mod:`.parser` holds the command table)."""

from __future__ import annotations

import re
from typing import Literal

from . import commands as c
from .fetch import FetchAttribute, parse_fetch_attribute
from .grammar import Reader

__all__ = [
    "catenate_parts",
    "parse_notify",
    "parse_genurlauth",
    "parse_getmetadata",
    "parse_resetkey",
    "parse_setmetadata",
    "parse_urlfetch",
    "utf8_append_data",
]


def catenate_parts(r: Reader) -> tuple[bytes | str, ...]:
    """RFC 4469 5: ``"CATENATE" SP "(" cat-part *(SP cat-part) ")"`` with
    ``cat-part = "TEXT" SP literal / "URL" SP astring`` (a TEXT literal8
    too, as with BINARY, RFC 3516 4.4). The URLs are checked when run."""
    r.keyword(b"CATENATE")
    r.sp()

    def part() -> bytes | str:
        word = r.word()
        r.sp()
        if word == "TEXT":
            return r.literal8() if r.at(b"~") else r.literal()
        if word == "URL":
            return r.astring().decode("utf-8", "replace")
        r.fail("Unknown CATENATE part")

    return tuple(r.paren_list(part, allow_empty=False))


def utf8_append_data(r: Reader) -> bytes:
    """RFC 6855 4: ``append-data =/ "UTF8" SP "(" literal8 ")"``, BAD from a
    session that has not enabled UTF8=ACCEPT. The message is stored as it is."""
    if not r.utf8:
        r.fail("APPEND UTF8 needs ENABLE UTF8=ACCEPT")
    r.keyword(b"UTF8")
    r.sp()
    r.char(b"(")
    message = r.literal8() if r.at(b"~") else r.literal()
    r.char(b")")
    return message


def parse_genurlauth(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # RFC 4467 9: genurlauth = "GENURLAUTH" 1*(SP url-rump SP mechanism)
    urls = []
    while r.maybe_sp():
        url = r.astring().decode("utf-8", "replace")
        r.sp()
        urls.append((url, r.word()))
    if not urls:
        r.fail("GENURLAUTH needs a URL and a mechanism")
    return c.GenUrlAuth(tag=tag, urls=tuple(urls))


_URLFETCH_PARAMS = frozenset({"BODYPARTSTRUCTURE", "BINARY", "BODY"})


def parse_urlfetch(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # RFC 4467 9: urlfetch = "URLFETCH" 1*(SP url-full); RFC 5524 6 adds
    # url-fetch-arg = "(" url SP url-fetch-param *(SP url-fetch-param) ")",
    # url-fetch-param = "BODYPARTSTRUCTURE" / ("BINARY" / "BODY"): one of the two.
    urls: list[str] = []
    options: list[frozenset[str] | None] = []
    while r.maybe_sp():
        if not r.at(b"("):
            urls.append(r.astring().decode("utf-8", "replace"))
            options.append(None)
            continue
        r.char(b"(")
        urls.append(r.astring().decode("utf-8", "replace"))
        params: set[str] = set()
        while r.maybe_sp():
            word = r.word()
            if word not in _URLFETCH_PARAMS or word in params:
                r.fail("Unknown or repeated URLFETCH option")
            params.add(word)
        r.char(b")")
        if not params or {"BINARY", "BODY"} <= params:
            r.fail("URLFETCH options: BODYPARTSTRUCTURE and BINARY or BODY")
        options.append(frozenset(params))
    if not urls:
        r.fail("URLFETCH needs a URL")
    return c.UrlFetch(tag=tag, urls=tuple(urls), options=tuple(options))


_NOTIFY_FILTERS = frozenset({"SELECTED", "SELECTED-DELAYED", "INBOXES", "PERSONAL", "SUBSCRIBED"})


def parse_notify(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # RFC 5465 8: notify = "NOTIFY" SP (notify-set / notify-none);
    # notify-set = "SET" [status-indicator] SP event-groups;
    # event-group = "(" filter-mailboxes SP events ")";
    # events = ("(" event *(SP event) ")") / "NONE";
    # message-event = ("MessageNew" [SP "(" fetch-att *(SP fetch-att) ")"]) / ...
    r.sp()
    word = r.word()
    if word == "NONE":
        return c.Notify(tag=tag)
    if word != "SET":
        r.fail("NOTIFY SET or NOTIFY NONE")
    status = False
    groups: list[c.NotifyGroup] = []
    while r.maybe_sp():
        if not groups and not status and not r.at(b"("):
            if r.word() != "STATUS":
                r.fail("Expected STATUS or an event group")
            status = True
            continue
        r.char(b"(")
        kind = r.word()
        mailboxes: tuple[str, ...] = ()
        if kind in ("SUBTREE", "MAILBOXES"):
            r.sp()
            mailboxes = tuple(r.paren_list(r.mailbox, allow_empty=False)) if r.at(b"(") else (r.mailbox(),)
        elif kind not in _NOTIFY_FILTERS:
            r.fail("Unknown NOTIFY mailbox filter")
        r.sp()
        events: set[str] = set()
        fetch: tuple[FetchAttribute, ...] = ()
        if r.at(b"("):
            r.char(b"(")
            while True:
                event = r.word()
                events.add(event)
                if event == "MESSAGENEW" and r.buf[r.pos : r.pos + 2] == b" (":
                    r.sp()
                    fetch = tuple(r.paren_list(lambda: parse_fetch_attribute(r), allow_empty=False))
                if not r.maybe_sp():
                    break
            r.char(b")")
        elif r.word() != "NONE":
            r.fail("Expected events or NONE")
        r.char(b")")
        groups.append(c.NotifyGroup(filter=kind, mailboxes=mailboxes, events=frozenset(events), fetch=fetch))
    if not groups:
        r.fail("NOTIFY SET needs an event group")
    return c.Notify(tag=tag, groups=tuple(groups), status=status)


def parse_resetkey(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # RFC 4467 9: resetkey = "RESETKEY" [SP mailbox *(SP mechanism)]
    if not r.maybe_sp():
        return c.ResetKey(tag=tag)
    mailbox = r.mailbox()
    mechanisms = []
    while r.maybe_sp():
        mechanisms.append(r.word())
    return c.ResetKey(tag=tag, mailbox=mailbox, mechanisms=tuple(mechanisms))


# RFC 5464 3.2: "/private/..." or "/shared/...", no wildcards, no empty level.
_METADATA_ENTRY = re.compile(r"/(?:private|shared)(?:/[\x21-\x24\x26-\x29\x2b-\x2e\x30-\x7e]+)+")


def _metadata_entry(r: Reader) -> str:
    entry = r.astring().decode("ascii", "replace").lower()
    if not _METADATA_ENTRY.fullmatch(entry):
        r.fail("Invalid metadata entry name")
    return entry


def parse_getmetadata(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # RFC 5464 5: getmetadata = "GETMETADATA" [SP getmetadata-options] SP mailbox SP entries
    r.sp()
    maxsize: int | None = None
    depth: Literal[0, 1, "infinity"] = 0
    if r.at(b"("):

        def option() -> None:
            nonlocal maxsize, depth
            word = r.word()
            r.sp()
            if word == "MAXSIZE":
                maxsize = r.number()
            elif word == "DEPTH":
                value = r.word()
                if value not in ("0", "1", "INFINITY"):
                    r.fail("DEPTH is 0, 1 or infinity")
                depth = "infinity" if value == "INFINITY" else int(value)  # type: ignore[assignment]
            else:
                r.fail("Unknown GETMETADATA option")

        r.paren_list(option, allow_empty=False)
        r.sp()
    mailbox = r.mailbox()
    r.sp()
    if r.at(b"("):
        entries = tuple(r.paren_list(lambda: _metadata_entry(r), allow_empty=False))
    else:
        entries = (_metadata_entry(r),)
    return c.GetMetadata(tag=tag, mailbox=mailbox, entries=tuple(dict.fromkeys(entries)), maxsize=maxsize, depth=depth)


def parse_setmetadata(r: Reader, tag: bytes, uid: bool) -> c.Command:
    # RFC 5464 5: setmetadata = "SETMETADATA" SP mailbox SP "(" entry-value *(SP entry-value) ")"
    # entry-value = entry SP value; value = nstring / literal8
    r.sp()
    mailbox = r.mailbox()
    r.sp()

    def item() -> tuple[str, bytes | None]:
        entry = _metadata_entry(r)
        r.sp()
        return entry, r.literal8() if r.at(b"~") else r.nstring()

    return c.SetMetadata(tag=tag, mailbox=mailbox, items=tuple(r.paren_list(item, allow_empty=False)))
