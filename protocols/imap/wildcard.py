"""Mailbox name patterns of LIST and LSUB (RFC 3501 6.3.8), matched in
linear time. Pure.

``*`` matches any run of characters, ``%`` any run without the hierarchy
separator ``/``; every other character matches itself. A regular
expression built from the pattern backtracks: ``*a*a*a...*b`` against a
long name took seconds on the event loop (issue 15 item 4). Here the
pattern is a nondeterministic automaton whose set of live states is one
integer, a bit per pattern position (shift-and): each character of a name
is one step of a fixed number of integer operations over at most
:data:`MAX_PATTERN` bits, so a name is matched in ``len(name)`` steps
whatever the pattern. ``Pattern.steps`` counts them, for the tests.
"""

from __future__ import annotations

from typing import Final

__all__ = ["MAX_PATTERN", "Pattern", "PatternTooLong"]

SEP: Final = "/"
#: Longest reference + pattern accepted, in characters (the answer past it
#: is ``NO [LIMIT]``): room for a reference as long as the longest folder
#: name the store allows (1,000) and a pattern as long again.
MAX_PATTERN: Final = 2048


class PatternTooLong(ValueError):
    """The reference and pattern together exceed :data:`MAX_PATTERN`."""


class Pattern:
    """One compiled pattern; :meth:`matches` says whether a name fits it."""

    __slots__ = ("_accept", "_any", "_chars", "_non_sep", "_wild", "steps")

    def __init__(self, pattern: str) -> None:
        if len(pattern) > MAX_PATTERN:
            raise PatternTooLong(len(pattern))
        tokens = _collapse(pattern)
        #: bit i: the pattern's token i is that character
        self._chars: dict[str, int] = {}
        self._any = 0  # bit i: token i is "*"
        self._non_sep = 0  # bit i: token i is "%"
        for i, token in enumerate(tokens):
            if token == "*":
                self._any |= 1 << i
            elif token == "%":
                self._non_sep |= 1 << i
            else:
                self._chars[token] = self._chars.get(token, 0) | 1 << i
        self._wild = self._any | self._non_sep
        self._accept = 1 << len(tokens)
        self.steps = 0

    def _close(self, states: int) -> int:
        # A wildcard also matches nothing. No two wildcards are adjacent
        # (see _collapse), so one shift reaches every such state.
        return states | (states & self._wild) << 1

    def matches(self, name: str) -> bool:
        states = self._close(1)
        for char in name:
            self.steps += 1
            stay = self._any if char == SEP else self._wild
            states = self._close((states & self._chars.get(char, 0)) << 1 | states & stay)
            if not states:
                return False
        return bool(states & self._accept)


def _collapse(pattern: str) -> list[str]:
    """The pattern's tokens with each run of wildcards made one: a run
    holding a ``*`` matches what ``*`` does, else what ``%`` does."""
    tokens: list[str] = []
    for char in pattern:
        if char in "*%" and tokens and tokens[-1] in "*%":
            if char == "*":
                tokens[-1] = "*"
            continue
        tokens.append(char)
    return tokens
