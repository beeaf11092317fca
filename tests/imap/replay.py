"""IMAP transcripts on top of the generic runner (tests/transcript.py).

A transcript file is the generic C:/S: format plus:

- ``C2:``/``S2:`` (any digit): a second (third...) connection, opened on
  first use; ``C:``/``S:`` are connection 1.
- ``${name}`` in an S: line captures a token (``[^\\s()\\[\\]"]+``) the first
  time and must equal it afterwards; in a C: line it is replaced by the
  captured value. ``${DATE}`` matches an INTERNALDATE's inside.
- A C: line ending in ``{*}`` or ``{*+}`` announces a literal made of the
  ``L:`` lines that follow (each sent with CRLF; ``N:`` sends one without);
  the runner puts in the size. The command's rest is the next C: line (``C:`` alone ends it).
  ``\\xNN`` in an L:/N: line sends the octet NN: ``\\x00`` a NUL (for
  literal8, RFC 3516), ``\\x09`` a tab, ``\\x20`` a space at a line's end.
- ``! deliver ADDRESS SUBJECT...``: deliver sample messages (one per
  subject) through the store before going on.
- ``! settle ADDRESS``: wait until every change event of that account
  published so far has reached the sessions (another session's change is
  reported by commands that do not force a look only once it arrived): a
  marker event is published after them and awaited, then the server's loop
  runs what the sessions' callbacks handed it.
"""

from __future__ import annotations

import asyncio
import re
import textwrap

from conftest import sample_message
from tests.transcript import CLOSED, Transcript, compile_pattern

_KIND = re.compile(r"([CSLN])(\d?):(?: |$)(.*)", re.DOTALL)
_VAR = re.compile(r"\$\{(\w+)\}")
_LITERAL = re.compile(r"\{\*(\+?)\}$")
_HEX_ESCAPE = re.compile(rb"\\x([0-9a-fA-F]{2})")
DATE = r"{{[ 0-9]\d-[A-Z][a-z][a-z]-\d\d\d\d \d\d:\d\d:\d\d [+-]\d\d\d\d}}"


# A folder id no folder has: sessions ignore an event for it.
_MARKER = -(2**31)


class Replay:
    def __init__(self, port: int, loop: asyncio.AbstractEventLoop | None = None) -> None:
        self.port = port
        self.loop = loop  # the server's, for ! settle
        self.conns: dict[str, Transcript] = {}
        self.vars: dict[str, str] = {}

    def __enter__(self) -> Replay:
        return self

    def __exit__(self, *exc: object) -> None:
        for conn in self.conns.values():
            conn.close()

    def conn(self, index: str) -> Transcript:
        if index not in self.conns:
            self.conns[index] = Transcript("127.0.0.1", self.port)
        return self.conns[index]

    def _substitute(self, text: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in self.vars:
                raise KeyError(f"${{{name}}} used before it was captured")
            return self.vars[name]

        return _VAR.sub(value, text)

    def _pattern(self, text: str) -> str:
        def hole(match: re.Match[str]) -> str:
            name = match.group(1)
            if name == "DATE":
                return DATE
            if name in self.vars:
                return self.vars[name]
            return "{{(?P<" + name + ">[^\\s()\\[\\]\"]+)}}"

        return _VAR.sub(hole, text)

    def expect(self, conn: Transcript, pattern: str) -> None:
        if pattern == CLOSED:
            conn.expect(CLOSED)
            return
        raw = conn.read_line()
        assert raw.endswith(b"\r\n"), conn._report(f"expected {pattern!r}, got {raw!r}")
        line = raw[:-2].decode("utf-8", "surrogateescape")
        conn.log.append(f"S: {line}")
        match = compile_pattern(pattern).fullmatch(line)
        assert match is not None, conn._report(f"expected {pattern!r}")
        self.vars.update({k: v for k, v in match.groupdict().items() if v is not None})

    def settle(self, address: str) -> None:
        """Events reach subscribers in the order they were published (one
        Redis subscription, one listener thread; or at once, in process)."""
        from mailboxes import store
        from mailboxes.store import events
        from tests.relay.helpers import wait_for

        assert self.loop is not None, "! settle needs the server's loop"
        account_id = store.get_account(address).id
        seen: set[int] = set()
        unsubscribe = store.subscribe(account_id, lambda _account, folder: seen.add(folder))
        try:
            events.publish(account_id, _MARKER)
            wait_for(lambda: _MARKER in seen, timeout=10, what="the marker event")
        finally:
            unsubscribe()
        asyncio.run_coroutine_threadsafe(asyncio.sleep(0), self.loop).result(10)

    def run(self, script: str) -> None:
        lines = [line.strip() for line in textwrap.dedent(script).splitlines()]
        lines = [line for line in lines if line and not line.startswith("#")]
        for number, line in enumerate(lines):
            if line.startswith("! deliver "):
                address, *subjects = line[len("! deliver ") :].split()
                from mailboxes import store

                for subject in subjects:
                    store.deliver(sample_message(subject=subject, to=address), [address])
                continue
            if line.startswith("! settle "):
                self.settle(line.split()[2])
                continue
            match = _KIND.fullmatch(line)
            if match is None:
                raise ValueError(f"bad transcript line {line!r}")
            kind, index, text = match.group(1), match.group(2) or "1", match.group(3)
            conn = self.conn(index)
            if kind == "S":
                self.expect(conn, self._pattern(text))
                continue
            text = self._substitute(text)
            if kind in "LN":
                conn.send(_octets(text) + (b"\r\n" if kind == "L" else b""))
                continue
            literal = _LITERAL.search(text)
            if literal is not None:
                size = 0
                for later in lines[number + 1 :]:
                    other = _KIND.fullmatch(later)
                    if other is None or (other.group(2) or "1") != index:
                        continue
                    if other.group(1) == "C":
                        break
                    if other.group(1) in "LN":
                        size += len(_octets(other.group(3))) + (2 if other.group(1) == "L" else 0)
                text = text[: literal.start()] + f"{{{size}{literal.group(1)}}}"
            conn.send_line(text)


def _octets(text: str) -> bytes:
    """An L:/N: line's octets: UTF-8, with ``\\xNN`` standing for the octet
    NN (``\\x00`` a NUL, ``\\x09`` a tab, ``\\x20`` a space a line ends in)."""
    return _HEX_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), text.encode())
