"""The few IMAP responses the import reads, from imaplib's raw data. Pure.

imaplib hands back untagged responses as a list in which a response with a
literal is a tuple (text up to and including `{n}`, the n octets) followed by
the rest of its text. These functions turn that into values: LIST lines
(RFC 3501 7.2.2, RFC 6154 attributes) and FETCH responses (RFC 3501 7.4.2).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Union

_TOKEN = re.compile(rb'[ \t\r\n]*(?:(\()|(\))|"((?:[^"\\]|\\.)*)"|([^\s()"]+?(?:\[[^\]]*\][^\s()]*)?(?=[\s()]|$)))')
_LITERAL_MARK = re.compile(rb"\{(\d+)\+?\}$")
_UNQUOTE = re.compile(rb"\\(.)")

Value = Union[bytes, "Literal", list]


@dataclass(frozen=True)
class Literal:
    data: bytes


@dataclass(frozen=True)
class ListEntry:
    name: str  # as the server spells it (modified UTF-7), for SELECT
    delimiter: str
    attributes: tuple[str, ...]


def _pieces(data: list[Any]) -> list[bytes | Literal]:
    pieces: list[bytes | Literal] = []
    for element in data:
        if element is None:
            continue
        if isinstance(element, tuple):
            pieces.append(_LITERAL_MARK.sub(b"", element[0]))
            pieces.append(Literal(element[1]))
        else:
            pieces.append(b" " + element)  # separate responses and continuations
    return pieces


def _tokens(pieces: list[bytes | Literal]) -> list[Value]:
    out: list[Value] = []
    for piece in pieces:
        if isinstance(piece, Literal):
            out.append(piece)
            continue
        pos = 0
        while pos < len(piece):
            m = _TOKEN.match(piece, pos)
            if m is None or m.end() == pos:
                if piece[pos:].strip():
                    raise ValueError(f"cannot read the server's response near {piece[pos : pos + 40]!r}")
                break
            pos = m.end()
            opened, closed, quoted, atom = m.groups()
            if opened:
                out.append(b"(")
            elif closed:
                out.append(b")")
            elif quoted is not None:
                out.append(Literal(_UNQUOTE.sub(rb"\1", quoted)))
            elif atom is not None:
                out.append(atom)
    return out


def _nest(tokens: list[Value]) -> list[Value]:
    """Parenthesised groups as lists; strings (quoted or literal) stay Literal, atoms bytes."""
    stack: list[list[Value]] = [[]]
    for token in tokens:
        if token == b"(":
            stack.append([])
        elif token == b")":
            if len(stack) > 1:
                done = stack.pop()
                stack[-1].append(done)
        else:
            stack[-1].append(token)
    while len(stack) > 1:  # tolerate a missing ")"
        done = stack.pop()
        stack[-1].append(done)
    return stack[0]


def _text(value: Value) -> str:
    if isinstance(value, Literal):
        return value.data.decode("utf-8", "replace")
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return ""


def parse_list(data: list[Any]) -> list[ListEntry]:
    """LIST responses: `(attributes) delimiter name` each."""
    entries = []
    for element in data:
        if element is None:
            continue
        values = _nest(_tokens(_pieces([element])))
        if len(values) < 3 or not isinstance(values[0], list):
            continue
        attributes = tuple(_text(a) for a in values[0])
        delimiter = "" if values[1] == b"NIL" else _text(values[1])
        entries.append(ListEntry(_text(values[2]), delimiter, attributes))
    return entries


def parse_fetch(data: list[Any]) -> list[dict[str, Value]]:
    """FETCH responses as {item name in upper case: value}, in the order given."""
    values = _nest(_tokens(_pieces(data)))
    responses = []
    for i, value in enumerate(values):
        if isinstance(value, list) and i > 0 and isinstance(values[i - 1], bytes):
            items: dict[str, Value] = {}
            for j in range(0, len(value) - 1, 2):
                key = value[j]
                if isinstance(key, bytes):
                    items[key.decode("ascii", "replace").upper()] = value[j + 1]
            responses.append(items)
    return responses


def body_section(items: dict[str, Value], prefix: str) -> bytes | None:
    """The octets of the first BODY[...] item whose name starts with prefix (NIL -> b"")."""
    for key, value in items.items():
        if key.startswith(prefix):
            return value.data if isinstance(value, Literal) else b""
    return None


def flags_of(items: dict[str, Value]) -> frozenset[str]:
    value = items.get("FLAGS")
    return frozenset(_text(f) for f in value) if isinstance(value, list) else frozenset()


def number(items: dict[str, Value], key: str) -> int | None:
    value = items.get(key)
    try:
        return int(value) if isinstance(value, bytes) else None
    except ValueError:
        return None


def internal_date(items: dict[str, Value]) -> datetime | None:
    """INTERNALDATE "17-Jul-1996 02:44:25 -0700" (RFC 3501 9, date-time)."""
    value = items.get("INTERNALDATE")
    if not isinstance(value, Literal):
        return None
    try:
        return datetime.strptime(value.data.decode("ascii").strip(), "%d-%b-%Y %H:%M:%S %z")
    except ValueError:
        return None


def quote(name: str) -> str:
    """A mailbox name as an IMAP quoted string."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'
