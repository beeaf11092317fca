"""What the webmail reads: message-list pages, one message with its bytes and
facts, search over one folder or all, correspondents for address suggestions.

Every function takes the acting account's id and only ever looks at that
account's folders: a folder id or UID of someone else's is NoSuchFolder /
NotFound, exactly as a folder that does not exist. Pages cost a constant
number of queries whatever their size (folder, count, one joined page query).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from django.db.models import BinaryField, Count, Q, QuerySet
from django.db.models.functions import Substr

from ..compose import envelope_addresses
from ..models import Account, Folder, Message
from . import search as _search
from ._db import atomic
from .admin_types import Page
from .errors import InvalidInput, NotFound
from .flags import set_flags
from .folders import folder_by_id
from .messages import flags_of
from .types import FLAG_COLUMNS, FolderInfo

MAX_PER_PAGE = 200
SORTS = {"date": "internal_date", "from": "blob__from_text", "subject": "blob__subject", "size": "size"}
# The blob columns a list row shows; the bytes and the search text stay in the database.
_ROW_FIELDS = (
    "uid",
    "folder_id",
    "internal_date",
    "size",
    "keywords",
    *FLAG_COLUMNS.values(),
    "blob__subject",
    "blob__from_text",
    "blob__to_text",
    "blob__sent_date",
    "blob__preview",
    "blob__has_attachments",
)


@dataclass(frozen=True)
class MessageSummary:
    """One row of a message list."""

    folder_id: int
    uid: int
    flags: frozenset[str]
    internal_date: datetime
    sent_date: datetime | None
    size: int
    subject: str
    from_text: str
    to_text: str
    preview: str
    has_attachments: bool


MessagePage = Page[MessageSummary]  # the dashboard's page of results, of message summaries


@dataclass(frozen=True)
class FolderState:
    """What the live list polls: any change to the folder raises highestmodseq."""

    id: int
    highestmodseq: int
    uidnext: int


@dataclass(frozen=True)
class MessageDetail:
    folder: FolderInfo
    uid: int
    flags: frozenset[str]
    internal_date: datetime
    size: int
    subject: str
    from_text: str
    to_text: str
    cc_text: str
    bcc_text: str
    sent_date: datetime | None
    message_id: str
    envelope: dict
    structure: dict
    header_bytes: int
    previous_uid: int | None = None  # the neighbour above in the date-sorted list (newer)
    next_uid: int | None = None  # the neighbour below (older)


def _summary(row: Message) -> MessageSummary:
    blob = row.blob
    return MessageSummary(
        row.folder_id,
        row.uid,
        flags_of(row),
        row.internal_date,
        blob.sent_date,
        row.size,
        blob.subject,
        blob.from_text,
        blob.to_text,
        blob.preview,
        blob.has_attachments,
    )


def _page(qs: QuerySet[Message], order: list, page: int, per_page: int) -> MessagePage:
    if per_page < 1 or per_page > MAX_PER_PAGE:
        raise InvalidInput(f"per_page must be between 1 and {MAX_PER_PAGE}")
    total = qs.count()
    pages = max(1, -(-total // per_page))
    page = min(max(page, 1), pages)
    rows = qs.select_related("blob").only(*_ROW_FIELDS).order_by(*order)
    start = (page - 1) * per_page
    return MessagePage([_summary(r) for r in rows[start : start + per_page]], total, page, per_page)


def _order(sort: str, reverse: bool) -> list:
    if sort not in SORTS:
        raise InvalidInput(f"unknown sort key {sort!r}")
    prefix = "-" if reverse else ""
    return [prefix + SORTS[sort], prefix + "uid"]


@atomic
def message_page(
    account_id: int, folder_id: int, *, sort: str = "date", reverse: bool = True, page: int = 1, per_page: int = 50
) -> MessagePage:
    """One page of a folder's messages (three queries whatever the page size)."""
    folder_by_id(account_id, folder_id)
    return _page(Message.objects.filter(folder_id=folder_id), _order(sort, reverse), page, per_page)


@atomic
def search_messages(
    account_id: int, criterion: _search.Criterion, *, folder_id: int | None = None, page: int = 1, per_page: int = 50
) -> MessagePage:
    """Messages matching criterion in one folder, or in all the account's
    folders, newest first. On PostgreSQL the trigram indexes answer text in
    the body, the header text, subject, from and to (migration 0002); cc
    and a named header field (HEADER, an iregex) scan."""
    if folder_id is not None:
        folder_by_id(account_id, folder_id)
        qs = Message.objects.filter(folder_id=folder_id)
    else:
        qs = Message.objects.filter(folder__owner_id=account_id)
    return _page(qs.filter(_search.to_q(criterion)), _order("date", True), page, per_page)


@atomic
def folder_state(account_id: int, folder_id: int) -> FolderState:
    folder = folder_by_id(account_id, folder_id)
    return FolderState(folder.id, folder.highestmodseq, folder.uidnext)


