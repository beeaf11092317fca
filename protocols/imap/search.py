"""SEARCH keys (RFC 3501 section 6.4.4, RFC 7162 MODSEQ) as a small tree.

The parser reduces the RFC's 40-odd keys to a handful of node types, so an
evaluator has few cases:

* ``ANSWERED``/``UNANSWERED``/... and ``KEYWORD``/``UNKEYWORD`` become
  :class:`Flag`; ``NEW`` is ``And(Flag(\\Recent), Flag(\\Seen, False))``
  and ``OLD`` is ``Flag(\\Recent, False)`` (RFC 3501 6.4.4 defines them so).
* ``BCC``/``CC``/``FROM``/``SUBJECT``/``TO``/``HEADER`` become
  :class:`Header` with a lower-case field name.
* ``BEFORE``/``ON``/``SINCE`` and their ``SENT`` forms become :class:`Date`;
  so do the ``SAVED`` forms (RFC 8514), as internal-date keys, and
  ``SAVEDATESUPPORTED`` is ``NOT ALL``: no mailbox keeps save dates.
* A list of keys, top level or parenthesised, is :class:`And`.

String arguments are decoded as UTF-8 (US-ASCII is a subset); any other
charset is refused before the keys are read (:class:`BadCharset`).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

from .grammar import Reader
from .sequence import SequenceArg

__all__ = [
    "All",
    "And",
    "Body",
    "Date",
    "Flag",
    "Header",
    "ModSeq",
    "Not",
    "ObjectId",
    "Or",
    "SearchKey",
    "Sequence",
    "Size",
    "Text",
    "MAX_DEPTH",
    "parse_search_keys",
]

#: Nesting limit for parentheses, NOT and OR, so a hostile line cannot
#: exhaust the interpreter's stack.
MAX_DEPTH: Final = 64
_OBJECTID: Final = re.compile(r"[A-Za-z0-9_-]{1,255}")


@dataclass(frozen=True, slots=True)
class All:
    """``ALL``: every message."""


@dataclass(frozen=True, slots=True)
class Flag:
    """Messages with (``present``) or without the flag or keyword."""

    flag: str
    present: bool = True


@dataclass(frozen=True, slots=True)
class Header:
    """Header ``field`` (lower case) contains ``value``, case-insensitively.

    RFC 3501 6.4.4: ``HEADER field ""`` matches every message that has the
    field at all.
    """

    field: str
    value: str


@dataclass(frozen=True, slots=True)
class Body:
    """``BODY``: the body (not the header) contains ``value``."""

    value: str


@dataclass(frozen=True, slots=True)
class Text:
    """``TEXT``: header or body contains ``value``."""

    value: str


@dataclass(frozen=True, slots=True)
class Date:
    """Date comparisons; dates have no time and no zone (RFC 3501 6.4.4).

    ``sent=False`` compares the internal date, ``sent=True`` the Date:
    header. ``op`` "before" is strictly earlier, "since" on or later.
    """

    op: Literal["before", "on", "since"]
    date: dt.date
    sent: bool = False


@dataclass(frozen=True, slots=True)
class Size:
    """``LARGER n`` (``op="larger"``: size > n) or ``SMALLER n`` (size < n)."""

    op: Literal["larger", "smaller"]
    size: int


@dataclass(frozen=True, slots=True)
class Sequence:
    """A sequence set of message numbers, or of UIDs with ``UID set``; or
    ``$``, the saved result, whichever (RFC 5182 2.1)."""

    set: SequenceArg
    uid: bool = False


@dataclass(frozen=True, slots=True)
class ModSeq:
    """``MODSEQ [entry type] n`` (RFC 7162 3.1.5): modseq >= n.

    ``entry`` is the flag of the ``"/flags/..."`` entry name and
    ``entry_type`` one of priv/shared/all, both None when not given.
    """

    modseq: int
    entry: str | None = None
    entry_type: str | None = None


@dataclass(frozen=True, slots=True)
class ObjectId:
    """``EMAILID x`` or ``THREADID x`` (RFC 8474 6): exact, case-sensitive."""

    kind: Literal["EMAILID", "THREADID"]
    value: str


@dataclass(frozen=True, slots=True)
class Not:
    key: SearchKey


@dataclass(frozen=True, slots=True)
class Or:
    left: SearchKey
    right: SearchKey


@dataclass(frozen=True, slots=True)
class And:
    keys: tuple[SearchKey, ...]


SearchKey: TypeAlias = "All | Flag | Header | Body | Text | Date | Size | Sequence | ModSeq | ObjectId | Not | Or | And"

_FLAG_KEYS: Final = {
    "ANSWERED": ("\\Answered", True),
    "DELETED": ("\\Deleted", True),
    "DRAFT": ("\\Draft", True),
    "FLAGGED": ("\\Flagged", True),
    "RECENT": ("\\Recent", True),
    "SEEN": ("\\Seen", True),
    "UNANSWERED": ("\\Answered", False),
    "UNDELETED": ("\\Deleted", False),
    "UNDRAFT": ("\\Draft", False),
    "UNFLAGGED": ("\\Flagged", False),
    "UNSEEN": ("\\Seen", False),
    "OLD": ("\\Recent", False),
}
_HEADER_KEYS: Final = {"BCC": "bcc", "CC": "cc", "FROM": "from", "SUBJECT": "subject", "TO": "to"}
_DATE_KEYS: Final[dict[str, tuple[Literal["before", "on", "since"], bool]]] = {
    "BEFORE": ("before", False),
    "ON": ("on", False),
    "SINCE": ("since", False),
    "SENTBEFORE": ("before", True),
    "SENTON": ("on", True),
    "SENTSINCE": ("since", True),
    # RFC 8514 4.3: without save dates in the mailbox (SAVEDATESUPPORTED
    # matches none), the SAVED* keys compare the internal date instead.
    "SAVEDBEFORE": ("before", False),
    "SAVEDON": ("on", False),
    "SAVEDSINCE": ("since", False),
}


def parse_search_keys(r: Reader) -> SearchKey:
    """``1*(SP search-key)`` after the command (and charset); ends at the line end.

    The caller has consumed the space before the first key. One key is
    returned as is; several become :class:`And`.
    """
    keys = [_key(r, 0)]
    while r.maybe_sp():
        keys.append(_key(r, 0))
    return keys[0] if len(keys) == 1 else And(tuple(keys))


def _string(r: Reader) -> str:
    return r.text_astring("search string")


def _key(r: Reader, depth: int) -> SearchKey:
    if depth > MAX_DEPTH:
        r.fail("Search keys nested too deeply")
    first = r.peek()
    if first == 0x28:  # "("
        keys = r.paren_list(lambda: _key(r, depth + 1), allow_empty=False)
        return keys[0] if len(keys) == 1 else And(tuple(keys))
    if 0x30 <= first <= 0x39 or first in (0x2A, 0x24):  # digit, "*", "$"
        return Sequence(r.sequence_arg())
    word = r.word()
    if word == "ALL":
        return All()
    if word in _FLAG_KEYS:
        flag, present = _FLAG_KEYS[word]
        return Flag(flag, present)
    if word == "NEW":
        return And((Flag("\\Recent"), Flag("\\Seen", False)))
    if word == "SAVEDATESUPPORTED":
        return Not(All())  # RFC 8514 4.3: no mailbox here keeps save dates
    r.sp()
    if word in ("KEYWORD", "UNKEYWORD"):
        return Flag(r.flag(), word == "KEYWORD")
    if word in _HEADER_KEYS:
        return Header(_HEADER_KEYS[word], _string(r))
    if word == "HEADER":
        field = r.astring().decode("ascii", "replace").lower()
        if not field or "\ufffd" in field:
            r.fail("Invalid header field name")
        r.sp()
        return Header(field, _string(r))
    if word == "BODY":
        return Body(_string(r))
    if word == "TEXT":
        return Text(_string(r))
    if word in _DATE_KEYS:
        op, sent = _DATE_KEYS[word]
        return Date(op, r.date(), sent)
    if word == "LARGER":
        return Size("larger", r.number())
    if word == "SMALLER":
        return Size("smaller", r.number())
    if word == "UID":
        return Sequence(r.sequence_arg(), uid=True)
    if word == "NOT":
        return Not(_key(r, depth + 1))
    if word == "OR":
        left = _key(r, depth + 1)
        r.sp()
        return Or(left, _key(r, depth + 1))
    if word == "MODSEQ":
        return _modseq(r)
    if word == "EMAILID":
        return ObjectId("EMAILID", _objectid(r))
    if word == "THREADID":
        return ObjectId("THREADID", _objectid(r))
    r.fail("Unknown search key")


def _objectid(r: Reader) -> str:
    """``objectid = 1*255(ALPHA / DIGIT / "_" / "-")`` (RFC 8474 7)."""
    value = r.atom().decode("ascii", "replace")
    if not _OBJECTID.fullmatch(value):
        r.fail("Invalid object id")
    return value


def _modseq(r: Reader) -> ModSeq:
    # search-modsequence = "MODSEQ" [search-modseq-ext] SP mod-sequence-valzer
    # search-modseq-ext = SP entry-name SP entry-type-req   (RFC 7162 section 7)
    if not r.at(b'"'):
        return ModSeq(r.modseq())
    entry = r.quoted().decode("ascii", "replace")
    if not entry.lower().startswith("/flags/") or len(entry) == 7:
        r.fail("Invalid MODSEQ entry name")
    r.sp()
    entry_type = r.word().lower()
    if entry_type not in ("priv", "shared", "all"):
        r.fail("Invalid MODSEQ entry type")
    r.sp()
    return ModSeq(r.modseq(), entry[7:], entry_type)
