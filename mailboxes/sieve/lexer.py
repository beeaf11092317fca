"""Sieve tokens (RFC 5228 8.1): pure, no I/O.

Line ends may be CRLF or a bare LF (scripts typed in a browser or uploaded
from Unix tools). Every token carries its 1-based line for error messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from .errors import SieveError

Kind = Literal["identifier", "tag", "number", "string", "special"]

_QUANTIFIERS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER = re.compile(r"([0-9]+)([KMGkmg]?)")
_TEXT_START = re.compile(r"text:[ \t]*(#[^\n]*)?\r?\n")


@dataclass(frozen=True, slots=True)
class Token:
    kind: Kind
    value: str | int
    line: int


def tokenize(script: str) -> list[Token]:
    tokens: list[Token] = []
    pos, line, end = 0, 1, len(script)
    while pos < end:
        char = script[pos]
        if char in " \t\r":
            pos += 1
        elif char == "\n":
            pos, line = pos + 1, line + 1
        elif char == "#":
            newline = script.find("\n", pos)
            pos = end if newline < 0 else newline
        elif script.startswith("/*", pos):
            close = script.find("*/", pos + 2)
            if close < 0:
                raise SieveError(line, "unterminated comment")
            line += script.count("\n", pos, close)
            pos = close + 2
        elif char == '"':
            text, after = _quoted(script, pos + 1, line)
            tokens.append(Token("string", text, line))
            line += script.count("\n", pos, after)
            pos = after
        elif (text_start := _TEXT_START.match(script, pos)) is not None:
            text, after = _multiline(script, text_start.end(), line)
            tokens.append(Token("string", text, line))
            line += script.count("\n", pos, after)
            pos = after
        elif char == ":":
            word = _IDENTIFIER.match(script, pos + 1)
            if word is None:
                raise SieveError(line, "a tag needs a name after ':'")
            tokens.append(Token("tag", word.group().lower(), line))
            pos = word.end()
        elif "0" <= char <= "9":  # ASCII only: str.isdigit() also takes "²"
            number = _NUMBER.match(script, pos)
            assert number is not None
            value = int(number.group(1)) * _QUANTIFIERS.get(number.group(2).upper(), 1)
            tokens.append(Token("number", value, line))
            pos = number.end()
        elif (word := _IDENTIFIER.match(script, pos)) is not None:
            tokens.append(Token("identifier", word.group().lower(), line))
            pos = word.end()
        elif char in "[](){},;":
            tokens.append(Token("special", char, line))
            pos += 1
        else:
            raise SieveError(line, f"unexpected character {char!r}")
    return tokens


def _quoted(script: str, pos: int, line: int) -> tuple[str, int]:
    """RFC 5228 2.4.2: \\\\ and \\" are escapes; any other backslash is dropped."""
    out: list[str] = []
    end = len(script)
    while pos < end:
        char = script[pos]
        if char == '"':
            return "".join(out).replace("\r\n", "\n"), pos + 1
        if char == "\\" and pos + 1 < end:
            out.append(script[pos + 1])
            pos += 2
        else:
            out.append(char)
            pos += 1
    raise SieveError(line, "unterminated string")


def _multiline(script: str, pos: int, line: int) -> tuple[str, int]:
    """RFC 5228 2.4.2: lines up to a lone "."; a leading ".." stands for "."."""
    out: list[str] = []
    end = len(script)
    while pos < end:
        newline = script.find("\n", pos)
        if newline < 0:
            break
        text = script[pos:newline].removesuffix("\r")
        if text == ".":
            return "".join(out), newline + 1
        out.append((text[1:] if text.startswith("..") else text) + "\n")
        pos = newline + 1
    raise SieveError(line, "multi-line string without its closing '.' line")