def _neighbours(folder_id: int, row: Message) -> tuple[int | None, int | None]:
    """UIDs of the newer and the older message next to row, by arrival then UID."""
    d, uid = row.internal_date, row.uid
    qs = Message.objects.filter(folder_id=folder_id)
    newer = (
        qs.filter(Q(internal_date__gt=d) | Q(internal_date=d, uid__gt=uid))
        .order_by("internal_date", "uid")
        .values_list("uid", flat=True)
        .first()
    )
    older = (
        qs.filter(Q(internal_date__lt=d) | Q(internal_date=d, uid__lt=uid))
        .order_by("-internal_date", "-uid")
        .values_list("uid", flat=True)
        .first()
    )
    return newer, older


@atomic
def open_message(
    account_id: int, folder_id: int, uid: int, *, mark_seen: bool = False, neighbours: bool = False
) -> MessageDetail:
    """One message's stored facts (not its bytes: see message_bytes); optionally
    marks it \\Seen (in the same transaction) and finds its neighbours."""
    folder = folder_by_id(account_id, folder_id)
    row = (
        Message.objects.filter(folder_id=folder_id, uid=uid)
        .select_related("blob")
        .defer("blob__data", "blob__body_text", "blob__header_text")
        .first()
    )
    if row is None:
        raise NotFound("no such message")
    flags = flags_of(row)
    if mark_seen and "\\Seen" not in flags:
        changed = set_flags(account_id, folder_id, [(uid, uid)], "add", ["\\Seen"]).changed
        flags = changed[0].flags if changed else flags
    newer, older = _neighbours(folder_id, row) if neighbours else (None, None)
    blob = row.blob
    return MessageDetail(
        FolderInfo(folder.id, folder.name, folder.special_use, folder.subscribed, folder.uidvalidity),
        row.uid,
        flags,
        row.internal_date,
        row.size,
        blob.subject,
        blob.from_text,
        blob.to_text,
        blob.cc_text,
        blob.bcc_text,
        blob.sent_date,
        blob.message_id,
        blob.envelope,
        blob.structure,
        blob.header_bytes,
        newer,
        older,
    )


@atomic
def message_bytes(account_id: int, folder_id: int, uid: int, start: int = 0, end: int | None = None) -> bytes:
    """raw[start:end] of a message, cut by the database: showing one part or
    one inline image of a large message does not load all of it."""
    if start < 0 or (end is not None and end < start):
        raise InvalidInput("bad byte range")
    qs = Message.objects.filter(folder__owner_id=account_id, folder_id=folder_id, uid=uid)
    if end is None:
        data = qs.values_list("blob__data", flat=True).first()
    else:
        # SQL strings are 1-based; a zero length gives the empty string.
        data = (
            qs.annotate(cut=Substr("blob__data", start + 1, end - start, output_field=BinaryField()))
            .values_list("cut", flat=True)
            .first()
        )
    if data is None:
        raise NotFound("no such message")
    return bytes(data)


@dataclass(frozen=True)
class FolderRow:
    """A folder in the webmail's folder list."""

    id: int
    name: str
    special_use: str
    messages: int
    unseen: int
    highestmodseq: int


SPECIAL_ORDER = ("\\Drafts", "\\Sent", "\\Archive", "\\Junk", "\\Trash")


@atomic
def folder_rows(account_id: int) -> list[FolderRow]:
    """The account's folders with counts (one query): INBOX, then the special
    folders, then the others by name."""
    rows = Folder.objects.filter(owner_id=account_id).annotate(
        n=Count("messages"), unseen=Count("messages", filter=Q(messages__seen=False))
    )
    out = [FolderRow(f.id, f.name, f.special_use, f.n, f.unseen, f.highestmodseq) for f in rows]

    def key(row: FolderRow) -> tuple[int, str]:
        if row.name == "INBOX":
            return 0, ""
        if row.special_use in SPECIAL_ORDER:
            return 1 + SPECIAL_ORDER.index(row.special_use), ""
        return 10, row.name.lower()

    return sorted(out, key=key)


# --- correspondents ---------------------------------------------------------

SUGGEST_SCAN = 500  # recent matching messages looked at per suggestion request


@atomic
def correspondents(account_id: int, prefix: str, limit: int = 8) -> list[tuple[str, str]]:
    """(name, address) pairs of people this account wrote to or heard from
    whose name or address contains prefix, most frequent first. Reads the
    envelopes of the most recent matching messages (trigram-indexed filter)."""
    text = prefix.strip()
    if len(text) < 2:
        return []
    own = Folder.objects.filter(owner_id=account_id)
    me = Account.objects.filter(pk=account_id).values_list("address", flat=True).first()
    rows = (
        Message.objects.filter(folder__in=own)
        .filter(Q(blob__to_text__icontains=text) | Q(blob__from_text__icontains=text))
        .order_by("-internal_date")
        .values_list("folder__special_use", "blob__envelope")[:SUGGEST_SCAN]
    )
    counts: Counter[str] = Counter()
    names: dict[str, str] = {}
    needle = text.lower()
    for special_use, envelope in rows:
        # Whom the account wrote to counts most; whom it heard from counts too.
        weight = 3 if special_use in ("\\Sent", "\\Drafts") else 1
        keys = ("to", "cc", "bcc") if weight == 3 else ("from", "cc")
        for name, address in envelope_addresses(envelope or {}, *keys):
            address = address.lower()
            if address != me and (needle in address or needle in name.lower()):
                counts[address] += weight
                if name:
                    names.setdefault(address, name)
    return [(names.get(a, ""), a) for a, _n in counts.most_common(limit)]
