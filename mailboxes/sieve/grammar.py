"""Sieve syntax tree (RFC 5228 8.2): commands, tests and their arguments.

Pure: `parse` takes the script text and returns the commands; whether a
command exists, takes those arguments and was required is `checks.py`'s job.
"""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SieveError
from .lexer import Token, tokenize

MAX_NESTING = 32


@dataclass(frozen=True, slots=True)
class Tag:
    name: str  # without the colon, lower case


Argument = Tag | int | tuple[str, ...]  # a string is a string list of one


@dataclass(frozen=True, slots=True, kw_only=True)
class Test:
    name: str
    arguments: tuple[Argument, ...]
    tests: tuple[Test, ...]
    line: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Command:
    name: str
    arguments: tuple[Argument, ...]
    tests: tuple[Test, ...]
    block: tuple[Command, ...] | None  # None: ended with ";"
    line: int


def parse(script: str) -> tuple[Command, ...]:
    reader = _Reader(tokenize(script))
    commands = reader.commands(depth=0)
    if reader.pos < len(reader.tokens):
        raise SieveError(reader.peek_line(), "unexpected '}'")
    return commands


class _Reader:
    def __init__(self, tokens: list[Token]) -> None:
        self.tokens = tokens
        self.pos = 0

    def peek(self) -> Token | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def peek_line(self) -> int:
        token = self.peek()
        if token is not None:
            return token.line
        return self.tokens[-1].line if self.tokens else 1

    def special(self, char: str) -> bool:
        token = self.peek()
        if token is not None and token.kind == "special" and token.value == char:
            self.pos += 1
            return True
        return False

    def commands(self, depth: int) -> tuple[Command, ...]:
        if depth > MAX_NESTING:
            raise SieveError(self.peek_line(), "blocks nested too deeply")
        out: list[Command] = []
        while (token := self.peek()) is not None:
            if token.kind == "special" and token.value == "}":
                break
            out.append(self.command(depth))
        return tuple(out)

    def command(self, depth: int) -> Command:
        token = self.peek()
        assert token is not None
        if token.kind != "identifier":
            raise SieveError(token.line, f"expected a command, found {_show(token)}")
        self.pos += 1
        arguments, tests = self.arguments(depth)
        block: tuple[Command, ...] | None = None
        if self.special("{"):
            block = self.commands(depth + 1)
            if not self.special("}"):
                raise SieveError(self.peek_line(), "missing '}'")
        elif not self.special(";"):
            raise SieveError(self._previous_line(), f"missing ';' after {token.value}")
        return Command(name=str(token.value), arguments=arguments, tests=tests, block=block, line=token.line)

    def _previous_line(self) -> int:
        return self.tokens[self.pos - 1].line

    def arguments(self, depth: int) -> tuple[tuple[Argument, ...], tuple[Test, ...]]:
        arguments: list[Argument] = []
        while (token := self.peek()) is not None:
            if token.kind == "tag":
                arguments.append(Tag(str(token.value)))
            elif token.kind == "number":
                arguments.append(int(token.value))
            elif token.kind == "string":
                arguments.append((str(token.value),))
            elif token.kind == "special" and token.value == "[":
                self.pos += 1
                arguments.append(self.string_list(token.line))
                continue
            else:
                break
            self.pos += 1
        tests: tuple[Test, ...] = ()
        token = self.peek()
        if token is not None and token.kind == "identifier":
            tests = (self.test(depth),)
        elif self.special("("):
            tests = self.test_list(depth)
        return tuple(arguments), tests

    def string_list(self, line: int) -> tuple[str, ...]:
        out: list[str] = []
        while True:
            token = self.peek()
            if token is None or token.kind != "string":
                raise SieveError(token.line if token else line, "a string list holds strings")
            out.append(str(token.value))
            self.pos += 1
            if self.special("]"):
                return tuple(out)
            if not self.special(","):
                raise SieveError(self.peek_line(), "expected ',' or ']' in a string list")

    def test(self, depth: int) -> Test:
        token = self.peek()
        if token is None or token.kind != "identifier":
            raise SieveError(token.line if token else self.peek_line(), "expected a test")
        if depth > MAX_NESTING:
            raise SieveError(token.line, "tests nested too deeply")
        self.pos += 1
        arguments, tests = self.arguments(depth + 1)
        return Test(name=str(token.value), arguments=arguments, tests=tests, line=token.line)

    def test_list(self, depth: int) -> tuple[Test, ...]:
        out = [self.test(depth)]
        while self.special(","):
            out.append(self.test(depth))
        if not self.special(")"):
            raise SieveError(self.peek_line(), "expected ',' or ')' in a test list")
        return tuple(out)


def _show(token: Token) -> str:
    return f"'{token.value}'" if token.kind == "special" else f"{token.kind} {token.value!r}"
