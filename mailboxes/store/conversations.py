"""Conversations for the webmail: a folder's messages grouped by thread with
the RFC 5256 REFERENCES algorithm, the same :func:`~.threading.thread` that
IMAP's THREAD command runs, over the whole folder (not one page's rows).

:func:`conversation_page` is a page of conversations, newest activity first,
each with its message count, unread count and participants;
:func:`conversation_uids` is the conversation holding one message, oldest
first. Both read the folder's threading facts in one query
(:func:`~.imap.thread_rows`) and the rows shown in one more.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from ..models import Message
from ._db import atomic
from .admin_types import Page
from .errors import InvalidInput, NotFound
from .folders import folder_by_id
from .imap import thread_rows
from .search import All
from .threading import thread
from .webmail import _ROW_FIELDS, MAX_PER_PAGE, MessageSummary, _summary

__all__ = ["Conversation", "ConversationPage", "conversation_page", "conversation_uids"]

MAX_PARTICIPANTS = 4


@dataclass(frozen=True)
class Conversation:
    """One thread of a folder as a list row: `latest` is its newest message."""

    uids: tuple[int, ...]  # oldest first
    latest: MessageSummary
    unseen: int
    flagged: bool
    participants: tuple[str, ...]  # senders, first to write first, at most MAX_PARTICIPANTS

    @property
    def count(self) -> int:
        return len(self.uids)


ConversationPage = Page[Conversation]


def _groups(account_id: int, folder_id: int) -> list[list[int]]:
    """Every thread of the folder as its UIDs oldest first, newest thread first."""
    rows = thread_rows(account_id, folder_id, All())
    dates: dict[int, tuple[datetime, int]] = {r.uid: (r.date, r.uid) for r in rows}
    groups = [sorted(tree.uids(), key=dates.__getitem__) for tree in thread(rows, "REFERENCES")]
    groups.sort(key=lambda uids: dates[uids[-1]], reverse=True)
    return groups


def _participant(from_text: str) -> str:
    name, _, address = from_text.rpartition("<")
    return name.strip().strip('"') or address.rstrip(">").strip() or from_text


@atomic
def conversation_page(account_id: int, folder_id: int, *, page: int = 1, per_page: int = 50) -> ConversationPage:
    """One page of the folder's conversations, the most recently active first."""
    if per_page < 1 or per_page > MAX_PER_PAGE:
        raise InvalidInput(f"per_page must be between 1 and {MAX_PER_PAGE}")
    folder_by_id(account_id, folder_id)
    groups = _groups(account_id, folder_id)
    pages = max(1, -(-len(groups) // per_page))
    page = min(max(page, 1), pages)
    shown = groups[(page - 1) * per_page : page * per_page]
    wanted = [uid for uids in shown for uid in uids]
    rows = Message.objects.filter(folder_id=folder_id, uid__in=wanted).select_related("blob").only(*_ROW_FIELDS)
    by_uid = {row.uid: _summary(row) for row in rows}
    out = []
    for uids in shown:
        items = [by_uid[uid] for uid in uids if uid in by_uid]
        if not items:
            continue
        people: list[str] = []
        for item in items:
            who = _participant(item.from_text)
            if who and who not in people:
                people.append(who)
        out.append(
            Conversation(
                tuple(i.uid for i in items),
                items[-1],
                sum("\\Seen" not in i.flags for i in items),
                any("\\Flagged" in i.flags for i in items),
                tuple(people[:MAX_PARTICIPANTS]),
            )
        )
    return ConversationPage(out, len(groups), page, per_page)


@atomic
def conversation_uids(account_id: int, folder_id: int, uid: int) -> list[int]:
    """The UIDs of the conversation that holds message uid, oldest first."""
    folder_by_id(account_id, folder_id)
    for uids in _groups(account_id, folder_id):
        if uid in uids:
            return uids
    raise NotFound("no such message")
