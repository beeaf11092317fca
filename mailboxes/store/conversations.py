"""Conversations for the webmail: a folder's messages grouped by thread with
the RFC 5256 REFERENCES algorithm, the same :func:`~.threading.thread` that
IMAP's THREAD command runs, over the whole folder (not one page's rows).

:func:`conversation_page` is a page of conversations, newest activity first,
each with its message count, unread count and participants;
:func:`conversation_uids` is the conversation holding one message, oldest
first. Both read the folder's threading facts in one query
(:func:`~.imap.thread_rows`) and the rows shown in one more.

The threading is kept, per process, in a small LRU keyed by folder and
checked against the folder's *stamp*: (UIDVALIDITY, UIDNEXT, message count).
How a folder's messages group into threads depends only on which UIDs it
holds (a message's Message-ID, References, subject and date are its
immutable bytes and its arrival date), and the stamp changes whenever that
set does: every arrival (delivery, APPEND, COPY, MOVE in) takes UIDNEXT up,
and an expunge that comes with no arrival takes the count down. A flag
change raises the folder's modseq but regroups nothing, so it leaves the
stamp, and the grouping, alone: opening a message (which sets \\Seen) does
not cost the next list view a re-thread. The stamp is read from the
database on every call, so each web process's cache answers right whatever
the other processes and protocol workers changed.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from threading import Lock

from ..models import Folder, Message
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


Groups = list[tuple[int, ...]]  # shared by the cache's readers: immutable rows
Stamp = tuple[int, int, int]


class _GroupCache:
    """The latest threading of recently listed folders, least recently used
    out first, holding at most max_uids UIDs in all (a 100,000-message
    folder's grouping is a few MB). Thread-safe: gunicorn's threads share it."""

    def __init__(self, max_uids: int) -> None:
        self.max_uids = max_uids
        self._entries: OrderedDict[int, tuple[Stamp, Groups, int]] = OrderedDict()
        self._uids = 0
        self._lock = Lock()

    def get(self, folder_id: int, stamp: Stamp) -> Groups | None:
        with self._lock:
            entry = self._entries.get(folder_id)
            if entry is None or entry[0] != stamp:
                return None
            self._entries.move_to_end(folder_id)
            return entry[1]

    def put(self, folder_id: int, stamp: Stamp, groups: Groups) -> None:
        size = sum(len(uids) for uids in groups)
        with self._lock:
            old = self._entries.pop(folder_id, None)
            self._uids -= old[2] if old else 0
            if size > self.max_uids:
                return
            self._entries[folder_id] = (stamp, groups, size)
            self._uids += size
            while self._uids > self.max_uids:
                self._uids -= self._entries.popitem(last=False)[1][2]

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._uids = 0


GROUPS = _GroupCache(max_uids=500_000)


def _groups(account_id: int, folder: Folder) -> Groups:
    """Every thread of the folder (the account's, as folder_by_id read it) as
    its UIDs oldest first, newest thread first: from the cache while the
    folder's stamp is unchanged."""
    # The stamp is read before the rows: a change committed in between makes
    # the rows newer than the stamp they are kept under, and that stamp is
    # never read again (UIDNEXT only rises; at one UIDNEXT the count only falls).
    folder_id = folder.id
    stamp = (folder.uidvalidity, folder.uidnext, Message.objects.filter(folder_id=folder_id).count())
    groups = GROUPS.get(folder_id, stamp)
    if groups is None:
        groups = _thread(account_id, folder_id)
        GROUPS.put(folder_id, stamp, groups)
    return groups


def _thread(account_id: int, folder_id: int) -> Groups:
    rows = thread_rows(account_id, folder_id, All())
    dates: dict[int, tuple[datetime, int]] = {r.uid: (r.date, r.uid) for r in rows}
    groups = [tuple(sorted(tree.uids(), key=dates.__getitem__)) for tree in thread(rows, "REFERENCES")]
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
    groups = _groups(account_id, folder_by_id(account_id, folder_id))
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
    for uids in _groups(account_id, folder_by_id(account_id, folder_id)):
        if uid in uids:
            return list(uids)
    raise NotFound("no such message")
