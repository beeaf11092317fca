"""Comparators and match types: RFC 5228 2.7.1-2.7.3 (:is, :contains,
:matches), RFC 4790 9.3 (i;ascii-numeric), RFC 5231 (:value, :count).
Pure string work; `:matches` returns the match variables of RFC 5229 3.2.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

_ASCII_FOLD = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_LEADING_DIGITS = re.compile(r"[0-9]+")


@dataclass(frozen=True, slots=True)
class Matcher:
    kind: str = "is"  # is, contains, matches, value, count
    comparator: str = "i;ascii-casemap"
    relation: str = ""  # for :value and :count

    def fold(self, text: str) -> str:
        return text.translate(_ASCII_FOLD) if self.comparator == "i;ascii-casemap" else text

    def test(self, values: Sequence[str], keys: Sequence[str]) -> tuple[bool, tuple[str, ...] | None]:
        """Whether any value matches any key; with :matches, the match
        variables (${0} the whole value, then one per wildcard) of the first."""
        if self.kind == "count":
            count = str(len(values))
            return any(_relate(self.relation, _order("i;ascii-numeric", count, key)) for key in keys), None
        for value in values:
            for key in keys:
                if self.kind == "matches":
                    groups = self.wildcard(value, key)
                    if groups is not None:
                        return True, groups
                elif self.kind == "value":
                    if _relate(self.relation, _order(self.comparator, value, key)):
                        return True, None
                elif self.kind == "contains":
                    if self.comparator == "i;ascii-numeric":
                        continue  # RFC 4790 9.3: substring operations are not supported
                    if self.fold(key) in self.fold(value):
                        return True, None
                elif _order(self.comparator, value, key) == 0:
                    return True, None
        return False, None

    def wildcard(self, value: str, pattern: str) -> tuple[str, ...] | None:
        flags = re.DOTALL | (re.IGNORECASE if self.comparator == "i;ascii-casemap" else 0)
        found = re.fullmatch(glob_to_regex(pattern), value, flags)
        if found is None:
            return None
        return (value,) + tuple(group or "" for group in found.groups())


def glob_to_regex(pattern: str) -> str:
    """'*' matches as little as it can and '?' one character, each a group
    (RFC 5229 3.2); a backslash makes the next character literal."""
    out: list[str] = []
    escaped = False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "*":
            out.append("(.*?)")
        elif char == "?":
            out.append("(.)")
        else:
            out.append(re.escape(char))
    return "".join(out)


def quote_wildcards(text: str) -> str:
    """RFC 5229 4.1 :quotewildcard."""
    return re.sub(r"([*?\\])", r"\\\1", text)


def _order(comparator: str, left: str, right: str) -> int:
    if comparator == "i;ascii-numeric":
        x, y = _numeric(left), _numeric(right)
        return (x > y) - (x < y)
    if comparator == "i;ascii-casemap":
        left, right = left.translate(_ASCII_FOLD), right.translate(_ASCII_FOLD)
    return (left > right) - (left < right)


def _numeric(text: str) -> float:
    """RFC 4790 9.3: the leading digits; a string without them is positive infinity."""
    digits = _LEADING_DIGITS.match(text)
    return float(int(digits.group())) if digits else float("inf")


def _relate(relation: str, order: int) -> bool:
    return {"gt": order > 0, "ge": order >= 0, "lt": order < 0, "le": order <= 0, "eq": order == 0, "ne": order != 0}[
        relation.lower()
    ]
