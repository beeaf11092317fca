"""LIST and LSUB answers from an account's folder list. Pure.

* Names use ``/`` as the hierarchy separator; INBOX matches
  case-insensitively (RFC 3501 5.1). The reference is prefixed to the
  pattern as written (RFC 3501 6.3.8 leaves the canonical form to the
  server); ``*`` matches anything, ``%`` anything but ``/``, in linear
  time (:mod:`.wildcard`; a pattern past its length limit raises
  :class:`.wildcard.PatternTooLong`).
* A level that has children but no folder of its own is listed as
  ``\\Noselect`` (plus ``\\NonExistent`` in an extended LIST, RFC 5258 3.4).
* Attributes: ``\\HasChildren``/``\\HasNoChildren`` always (CHILDREN,
  RFC 3348), special use always (RFC 6154 allows it without being asked),
  ``\\Subscribed`` when asked (RFC 5258).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from .wildcard import Pattern

__all__ = ["FolderLike", "ListEntry", "list_entries", "lsub_entries", "compile_pattern"]

SEP = "/"


class FolderLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def special_use(self) -> str: ...
    @property
    def subscribed(self) -> bool: ...


@dataclass
class ListEntry:
    name: str
    attributes: list[str] = field(default_factory=list)
    #: RFC 5258 CHILDINFO extended data ("SUBSCRIBED" with RECURSIVEMATCH).
    childinfo: bool = False
    selectable: bool = True


def _canonical_inbox(pattern: str) -> str:
    if pattern[:5].upper() == "INBOX" and (len(pattern) == 5 or pattern[5] == SEP):
        return "INBOX" + pattern[5:]
    return pattern


def compile_pattern(reference: str, pattern: str) -> Pattern:
    """The names ``reference`` + ``pattern`` matches (RFC 3501 6.3.8)."""
    return Pattern(_canonical_inbox(reference + pattern))


def _ancestors(name: str) -> Iterable[str]:
    parts = name.split(SEP)
    for depth in range(1, len(parts)):
        yield SEP.join(parts[:depth])


def _sort_key(name: str) -> tuple[bool, str]:
    return (name != "INBOX", name)


def list_entries(
    folders: Sequence[FolderLike],
    reference: str,
    patterns: Sequence[str],
    *,
    selection: frozenset[str] = frozenset(),
    return_subscribed: bool = False,
    extended: bool = False,
    lost: Collection[str] = (),
) -> list[ListEntry]:
    """The LIST response entries, in name order with INBOX first. ``lost``:
    names subscribed whose folder is gone, listed by ``LIST (SUBSCRIBED)``
    as ``\\NonExistent`` (RFC 3501 6.3.6, RFC 5258 3.1)."""
    by_name = {f.name: f for f in folders}
    parents = {a for name in by_name for a in _ancestors(name)}
    lost = set(lost) - set(by_name)
    compiled = [compile_pattern(reference, p) for p in patterns]
    subscribed_only = "SUBSCRIBED" in selection
    special_only = "SPECIAL-USE" in selection
    recursive = "RECURSIVEMATCH" in selection
    subscribed = {f.name for f in folders if f.subscribed} | lost
    # RFC 5258 4 (RECURSIVEMATCH): CHILDINFO tells of subscribed descendants
    # the patterns do not list themselves.
    subscribed_parents = {
        a for name in subscribed if not any(p.matches(name) for p in compiled) for a in _ancestors(name)
    }
    entries = []
    for name in sorted(set(by_name) | parents | (lost if subscribed_only else set()), key=_sort_key):
        if not any(p.matches(name) for p in compiled):
            continue
        folder = by_name.get(name)
        childinfo = False
        if subscribed_only and name not in subscribed:
            if not (recursive and name in subscribed_parents):
                continue
            childinfo = True
        if special_only and (folder is None or not folder.special_use):
            continue
        attrs: list[str] = []
        if folder is None and name in lost and name not in parents:
            attrs.append("\\NonExistent")  # subscribed, deleted since (RFC 5258 3.4, 5.1)
        elif folder is None:
            attrs += ["\\NonExistent", "\\Noselect"] if extended else ["\\Noselect"]
        attrs.append("\\HasChildren" if name in parents else "\\HasNoChildren")
        if folder is not None and folder.special_use:
            attrs.append(folder.special_use)
        if name in subscribed and (subscribed_only or return_subscribed):
            attrs.append("\\Subscribed")
        entries.append(ListEntry(name, attrs, childinfo, folder is not None))
    return entries


def lsub_entries(
    folders: Sequence[FolderLike], reference: str, pattern: str, lost: Collection[str] = ()
) -> list[ListEntry]:
    """LSUB (RFC 3501 6.3.9): subscribed names; a ``%`` that stops at an
    unsubscribed parent of subscribed folders lists it as ``\\Noselect``, as
    is a subscribed name whose folder is gone (``lost``)."""
    existing = {f.name for f in folders}
    subscribed = {f.name for f in folders if f.subscribed} | set(lost)
    compiled = compile_pattern(reference, pattern)
    implied = {a for name in subscribed for a in _ancestors(name)} - subscribed
    entries = []
    for name in sorted(subscribed | implied, key=_sort_key):
        if not compiled.matches(name):
            continue
        if name in implied:
            if not pattern.endswith("%"):
                continue
            entries.append(ListEntry(name, ["\\Noselect"], selectable=False))
        elif name not in existing:
            entries.append(ListEntry(name, ["\\Noselect"], selectable=False))
        else:
            entries.append(ListEntry(name, []))
    return entries
