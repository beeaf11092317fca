"""Plain values the store returns. Front doors never see model instances."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

SYSTEM_FLAGS = ("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft")
FLAG_COLUMNS = {
    "\\Seen": "seen",
    "\\Answered": "answered",
    "\\Flagged": "flagged",
    "\\Deleted": "deleted",
    "\\Draft": "draft",
}
SPECIAL_FOLDERS = (
    ("Sent", "\\Sent"),
    ("Drafts", "\\Drafts"),
    ("Trash", "\\Trash"),
    ("Junk", "\\Junk"),
    ("Archive", "\\Archive"),
)

# A set of UIDs as inclusive (low, high) ranges, ascending, non-overlapping.
UidRanges = list[tuple[int, int]]
# Whether a message of some size fits: now, not now (the mailbox is full), or never (larger than the quota).
QuotaVerdict = Literal["ok", "full", "never"]
# What an address is to this host (RecipientCheck.kind).
RecipientKind = Literal["local", "unknown", "inactive", "remote"]
# How set_flags changes the flags: replace them, add to them, remove from them.
FlagOp = Literal["set", "add", "remove"]


@dataclass(frozen=True)
class DomainInfo:
    id: int
    name: str
    active: bool
    default_quota: int
    max_accounts: int
    accounts: int = 0


@dataclass(frozen=True)
class AccountInfo:
    id: int
    address: str
    display_name: str
    quota: int
    used_bytes: int
    is_active: bool
    is_superuser: bool


@dataclass(frozen=True)
class AliasInfo:
    id: int
    source: str
    targets: tuple[str, ...]


@dataclass(frozen=True)
class RecipientCheck:
    """What an address means to this host.

    kind: 'local' (account_ids/forwards hold where it goes), 'unknown' (a local
    domain but nobody there), 'inactive' (a disabled account) or 'remote'
    (not one of our domains). filtered: whether the account has Sieve scripts (its
    own active one or its domain's), when the routing read it; None when
    delivery must look (sieve_delivery.py)."""

    address: str
    kind: RecipientKind
    account_ids: tuple[int, ...] = ()
    forwards: tuple[str, ...] = ()
    filtered: bool | None = None


@dataclass(frozen=True)
class FolderInfo:
    id: int
    name: str
    special_use: str
    subscribed: bool
    uidvalidity: int


@dataclass(frozen=True)
class FolderStatus:
    id: int
    name: str
    messages: int
    recent: int
    unseen: int
    uidnext: int
    uidvalidity: int
    highestmodseq: int
    size: int
    deleted: int = 0


@dataclass(frozen=True)
class RecentRange:
    """UIDs ``first <= uid < end`` that are \\Recent in one IMAP session
    (RFC 3501 2.3.2); empty when ``end <= first``."""

    first: int
    end: int


@dataclass(frozen=True)
class FolderView:
    """A SELECT: what a session needs to start its own view of a folder."""

    id: int
    name: str
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    uids: list[int]
    keywords: tuple[str, ...]
    unseen: int
    first_unseen_uid: int | None
    special_use: str = ""
    #: The messages of `uids` that are \\Recent for the session opening it.
    recent: RecentRange = RecentRange(0, 0)


@dataclass(frozen=True)
class MessageInfo:
    uid: int
    modseq: int
    flags: frozenset[str]
    internal_date: datetime | None  # None when not asked for (store.fetch_messages dates=False)
    size: int
    blob: str
    envelope: dict | None = None
    structure: dict | None = None
    header_bytes: int = 0
    data: bytes | None = None
    preview: str | None = None


@dataclass(frozen=True)
class FlagChange:
    uid: int
    flags: frozenset[str]
    modseq: int


@dataclass(frozen=True)
class StoreFlagsResult:
    changed: list[FlagChange]
    modseq: int
    # UIDs refused by UNCHANGEDSINCE (RFC 7162 3.1.3)
    conflicts: list[int] = field(default_factory=list)


@dataclass(frozen=True)
class AppendResult:
    folder_id: int
    uidvalidity: int
    uid: int


@dataclass(frozen=True)
class ExpungeResult:
    uids: list[int]  # ascending
    #: the modseq the expunge was given (0 when nothing went), as its event carries it
    modseq: int


@dataclass(frozen=True)
class CopyResult:
    uidvalidity: int
    source_uids: list[int]
    dest_uids: list[int]


@dataclass(frozen=True)
class Changes:
    highestmodseq: int
    uidnext: int
    updated: list[FlagChange]  # new or changed messages with modseq above the asked one
    expunged: list[int]
    # The folder's \\Recent mark in the same snapshot (store.claim_recent's `seen`).
    recent_uid: int = 0
    # The folder's keywords (Folder.keywords) in the same snapshot.
    keywords: tuple[str, ...] = ()


@dataclass(frozen=True)
class Placement:
    """Where one recipient's copy of a delivered message goes, and the flags it
    starts with (store.deliver's `place`; mailboxes/store/placement.py).

    special_use (e.g. "\\Junk", RFC 6154) picks the account's folder with that
    use, created under its usual name if missing; otherwise `folder` names the
    folder (Sieve's fileinto, RFC 5228 4.1), created with its parents if
    missing. flags: system flags and keywords (Sieve's addflag, RFC 5232)."""

    folder: str = "INBOX"
    special_use: str = ""
    flags: frozenset[str] = frozenset()


@dataclass(frozen=True)
class EnvelopeParameters:
    """What the sender's MAIL and RCPT parameters ask of the relay, kept in
    the outbound queue: delivery status notifications (RFC 3461: RET (FULL,
    HDRS or ""), ENVID, and per recipient address (lower-cased) NOTIFY (""
    = not given, NEVER, or a comma list of SUCCESS, FAILURE, DELAY) and
    ORCPT ("addr-type;address")), REQUIRETLS (RFC 8689) and BODY=BINARYMIME
    (RFC 3030)."""

    ret: str = ""
    envid: str = ""
    notify: dict[str, str] = field(default_factory=dict)
    orcpt: dict[str, str] = field(default_factory=dict)
    require_tls: bool = False
    binarymime: bool = False


@dataclass(frozen=True)
class DeliveryReport:
    blob: str
    delivered: dict[int, int]  # account id -> uid in the folder its copy was placed in
    queued: tuple[str, ...]  # remote addresses put on the outbound queue


@dataclass(frozen=True)
class QuotaUsage:
    used: int
    limit: int  # 0 = unlimited


@dataclass(frozen=True)
class PopMessage:
    uid: int
    size: int  # octets of the message as POP sends it (CRLF lines, before dot-stuffing)
    uidl: str  # unique and stable for the life of the message (RFC 1939 7, UIDL)


@dataclass(frozen=True)
class Maildrop:
    """A POP session's snapshot of one folder, in UID order."""

    folder_id: int
    name: str
    uidvalidity: int
    messages: list[PopMessage]
