"""Sequence sets: message sequence numbers or UIDs (RFC 3501 section 9).

A set is kept as the ranges the client wrote, with ``*`` as the
:data:`STAR` sentinel, and only turned into numbers against a concrete
maximum, so ``1:4294967295`` costs one tuple, never a list of four billion.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Final, TypeAlias

__all__ = ["MAX_NUMBER", "SAVED", "STAR", "Saved", "SeqNumber", "SequenceSet", "SequenceArg", "Star"]

#: Largest nz-number / UID (RFC 3501 section 9: "nz-number ... (0 < n < 4,294,967,296)").
MAX_NUMBER: Final = 4294967295


class Star(enum.Enum):
    """The ``*`` of a sequence set: the largest number in use."""

    STAR = "*"

    def __repr__(self) -> str:
        return "STAR"


STAR: Final = Star.STAR
SeqNumber: TypeAlias = "int | Star"


class Saved(enum.Enum):
    """The ``$`` of RFC 5182 (SEARCHRES): the session's saved search result.

    ABNF ``sequence-set =/ seq-last-command``, ``seq-last-command = "$"``:
    it stands alone, never inside a list or a range. What it holds is the
    selected mailbox's business (``MailboxView.saved``, as UIDs), so the
    parser only marks where it was written.
    """

    SAVED = "$"

    def __repr__(self) -> str:
        return "SAVED"


SAVED: Final = Saved.SAVED
#: What a command's sequence-set argument may be: numbers, or ``$``.
SequenceArg: TypeAlias = "SequenceSet | Saved"


@dataclass(frozen=True, slots=True)
class SequenceSet:
    """Ranges as written; a single number ``n`` is the range ``(n, n)``.

    RFC 3501 section 9: ``4:2`` equals ``2:4`` and ``*`` is the largest
    number in use, so ``559:*`` includes the last UID even when 559 is above
    it. :meth:`resolve` applies both rules.
    """

    ranges: tuple[tuple[SeqNumber, SeqNumber], ...]

    @classmethod
    def in_order(cls, values: Iterable[int]) -> SequenceSet:
        """A set listing ``values`` in the order given, ascending runs as
        ranges (ESORT's ALL is in sort order, RFC 5267 3.2)."""
        ranges: list[tuple[SeqNumber, SeqNumber]] = []
        for value in values:
            if ranges and ranges[-1][1] == value - 1:
                ranges[-1] = (ranges[-1][0], value)
            else:
                ranges.append((value, value))
        return cls(tuple(ranges))

    @classmethod
    def from_ints(cls, values: Iterable[int]) -> SequenceSet:
        """The most compact set holding exactly ``values`` (for responses)."""
        ranges: list[tuple[SeqNumber, SeqNumber]] = []
        start = prev = -1
        for value in sorted(set(values)):
            if value == prev + 1 and start >= 0:
                prev = value
                continue
            if start >= 0:
                ranges.append((start, prev))
            start = prev = value
        if start >= 0:
            ranges.append((start, prev))
        return cls(tuple(ranges))

    @property
    def uses_star(self) -> bool:
        return any(STAR in pair for pair in self.ranges)

    def resolve(self, max_value: int) -> list[tuple[int, int]]:
        """Sorted, merged, inclusive ``(low, high)`` ranges.

        ``*`` becomes ``max_value``; nothing is clipped, so a caller checking
        message sequence numbers compares the last high with its count
        (RFC 3501 6.4.8 and 9 answer out-of-range numbers with BAD/NO), and
        a UID caller just finds no message with such a UID.
        """
        pairs = sorted(
            (min(lo, hi), max(lo, hi))
            for lo, hi in ((max_value if a is STAR else a, max_value if b is STAR else b) for a, b in self.ranges)
        )
        merged: list[tuple[int, int]] = []
        for lo, hi in pairs:
            if merged and lo <= merged[-1][1] + 1:
                if hi > merged[-1][1]:
                    merged[-1] = (merged[-1][0], hi)
            else:
                merged.append((lo, hi))
        return merged

    def contains(self, value: int, max_value: int) -> bool:
        """Whether ``value`` is in the set when ``*`` means ``max_value``."""
        for a, b in self.ranges:
            lo = max_value if a is STAR else a
            hi = max_value if b is STAR else b
            if lo > hi:
                lo, hi = hi, lo
            if lo <= value <= hi:
                return True
        return False

    def iter(self, max_value: int) -> Iterator[int]:
        """Every number in the set, ascending, each once (lazily)."""
        for lo, hi in self.resolve(max_value):
            yield from range(lo, hi + 1)

    def highest(self, max_value: int) -> int:
        """The largest number in the set (0 for an empty set)."""
        resolved = self.resolve(max_value)
        return resolved[-1][1] if resolved else 0

    def to_bytes(self) -> bytes:
        """The wire form, e.g. ``b"1:3,5,7:*"``."""
        parts = []
        for a, b in self.ranges:
            left = "*" if a is STAR else str(a)
            if a == b:
                parts.append(left)
            else:
                parts.append(left + ":" + ("*" if b is STAR else str(b)))
        return ",".join(parts).encode("ascii")

    def __str__(self) -> str:
        return self.to_bytes().decode("ascii")
