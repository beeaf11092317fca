"""CATENATE (RFC 4469): an APPENDed message made of TEXT literals and parts
of messages the user already has, named by IMAP URLs (RFC 5092,
:mod:`.imapurl`).

:func:`messages` turns an APPEND's messages into plain (bytes, flags, date)
items before anything is stored, so the store's one append path (and
MULTIAPPEND's all-or-nothing) stays as it is. Errors, RFC 4469 5:

* the target mailbox is missing: ``NO [TRYCREATE]`` before any URL is read;
* a URL that does not parse, names another user, carries URLAUTH (not
  offered), or names a mailbox, UIDVALIDITY, message or part that is not
  there: ``NO [BADURL <url>]``;
* the result (all messages of the command together) is over
  ``MAIL_MAX_MESSAGE_SIZE``: ``NO [TOOBIG]``.

Reading a URL's message never sets ``\\Seen`` on it. The host of an
absolute URL is not checked: a URL can only name the user's own mailboxes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings

from mailboxes import store

from . import commands as c
from .imapurl import MessageUrl, UrlError, parse_message_url
from .replies import Refusal, no
from .sections import section_bytes

if TYPE_CHECKING:
    from .state import Session

__all__ = ["messages"]

Item = tuple[bytes, tuple[str, ...], datetime | None]
# url-resp-text (RFC 4469 6): anything but CR, LF and "]" (and we keep to printable ASCII).
_NOT_URL_TEXT = re.compile(r"[^\x20-\x5c\x5e-\x7e]")


async def messages(s: Session, cmd: c.Append) -> list[Item]:
    """The command's messages with every CATENATE part resolved."""
    parts: Sequence[c.Append | c.AppendMessage] = (cmd, *cmd.more)
    await s.call(store.folder_status, s.account_id, cmd.mailbox)  # NoSuchFolder: TRYCREATE first
    budget = int(settings.MAIL_MAX_MESSAGE_SIZE)
    items: list[Item] = []
    for m in parts:
        data = await _assemble(s, m.catenate, budget) if m.catenate else m.message
        budget -= len(data)
        if budget < 0:
            raise _too_big()
        items.append((data, m.flags, m.internal_date))
    return items


async def _assemble(s: Session, parts: tuple[bytes | str, ...], budget: int) -> bytes:
    out: list[bytes] = []
    for part in parts:
        data = part if isinstance(part, bytes) else await _url_data(s, part)
        budget -= len(data)
        if budget < 0:
            raise _too_big()  # before reading any further URL
        out.append(data)
    return b"".join(out)


async def _url_data(s: Session, text: str) -> bytes:
    try:
        url = parse_message_url(text)
    except UrlError:
        raise _bad_url(text) from None
    assert s.account is not None
    if url.urlauth is not None or (url.user is not None and url.user.lower() != s.account.address.lower()):
        raise _bad_url(text)
    try:
        status = await s.call(store.folder_status, s.account_id, url.mailbox)
    except store.NoSuchFolder:
        raise _bad_url(text) from None
    if url.uidvalidity is not None and url.uidvalidity != status.uidvalidity:
        raise _bad_url(text)
    found = await s.call(store.fetch_messages, s.account_id, status.id, [(url.uid, url.uid)],
                         structure=True, content="full", limit=1)
    data = _cut(url, found[0]) if found else None
    if data is None:
        raise _bad_url(text)
    return data


def _cut(url: MessageUrl, message: store.MessageInfo) -> bytes | None:
    raw = message.data or b""
    data = raw if url.section is None else section_bytes(url.section, raw, message.structure, message.header_bytes)
    if data is None or url.partial is None:
        return data
    origin, length = url.partial
    return data[origin:] if length is None else data[origin : origin + length]


def _bad_url(text: str) -> Refusal:
    shown = _NOT_URL_TEXT.sub("?", text)[:1024] or "?"
    return no("BADURL " + shown, "Cannot read that URL")


def _too_big() -> Refusal:
    return no("TOOBIG", "The message would be too big")
