"""Typed IMAP commands: one frozen dataclass per command (or command family).

Every command carries its ``tag`` (bytes, as sent) and a class-level
``name``. UID variants are the same class with ``uid=True``; EXAMINE is
:class:`Select` with ``readonly=True``. Mailbox names are ``str`` decoded
from modified UTF-7, with INBOX in upper case.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import ClassVar, Literal, TypeAlias

from .fetch import FetchAttribute
from .search import SearchKey
from .sequence import SequenceArg, SequenceSet

__all__ = [
    "Notify",
    "NotifyGroup",
    "GetMetadata",
    "SetMetadata",
    "GenUrlAuth",
    "ResetKey",
    "UrlFetch",
    "Append",
    "Authenticate",
    "CancelUpdate",
    "Capability",
    "Check",
    "Close",
    "Command",
    "Copy",
    "Create",
    "Delete",
    "Enable",
    "Expunge",
    "Fetch",
    "GetQuota",
    "GetQuotaRoot",
    "Id",
    "Idle",
    "List",
    "ListReturn",
    "Login",
    "Logout",
    "Lsub",
    "Move",
    "Namespace",
    "Noop",
    "QResync",
    "Rename",
    "Search",
    "Select",
    "SetQuota",
    "SortKey",
    "Sort",
    "StartTLS",
    "Thread",
    "Status",
    "Store",
    "Subscribe",
    "Unselect",
    "Unsubscribe",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    """Base of every command."""

    name: ClassVar[str] = ""
    tag: bytes


# -- any state (RFC 3501 6.1) ---------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Capability(Command):
    name: ClassVar[str] = "CAPABILITY"


@dataclass(frozen=True, slots=True, kw_only=True)
class Noop(Command):
    name: ClassVar[str] = "NOOP"


@dataclass(frozen=True, slots=True, kw_only=True)
class Logout(Command):
    name: ClassVar[str] = "LOGOUT"


@dataclass(frozen=True, slots=True, kw_only=True)
class Id(Command):
    """RFC 2971. ``params`` is None for ``ID NIL``; values may be None."""

    name: ClassVar[str] = "ID"
    params: tuple[tuple[str, str | None], ...] | None


@dataclass(frozen=True, slots=True, kw_only=True)
class Enable(Command):
    """RFC 5161. Capability names upper-cased."""

    name: ClassVar[str] = "ENABLE"
    capabilities: tuple[str, ...]


# -- not authenticated (RFC 3501 6.2) ---------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class StartTLS(Command):
    name: ClassVar[str] = "STARTTLS"


@dataclass(frozen=True, slots=True, kw_only=True)
class GenUrlAuth(Command):
    """``GENURLAUTH url mechanism ...`` (RFC 4467 6.1): (rump URL, mechanism) pairs."""

    name: ClassVar[str] = "GENURLAUTH"
    urls: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class UrlFetch(Command):
    """``URLFETCH url ...`` (RFC 4467 6.3); with URLAUTH=BINARY (RFC 5524 3)
    ``(url option ...)``: each URL with its options, upper-cased, among
    ``BODYPARTSTRUCTURE``, ``BINARY``, ``BODY`` (none: the plain form)."""

    name: ClassVar[str] = "URLFETCH"
    urls: tuple[str, ...]
    options: tuple[frozenset[str] | None, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class NotifyGroup:
    """One RFC 5465 event group: which mailboxes (``SELECTED``,
    ``SELECTED-DELAYED``, ``INBOXES``, ``PERSONAL``, ``SUBSCRIBED``,
    ``SUBTREE`` or ``MAILBOXES`` with ``mailboxes``) and which events, upper-cased
    (none: ``NONE``); ``fetch``: MessageNew's fetch attributes."""

    filter: str
    mailboxes: tuple[str, ...] = ()
    events: frozenset[str] = frozenset()
    fetch: tuple[FetchAttribute, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Notify(Command):
    """``NOTIFY NONE`` (``groups=None``) or ``NOTIFY SET [STATUS] group ...`` (RFC 5465 3)."""

    name: ClassVar[str] = "NOTIFY"
    groups: tuple[NotifyGroup, ...] | None = None
    status: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ResetKey(Command):
    """``RESETKEY [mailbox *mechanism]`` (RFC 4467 6.2); no mailbox: all of them."""

    name: ClassVar[str] = "RESETKEY"
    mailbox: str | None = None
    mechanisms: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class GetMetadata(Command):
    """``GETMETADATA [(MAXSIZE n DEPTH d)] mailbox entries`` (RFC 5464 4.2);
    ``mailbox`` "" is the server; entry names lower-cased."""

    name: ClassVar[str] = "GETMETADATA"
    mailbox: str
    entries: tuple[str, ...]
    maxsize: int | None = None
    depth: Literal[0, 1, "infinity"] = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class SetMetadata(Command):
    """``SETMETADATA mailbox (entry value ...)`` (RFC 5464 4.3); a value NIL removes."""

    name: ClassVar[str] = "SETMETADATA"
    mailbox: str
    items: tuple[tuple[str, bytes | None], ...] = field(repr=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Compress(Command):
    """``COMPRESS mechanism`` (RFC 4978 3), the mechanism upper-cased."""

    name: ClassVar[str] = "COMPRESS"
    mechanism: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Authenticate(Command):
    """``mechanism`` upper-cased; ``initial_response`` is the decoded SASL-IR
    (RFC 4959: ``=`` is the empty response), None when absent."""

    name: ClassVar[str] = "AUTHENTICATE"
    mechanism: str
    initial_response: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Login(Command):
    name: ClassVar[str] = "LOGIN"
    username: str
    password: str = field(repr=False)


# -- authenticated (RFC 3501 6.3) -------------------------------------------


@dataclass(frozen=True, slots=True)
class QResync:
    """``QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]])`` (RFC 7162 3.2.5)."""

    uidvalidity: int
    modseq: int
    known_uids: SequenceSet | None = None
    seq_match: tuple[SequenceSet, SequenceSet] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Select(Command):
    """SELECT, or EXAMINE with ``readonly=True``; CONDSTORE/QRESYNC params (RFC 7162)."""

    name: ClassVar[str] = "SELECT"
    mailbox: str
    readonly: bool = False
    condstore: bool = False
    qresync: QResync | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Create(Command):
    """``special_use``: the RFC 6154 ``USE (...)`` attributes, canonical case."""

    name: ClassVar[str] = "CREATE"
    mailbox: str
    special_use: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Delete(Command):
    name: ClassVar[str] = "DELETE"
    mailbox: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Rename(Command):
    name: ClassVar[str] = "RENAME"
    mailbox: str
    new_name: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Subscribe(Command):
    name: ClassVar[str] = "SUBSCRIBE"
    mailbox: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Unsubscribe(Command):
    name: ClassVar[str] = "UNSUBSCRIBE"
    mailbox: str


@dataclass(frozen=True, slots=True)
class ListReturn:
    """RFC 5258 return options; ``status`` holds RFC 5819 STATUS items."""

    children: bool = False
    subscribed: bool = False
    special_use: bool = False
    status: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class List(Command):
    """LIST, basic or extended (RFC 5258).

    ``selection`` holds upper-cased selection options (SUBSCRIBED, REMOTE,
    RECURSIVEMATCH, SPECIAL-USE). ``extended`` is true when the client used
    any extended syntax (options or a pattern list); the reply then follows
    RFC 5258 rules. Patterns are decoded but otherwise as sent: ``""`` asks
    for the hierarchy delimiter (RFC 3501 6.3.8), and matching INBOX
    case-insensitively is the matcher's job.
    """

    name: ClassVar[str] = "LIST"
    reference: str
    patterns: tuple[str, ...]
    selection: frozenset[str] = frozenset()
    returns: ListReturn = ListReturn()
    extended: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Lsub(Command):
    name: ClassVar[str] = "LSUB"
    reference: str
    pattern: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Status(Command):
    """Items upper-cased: MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN,
    HIGHESTMODSEQ (RFC 7162), SIZE (RFC 8438), DELETED (RFC 9208),
    MAILBOXID (RFC 8474)."""

    name: ClassVar[str] = "STATUS"
    mailbox: str
    items: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Append(Command):
    """APPEND; ``internal_date`` is timezone-aware. ``more``: the further
    messages of a MULTIAPPEND (RFC 3502), appended with the first or not at all."""

    name: ClassVar[str] = "APPEND"
    mailbox: str
    flags: tuple[str, ...] = ()
    internal_date: datetime | None = None
    message: bytes = field(repr=False)
    more: tuple[AppendMessage, ...] = ()
    #: CATENATE (RFC 4469): the parts the message is made of, ``message`` then
    #: empty: bytes for ``TEXT literal``, str for ``URL astring`` (not yet checked).
    catenate: tuple[bytes | str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AppendMessage:
    """One further message of a MULTIAPPEND."""

    flags: tuple[str, ...] = ()
    internal_date: datetime | None = None
    message: bytes = field(repr=False)
    catenate: tuple[bytes | str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class Namespace(Command):
    name: ClassVar[str] = "NAMESPACE"


@dataclass(frozen=True, slots=True, kw_only=True)
class Idle(Command):
    """RFC 2177; the connection then waits for ``DONE`` (see ``is_idle_done``)."""

    name: ClassVar[str] = "IDLE"


@dataclass(frozen=True, slots=True, kw_only=True)
class GetQuota(Command):
    name: ClassVar[str] = "GETQUOTA"
    root: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetQuotaRoot(Command):
    name: ClassVar[str] = "GETQUOTAROOT"
    mailbox: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SetQuota(Command):
    """RFC 9208; ``limits`` pairs an upper-cased resource with its limit."""

    name: ClassVar[str] = "SETQUOTA"
    root: str
    limits: tuple[tuple[str, int], ...]


# -- selected (RFC 3501 6.4) -------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class Check(Command):
    name: ClassVar[str] = "CHECK"


@dataclass(frozen=True, slots=True, kw_only=True)
class Close(Command):
    name: ClassVar[str] = "CLOSE"


@dataclass(frozen=True, slots=True, kw_only=True)
class Unselect(Command):
    name: ClassVar[str] = "UNSELECT"


@dataclass(frozen=True, slots=True, kw_only=True)
class Expunge(Command):
    """EXPUNGE, or UID EXPUNGE (RFC 4315 UIDPLUS) when ``uids`` is set."""

    name: ClassVar[str] = "EXPUNGE"
    uids: SequenceArg | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Search(Command):
    """SEARCH / UID SEARCH.

    ``charset`` upper-cased (None when not given; only UTF-8 and US-ASCII
    get this far). ``returns`` is None for a plain SEARCH and the set of
    RFC 4731 ESEARCH options (MIN MAX COUNT ALL, and SAVE of RFC 5182)
    otherwise; ``RETURN ()`` means ``{"ALL"}`` (RFC 4731 section 3.1).
    UPDATE and PARTIAL are RFC 5267's (CONTEXT=SEARCH).
    """

    name: ClassVar[str] = "SEARCH"
    uid: bool = False
    charset: str | None = None
    criteria: SearchKey
    returns: frozenset[str] | None = None
    #: RFC 5267 4.4 PARTIAL's range of result positions, low first
    partial: tuple[int, int] | None = None


SortCriterion: TypeAlias = Literal["ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO"]


@dataclass(frozen=True, slots=True)
class SortKey:
    key: SortCriterion
    reverse: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Sort(Command):
    """SORT / UID SORT (RFC 5256; DISPLAYFROM/DISPLAYTO from RFC 5957).

    ``returns`` is None for a plain SORT and the ESORT result options
    (RFC 5267 3.2: MIN MAX COUNT ALL) otherwise, answered by ESEARCH.
    """

    name: ClassVar[str] = "SORT"
    uid: bool = False
    keys: tuple[SortKey, ...]
    charset: str
    criteria: SearchKey
    returns: frozenset[str] | None = None
    partial: tuple[int, int] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CancelUpdate(Command):
    """CANCELUPDATE (RFC 5267 4.2): the tags of the contexts to end."""

    name: ClassVar[str] = "CANCELUPDATE"
    tags: tuple[bytes, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Thread(Command):
    """THREAD / UID THREAD (RFC 5256): ``algorithm`` upper-cased."""

    name: ClassVar[str] = "THREAD"
    uid: bool = False
    algorithm: Literal["REFERENCES", "ORDEREDSUBJECT"]
    charset: str
    criteria: SearchKey


@dataclass(frozen=True, slots=True, kw_only=True)
class Fetch(Command):
    """FETCH / UID FETCH.

    ``attributes``: macros expanded, duplicates dropped, in request order;
    UID FETCH gets UID added (RFC 3501 6.4.8) and CHANGEDSINCE gets MODSEQ
    added (RFC 7162 3.1.4.1), since the response must carry them.
    ``vanished`` is the QRESYNC VANISHED modifier (RFC 7162 3.2.6).
    """

    name: ClassVar[str] = "FETCH"
    uid: bool = False
    sequence_set: SequenceArg
    attributes: tuple[FetchAttribute, ...]
    changedsince: int | None = None
    vanished: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Store(Command):
    """STORE / UID STORE: ``mode`` "replace" (FLAGS), "add" (+FLAGS), "remove" (-FLAGS)."""

    name: ClassVar[str] = "STORE"
    uid: bool = False
    sequence_set: SequenceArg
    mode: Literal["replace", "add", "remove"]
    silent: bool = False
    flags: tuple[str, ...]
    unchangedsince: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class Copy(Command):
    name: ClassVar[str] = "COPY"
    uid: bool = False
    sequence_set: SequenceArg
    mailbox: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Move(Command):
    """MOVE / UID MOVE (RFC 6851)."""

    name: ClassVar[str] = "MOVE"
    uid: bool = False
    sequence_set: SequenceArg
    mailbox: str
