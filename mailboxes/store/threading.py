"""Conversation threads (RFC 5256 THREAD): pure algorithms on typed rows.

:func:`thread` takes one :class:`ThreadRow` per message (its Message-ID,
References, In-Reply-To, subject and sent date, as
:func:`mailboxes.store.thread_rows` reads them for a folder in one query)
and returns the threads as trees of :class:`ThreadNode`. IMAP's THREAD
command and the webmail's conversation view call the same function.

* ``REFERENCES`` (RFC 5256 section 3, after Jamie Zawinski's algorithm):
  parent/child links from References (else the first In-Reply-To id),
  message-less containers pruned, roots gathered by base subject, siblings
  ordered by sent date.
* ``ORDEREDSUBJECT``: messages grouped by base subject; in each group the
  earliest is the root and the others its children, in date order.

Dates are the sent date, or the internal date where there is none (the
store fills :attr:`ThreadRow.date` so); ties keep UID order, which is also
sequence order.

:func:`base_subject` (RFC 5256 2.1) lives here too: SORT (SUBJECT) and
both threading algorithms use this one implementation.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, Literal

__all__ = ["Algorithm", "ThreadNode", "ThreadRow", "base_subject", "casemap", "message_ids", "subject_base", "thread"]

Algorithm = Literal["REFERENCES", "ORDEREDSUBJECT"]

# subj-leader = (*subj-blob subj-refwd) / WSP; subj-refwd = ("re" / ("fw" ["d"])) *WSP [subj-blob] ":"
_LEADER: Final = re.compile(r"(?:\[[^\[\]]*\]\s*)*(?:re|fwd?)\s*(?:\[[^\[\]]*\]\s*)?:|\s+", re.IGNORECASE)
_BLOB: Final = re.compile(r"\[[^\[\]]*\]\s*")
_MSG_ID: Final = re.compile(r"<([^<>\s]+)>")
_ASCII_UPPER: Final = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")


@dataclass(frozen=True, slots=True)
class ThreadRow:
    """One message as threading sees it."""

    uid: int
    #: the Message-ID's id (without angle brackets), "" when it has none
    message_id: str
    #: References' ids, oldest first, else In-Reply-To's first id (RFC 5256 3 (1)(A))
    references: tuple[str, ...]
    #: the decoded Subject
    subject: str
    #: the sent date, else the internal date (RFC 5256 2.2)
    date: datetime


@dataclass(frozen=True, slots=True)
class ThreadNode:
    """A message (``uid``) or, where ``uid`` is None, a missing parent that
    holds its replies together; ``children`` in date order."""

    uid: int | None
    children: tuple[ThreadNode, ...] = ()

    def uids(self) -> list[int]:
        """Every message of this subtree, depth first."""
        out: list[int] = []
        stack: list[ThreadNode] = [self]
        while stack:  # no recursion: a thread may be thousands of replies deep
            node = stack.pop()
            if node.uid is not None:
                out.append(node.uid)
            stack.extend(reversed(node.children))
        return out


def message_ids(value: str) -> list[str]:
    """The ``<id>`` message ids in a header value, in order, without brackets."""
    return _MSG_ID.findall(value or "")


def subject_base(subject: str) -> tuple[str, bool]:
    """RFC 5256 2.1 steps 1-6 on an already decoded subject, and whether a
    reply or forward marker ("Re:", "Fwd:", "(fwd)", "[fwd: ...]") was removed."""
    text = " ".join(subject.split())
    reply = False
    while True:
        # (2) trailing "(fwd)" and white space
        while True:
            stripped = text.rstrip()
            if stripped.lower().endswith("(fwd)"):
                text = stripped[:-5]
                reply = True
                continue
            text = stripped
            break
        # (3)-(5) leading "Re:", "Fwd:", "[blob]" and white space
        while True:
            leader = _LEADER.match(text)
            if leader is not None and leader.end() > 0:
                reply = reply or leader.group().endswith(":")
                text = text[leader.end() :]
                continue
            blob = _BLOB.match(text)
            if blob is not None and text[blob.end() :].strip():
                text = text[blob.end() :]
                continue
            break
        # (6) "[fwd: ...]"
        if text.lower().startswith("[fwd:") and text.endswith("]"):
            text = text[5:-1]
            reply = True
            continue
        return text, reply


def base_subject(subject: str) -> str:
    """RFC 5256 2.1 steps 1-6 on an already decoded subject."""
    return subject_base(subject)[0]


def casemap(text: str) -> str:
    """i;ascii-casemap (RFC 4790 9.2): only ASCII letters fold, to upper
    case, so "[" and "_" sort after the letters. Base subjects are compared
    so, in SORT and in threading alike."""
    return text.translate(_ASCII_UPPER)


def _subject_key(subject: str) -> tuple[str, bool]:
    base, reply = subject_base(subject)
    return casemap(base), reply


def thread(rows: Iterable[ThreadRow], algorithm: Algorithm) -> list[ThreadNode]:
    """The threads of ``rows`` (any order), oldest thread first."""
    ordered = sorted(rows, key=lambda r: r.uid)
    if algorithm == "ORDEREDSUBJECT":
        return _ordered_subject(ordered)
    if algorithm == "REFERENCES":
        return _references(ordered)
    raise ValueError(f"unknown threading algorithm {algorithm!r}")


def _key(row: ThreadRow) -> tuple[datetime, int]:
    when = row.date if row.date.tzinfo is not None else row.date.replace(tzinfo=UTC)
    return when, row.uid


# -- ORDEREDSUBJECT (RFC 5256 section 3) ----------------------------------


def _ordered_subject(rows: Sequence[ThreadRow]) -> list[ThreadNode]:
    groups: dict[str, list[ThreadRow]] = {}
    for row in sorted(rows, key=lambda r: (_subject_key(r.subject)[0], *_key(r))):
        groups.setdefault(_subject_key(row.subject)[0], []).append(row)
    threads = [
        (_key(group[0]), ThreadNode(group[0].uid, tuple(ThreadNode(r.uid) for r in group[1:])))
        for group in groups.values()
    ]
    return [node for _, node in sorted(threads, key=lambda t: t[0])]


# -- REFERENCES (RFC 5256 section 3) --------------------------------------


@dataclass(eq=False, slots=True)
class _Box:
    """A container: a message or a placeholder for a referenced id."""

    row: ThreadRow | None = None
    parent: _Box | None = None
    children: list[_Box] = field(default_factory=list)

    def is_ancestor_of(self, other: _Box) -> bool:
        if not self.children:
            return other is self  # the usual case, and no walk up a long chain
        box: _Box | None = other
        while box is not None:
            if box is self:
                return True
            box = box.parent
        return False

    def adopt(self, child: _Box) -> None:
        if child.parent is not None:
            child.parent.children.remove(child)
        child.parent = self
        self.children.append(child)


def _link(rows: Sequence[ThreadRow]) -> list[_Box]:
    """Step (1): containers linked by References; returns the root set (2)."""
    by_id: dict[str, _Box] = {}
    boxes: list[_Box] = []
    for row in rows:
        # (A) A Message-ID seen on an earlier message names that one; this
        # message is then as if it had none (RFC 5256 3 (1)(A)).
        box = by_id.get(row.message_id) if row.message_id else None
        if box is None or box.row is not None:
            box = _Box()
            if row.message_id and row.message_id not in by_id:
                by_id[row.message_id] = box
        box.row = row
        boxes.append(box)
        refs = [by_id.setdefault(ref, _Box()) for ref in row.references]
        for parent, child in zip(refs, refs[1:], strict=False):
            # Existing links stay; no link that makes a loop.
            if child.parent is None and parent is not child and not child.is_ancestor_of(parent):
                parent.adopt(child)
        # (B) the message's parent is its last reference, replacing any link.
        last = refs[-1] if refs else None
        if last is not None and (last is box or box.is_ancestor_of(last)):
            last = None
        if last is None:
            if box.parent is not None:
                box.parent.children.remove(box)
                box.parent = None
        elif box.parent is not last:
            last.adopt(box)
    seen: set[int] = set()
    roots: list[_Box] = []
    for box in [*boxes, *by_id.values()]:
        if box.parent is None and id(box) not in seen:
            seen.add(id(box))
            roots.append(box)
    return roots


def _below(roots: list[_Box]) -> list[_Box]:
    """Every container under ``roots``, parents before their children.
    Threads may be thousands of replies deep, so nothing here recurses."""
    order: list[_Box] = []
    stack = list(roots)
    while stack:
        box = stack.pop()
        order.append(box)
        stack.extend(box.children)
    return order


def _prune(roots: list[_Box]) -> list[_Box]:
    """Step (3): drop empty containers, promote the children of others
    (to the root set only when there is just one)."""
    for box in reversed(_below(roots)):  # children first
        kept: list[_Box] = []
        for child in box.children:
            if child.row is not None:
                kept.append(child)
            else:
                kept.extend(child.children)  # already pruned; none if it had none
        for child in kept:
            child.parent = box
        box.children = kept
    out: list[_Box] = []
    for box in roots:
        if box.row is not None or len(box.children) > 1:
            out.append(box)
        elif box.children:
            box.children[0].parent = None
            out.append(box.children[0])
    return out


def _sort(boxes: list[_Box]) -> None:
    """Siblings by the sent date of their message, or of their first child."""
    for box in reversed(_below(boxes)):  # a placeholder's first child is known first
        box.children.sort(key=_box_key)
    boxes.sort(key=_box_key)


def _box_key(box: _Box) -> tuple[datetime, int]:
    while box.row is None:
        box = box.children[0]
    return _key(box.row)


def _subject_of(box: _Box) -> tuple[str, bool]:
    row = box.row if box.row is not None else box.children[0].row
    return _subject_key(row.subject) if row is not None else ("", False)


def _gather(roots: list[_Box]) -> list[_Box]:
    """Step (5): root threads with the same base subject come together."""
    table: dict[str, _Box] = {}
    for box in roots:
        subject, reply = _subject_of(box)
        if not subject:
            continue
        old = table.get(subject)
        if (
            old is None
            or (box.row is None and old.row is not None)
            or (old.row is not None and box.row is not None and _subject_of(old)[1] and not reply)
        ):
            table[subject] = box
    out: list[_Box] = []
    at: dict[int, int] = {}  # id of a box in out -> its index there
    holders: dict[int, _Box] = {}  # id of a root not reached yet -> the placeholder now holding it
    for box in roots:
        box = holders.get(id(box), box)
        subject, reply = _subject_of(box)
        old = table.get(subject) if subject else None
        if old is None or old is box:
            at[id(box)] = len(out)
            out.append(box)
            continue
        if old.row is None and box.row is None:
            for child in list(box.children):
                old.adopt(child)
        elif old.row is None:
            old.adopt(box)
        elif box.row is not None and reply and not _subject_of(old)[1]:
            old.adopt(box)
        else:
            # Neither is a reply of the other: both go under a new placeholder.
            holder = _Box()
            holder.adopt(old)
            holder.adopt(box)
            table[subject] = holder
            if id(old) in at:
                out[at[id(old)]] = holder
                at[id(holder)] = at[id(old)]
            else:
                holders[id(old)] = holder
    return out


def _nodes(roots: list[_Box]) -> list[ThreadNode]:
    built: dict[int, ThreadNode] = {}
    for box in reversed(_below(roots)):  # children first
        built[id(box)] = ThreadNode(
            box.row.uid if box.row is not None else None, tuple(built[id(c)] for c in box.children)
        )
    return [built[id(box)] for box in roots]


def _references(rows: Sequence[ThreadRow]) -> list[ThreadNode]:
    roots = _prune(_link(rows))
    _sort(roots)  # (4)
    roots = _gather(roots)
    _sort(roots)  # (6)
    return _nodes(roots)
