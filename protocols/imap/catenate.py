"""CATENATE (RFC 4469): an APPENDed message made of TEXT literals and parts
of messages the user already has, named by IMAP URLs (RFC 5092,
:mod:`.imapurl`).

:func:`messages` turns an APPEND's messages into plain (bytes, flags, date)
items before anything is stored, so the store's one append path (and
MULTIAPPEND's all-or-nothing) stays as it is. Errors, RFC 4469 5:

* the target mailbox is missing: ``NO [TRYCREATE]`` before any URL is read;
* a URL that does not parse, names another user's mailbox without URLAUTH
  (or with a URLAUTH this session may not use), or names a mailbox, UIDVALIDITY, message or part that is not
  there: ``NO [BADURL <url>]``;
* the result (all messages of the command together) is over
  ``MAIL_MAX_MESSAGE_SIZE``: ``NO [TOOBIG]``.

Reading a URL's message never sets ``\\Seen`` on it. The host of an
absolute URL is not checked: a URL can only name the user's own mailboxes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings

from mailboxes import store

from . import commands as c
from .imapurl import MessageUrl, UrlError, parse_message_url
from .replies import Refusal, no
from .urlauth import authorized_data, bad_url, is_me, read_url

if TYPE_CHECKING:
    from .state import Session

__all__ = ["messages"]

Item = tuple[bytes, tuple[str, ...], datetime | None]


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
        raise bad_url(text) from None
    if url.urlauth is not None:
        data = await authorized_data(s, text)  # RFC 4469 5: URLAUTH URLs too, if offered
    elif url.owner is not None and not is_me(s, url.owner):
        data = None
    else:
        data = await _own_data(s, url)
    if data is None:
        raise bad_url(text)
    return data


async def _own_data(s: Session, url: MessageUrl) -> bytes | None:
    try:
        status = await s.call(store.folder_status, s.account_id, url.mailbox)
    except store.NoSuchFolder:
        return None
    if url.uidvalidity not in (None, status.uidvalidity):
        return None
    return await read_url(s, url, s.account_id, status.id)


def _too_big() -> Refusal:
    return no("TOOBIG", "The message would be too big")
