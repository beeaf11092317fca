"""A session's own view of its selected mailbox. Pure (no I/O, no Django).

Message sequence numbers are positions in the view's ascending UID list,
and they change only where RFC 3501 allows:

* New messages are appended and announced with EXISTS whenever a command
  is in progress (RFC 3501 7.3.1).
* A message expunged by someone else stays in the view as a *ghost* until
  an EXPUNGE response may be sent: never while answering FETCH, STORE or
  SEARCH (nor SORT, COPY or MOVE) by sequence number, and never when no
  command is in progress (RFC 3501 5.5, 7.4.1). Ghosts keep their
  sequence numbers; fetching them returns nothing (RFC 2180 4.1.3).
* Flag changes made by others are reported as unsolicited FETCH; the
  session's own changes (tracked by the modseq they were given) are not
  reported twice.
* Once the session has enabled QRESYNC (``vanished``), expunges are
  reported as ``* VANISHED <uids>`` instead of EXPUNGE (RFC 7162 3.2.10),
  under the same rules for when they may be sent.
* ``saved`` is RFC 5182's search result variable ``$``: UID ranges, so
  renumbering cannot change what it names and an expunged message simply
  matches nothing. A new view (SELECT/EXAMINE) starts with it empty, and
  UNSELECT/CLOSE drop the view with it (RFC 5182 2.1).
* ``\\Recent`` (RFC 3501 2.3.2) is the view's own: the UID ranges the
  store let this session claim (or, read-only, see unclaimed) when it was
  told of the messages. It is never stored on a message; every FLAGS the
  session sends adds it, and ``* n RECENT`` is sent whenever the count the
  client was last told changes (RFC 3501 7.3.2).

Every message of the folder with a UID up to the view's highest is in the
view: UIDs are allocated and committed in ascending order under the
folder's row lock, so a UID range up to ``max_uid`` never reaches a message
the client has not been told about.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Final, Protocol

from .contexts import LiveContext, update_line
from .encoder import fetch_response, render_flags, untagged_status
from .fetch_items import flag_order
from .sequence import Saved, SequenceArg, SequenceSet

__all__ = [
    "RECENT",
    "SYSTEM_FLAGS",
    "BadSequence",
    "ChangesLike",
    "MailboxView",
    "RecentLike",
    "missing",
    "vanished_line",
]

SYSTEM_FLAGS: Final = ("\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft")
RECENT: Final = "\\Recent"


class BadSequence(Exception):
    """A message sequence number above the number of messages (RFC 3501 9)."""


class FlagChangeLike(Protocol):
    @property
    def uid(self) -> int: ...
    @property
    def flags(self) -> frozenset[str]: ...
    @property
    def modseq(self) -> int: ...


class RecentLike(Protocol):
    """UIDs ``first <= uid < end`` (``store.RecentRange``)."""

    @property
    def first(self) -> int: ...
    @property
    def end(self) -> int: ...


class ChangesLike(Protocol):
    @property
    def highestmodseq(self) -> int: ...
    @property
    def uidnext(self) -> int: ...
    @property
    def updated(self) -> Sequence[FlagChangeLike]: ...
    @property
    def expunged(self) -> Sequence[int]: ...
    @property
    def keywords(self) -> Sequence[str]: ...


@dataclass
class MailboxView:
    folder_id: int
    name: str
    uidvalidity: int
    uidnext: int
    highestmodseq: int
    readonly: bool
    uids: array  # array("Q"), ascending
    #: Keywords the client has been told about in FLAGS, in that order.
    keywords: list[str] = field(default_factory=list)
    #: QRESYNC is enabled: expunges are reported as VANISHED (RFC 7162 3.2.10).
    vanished: bool = False

    def __post_init__(self) -> None:
        self.ghosts: set[int] = set()
        self.own_modseqs: set[int] = set()
        #: Inclusive UID ranges that are \\Recent in this session, ascending.
        self.recent: list[tuple[int, int]] = []
        self.told_recent = 0
        #: RFC 5182 "$": inclusive UID ranges, ascending.
        self.saved: list[tuple[int, int]] = []
        #: RFC 5267 live SEARCH/SORT contexts, by tag, and the view's state when they last ran.
        self.contexts: dict[bytes, LiveContext] = {}
        self.context_mark: tuple[int, ...] = ()

    @classmethod
    def create(
        cls,
        folder_id: int,
        name: str,
        uidvalidity: int,
        uidnext: int,
        highestmodseq: int,
        uids: Iterable[int],
        *,
        readonly: bool,
        keywords: Iterable[str] = (),
        vanished: bool = False,
    ) -> MailboxView:
        return cls(
            folder_id,
            name,
            uidvalidity,
            uidnext,
            highestmodseq,
            readonly,
            array("Q", uids),
            [k for k in keywords if k not in SYSTEM_FLAGS],
            vanished,
        )

    # -- flags -----------------------------------------------------------------

    def flags_lines(self) -> bytes:
        """``* FLAGS`` and ``* OK [PERMANENTFLAGS]`` (RFC 3501 6.3.1, 7.2.6)."""
        flags = [*SYSTEM_FLAGS, *self.keywords]
        permanent = b"()" if self.readonly else render_flags([*flags, "\\*"])
        return (
            b"* FLAGS "
            + render_flags(flags)
            + b"\r\n"
            + untagged_status("OK", b"PERMANENTFLAGS " + permanent, "Flags permitted")
        )

    def learn_flags(self, flags: Iterable[str]) -> bytes:
        """New FLAGS lines if ``flags`` hold keywords the client has not been
        told about (RFC 3501 7.2.6: FLAGS is sent when the set changes)."""
        new = [f for f in dict.fromkeys(flags) if not f.startswith("\\") and f not in self.keywords]
        if not new:
            return b""
        self.keywords += new
        return self.flags_lines()

    # -- \\Recent ------------------------------------------------------------

    def add_recent(self, claim: RecentLike) -> None:
        """Take in a claim from the store; claims ascend and never overlap."""
        if claim.end <= claim.first:
            return
        if self.recent and self.recent[-1][1] + 1 >= claim.first:
            self.recent[-1] = (self.recent[-1][0], max(self.recent[-1][1], claim.end - 1))
        else:
            self.recent.append((claim.first, claim.end - 1))

    def is_recent(self, uid: int) -> bool:
        index = bisect_right(self.recent, (uid, 1 << 64)) - 1  # the last range starting at or below uid
        return index >= 0 and uid <= self.recent[index][1]

    def with_recent(self, uid: int, flags: frozenset[str]) -> frozenset[str]:
        """A message's flags as this session shows them."""
        return flags | {RECENT} if self.is_recent(uid) else flags

    @property
    def recent_count(self) -> int:
        return sum(bisect_right(self.uids, hi) - bisect_left(self.uids, lo) for lo, hi in self.recent)

    def recent_line(self, *, always: bool = False) -> bytes:
        """``* n RECENT`` if the count changed since the client was told (or ``always``)."""
        count = self.recent_count
        if count == self.told_recent and not always:
            return b""
        self.told_recent = count
        return b"* %d RECENT\r\n" % count

    # -- numbers -----------------------------------------------------------

    @property
    def exists(self) -> int:
        return len(self.uids)

    @property
    def max_uid(self) -> int:
        return self.uids[-1] if self.uids else 0

    def seq_of(self, uid: int) -> int | None:
        """The sequence number of ``uid``, or None if it is not in the view."""
        index = bisect_left(self.uids, uid)
        if index < len(self.uids) and self.uids[index] == uid:
            return index + 1
        return None

    def seqs_of(self, uids: Iterable[int]) -> Iterator[int | None]:
        """:meth:`seq_of` for ascending ``uids`` (a FETCH page), in one walk
        along the view instead of a search per message."""
        index, known = 0, self.uids
        for uid in uids:
            if index < len(known) and known[index] != uid:
                index = bisect_left(known, uid, index)
            if index < len(known) and known[index] == uid:
                index += 1
                yield index
            else:
                yield None

    def uid_ranges_for_seqs(self, seqs: SequenceArg) -> list[tuple[int, int]]:
        """UID ranges holding exactly the messages numbered ``seqs``.

        Raises :class:`BadSequence` for numbers past the last message (and
        for any number in an empty mailbox, ``*`` included). ``$`` is the
        saved messages whatever their numbers now (RFC 5182 2.1), never an error.
        """
        if isinstance(seqs, Saved):
            return list(self.saved)
        ranges = seqs.resolve(self.exists)
        if ranges and (ranges[0][0] < 1 or ranges[-1][1] > self.exists):
            raise BadSequence()
        return [(self.uids[lo - 1], self.uids[hi - 1]) for lo, hi in ranges]

    def uid_ranges_for_uids(self, uids: SequenceArg) -> list[tuple[int, int]]:
        """The client's UID set as ranges clipped to the view (``*`` is the
        highest UID in it, RFC 3501 6.4.8); unknown UIDs are no error."""
        if isinstance(uids, Saved):
            return list(self.saved)
        top = self.max_uid
        return [(lo, min(hi, top)) for lo, hi in uids.resolve(top) if lo <= top]

    def all_uids(self) -> list[tuple[int, int]]:
        return [(self.uids[0], self.uids[-1])] if self.uids else []

    # -- changes -------------------------------------------------------------

    def note_own_change(self, modseq: int, changed: bool) -> None:
        """Remember a modseq this session's own command produced.

        When nobody else changed the folder in between, the view simply
        moves on to it, so the next look at the changes starts after it.
        """
        if not changed:
            return
        if modseq == self.highestmodseq + 1:
            self.highestmodseq = modseq
        else:
            self.own_modseqs.add(modseq)

    def has_taken_in(self, modseq: int) -> bool:
        """Whether the change given ``modseq`` is in the view already: the
        session's own (:meth:`note_own_change`) or brought by a look. An event
        for such a change needs no look (0: an event that names no modseq)."""
        return bool(modseq) and (modseq <= self.highestmodseq or modseq in self.own_modseqs)

    def expunge(self, uids: Iterable[int]) -> bytes:
        """Remove ``uids`` and render their EXPUNGE responses (one VANISHED with QRESYNC).

        Numbers follow RFC 3501 6.4.3's example: ascending, each one
        counted after the removals before it.
        """
        gone = {u for u in uids if self.seq_of(u) is not None}
        if not gone:
            return b""
        seqs = sorted(self.seq_of(u) or 0 for u in gone)
        # RFC 5267 4.3: live contexts lose their expunged members first, by the numbers they have now.
        left = b"".join(
            update_line(context, [u for u in context.uids if u not in gone], lambda uid: self.seq_of(uid) or 0)
            for context in self.contexts.values()
        )
        if self.vanished:
            lines = vanished_line(SequenceSet.from_ints(gone))
        else:
            lines = b"".join(b"* %d EXPUNGE\r\n" % (seq - shift) for shift, seq in enumerate(seqs))
        if len(gone) < 16:
            for seq in reversed(seqs):
                del self.uids[seq - 1]
        else:
            self.uids = array("Q", (u for u in self.uids if u not in gone))
        self.ghosts -= gone
        return left + lines

    def apply(
        self, changes: ChangesLike, *, expunge_ok: bool, condstore: bool, recent: RecentLike | None = None
    ) -> bytes:
        """Take in what changed since ``highestmodseq``; return the untagged
        responses to send now (EXPUNGE only when ``expunge_ok``). ``recent``:
        what the store says is \\Recent for this session among the new messages."""
        last = self.max_uid
        if recent is not None:
            self.add_recent(recent)
        new = sorted(c.uid for c in changes.updated if c.uid > last)
        self.ghosts.update(u for u in changes.expunged if u <= last and self.seq_of(u) is not None)
        out = [self.expunge(list(self.ghosts))] if expunge_ok and self.ghosts else []
        # The folder's keywords (a set that only grows) and any a change shows:
        # FLAGS first, then the FETCHes that may use them (RFC 3501 7.2.6).
        out.append(self.learn_flags([*changes.keywords, *(f for c in changes.updated for f in c.flags)]))
        for change in changes.updated:
            if change.uid > last or change.modseq in self.own_modseqs or change.uid in self.ghosts:
                continue
            seq = self.seq_of(change.uid)
            if seq is not None:
                flags = self.with_recent(change.uid, change.flags)
                out.append(self.flags_response(seq, change.uid, flags, change.modseq if condstore else None))
        if new:
            self.uids.extend(new)
            out.append(b"* %d EXISTS\r\n" % self.exists)
        out.append(self.recent_line())
        top = max((c.modseq for c in changes.updated), default=0)
        self.highestmodseq = max(self.highestmodseq, changes.highestmodseq, top)
        self.uidnext = max(self.uidnext, changes.uidnext, self.max_uid + 1)
        self.own_modseqs = {m for m in self.own_modseqs if m > self.highestmodseq}
        return b"".join(out)

    @staticmethod
    def flags_response(seq: int, uid: int, flags: Iterable[str], modseq: int | None) -> bytes:
        """``* seq FETCH (UID u FLAGS (...) [MODSEQ (m)])`` for a flag change."""
        items = [(b"UID", b"%d" % uid), (b"FLAGS", render_flags(flag_order(flags)))]
        if modseq is not None:
            items.append((b"MODSEQ", b"(%d)" % modseq))
        return fetch_response(seq, items)


def vanished_line(uids: SequenceSet, *, earlier: bool = False) -> bytes:
    """``* VANISHED [(EARLIER)] uid-set`` (RFC 7162 3.2.10); nothing for an empty set."""
    if not uids.ranges:
        return b""
    return b"* VANISHED " + (b"(EARLIER) " if earlier else b"") + uids.to_bytes() + b"\r\n"


def missing(ranges: Iterable[tuple[int, int]], uids: Sequence[int]) -> list[tuple[int, int]]:
    """The parts of the ascending, disjoint inclusive ``ranges`` holding none
    of the ascending ``uids``: the gaps, without listing every number."""
    out: list[tuple[int, int]] = []
    for lo, hi in ranges:
        index = bisect_left(uids, lo)
        while lo <= hi:
            if index >= len(uids) or uids[index] > hi:
                out.append((lo, hi))
                break
            if uids[index] > lo:
                out.append((lo, uids[index] - 1))
            lo = uids[index] + 1
            index += 1
    return out
