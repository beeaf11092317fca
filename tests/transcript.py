"""Replay C:/S: transcripts against a real server over a real socket.

Generic for any line protocol (SMTP, IMAP, POP3, POP2):

    with Transcript("127.0.0.1", port) as t:
        ids = t.run('''
            S: 220 {{\\S+}} ESMTP Mailhost
            C: EHLO client.test
            S: 250-{{.*}}
            ...
        ''')

- ``C: text`` sends text and CRLF (``C:`` alone sends an empty line).
- ``S: pattern`` reads one line, which must end in CRLF and match the pattern
  in full. The pattern is literal text except for ``{{regex}}`` holes; what
  each hole matched is returned by run(), in order.
- ``S: <closed>`` expects the server to close the connection.
- Blank lines and lines starting with ``#`` are skipped.

For raw bytes (bare LF, split commands, literals) use send(), read_line(),
read_exact() and expect() directly; starttls() upgrades the socket in place.
A mismatch raises AssertionError showing the conversation so far.
"""

from __future__ import annotations

import re
import socket
import ssl
import textwrap

HOLE = re.compile(r"\{\{(.*?)\}\}")
CLOSED = "<closed>"


def compile_pattern(pattern: str) -> re.Pattern[str]:
    """Literal text with {{regex}} holes, each a capturing group."""
    parts: list[str] = []
    last = 0
    for match in HOLE.finditer(pattern):
        parts.append(re.escape(pattern[last : match.start()]))
        parts.append(f"({match.group(1)})")
        last = match.end()
    parts.append(re.escape(pattern[last:]))
    return re.compile("".join(parts), re.DOTALL)


class Transcript:
    def __init__(
        self,
        host: str,
        port: int,
        *,
        tls: ssl.SSLContext | None = None,
        server_hostname: str = "localhost",
        timeout: float = 10.0,
    ) -> None:
        self.sock: socket.socket = socket.create_connection((host, port), timeout=timeout)
        if tls is not None:
            self.sock = tls.wrap_socket(self.sock, server_hostname=server_hostname)
        self.buffer = b""
        self.log: list[str] = []

    def __enter__(self) -> Transcript:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    # --- raw I/O ----------------------------------------------------------

    def send(self, data: bytes) -> None:
        self.log.append(f"C: {data!r}")
        self.sock.sendall(data)

    def send_line(self, line: str | bytes) -> None:
        data = line.encode() if isinstance(line, str) else line
        self.log.append(f"C: {data.decode(errors='replace')}")
        self.sock.sendall(data + b"\r\n")

    def _fill(self) -> bool:
        try:
            chunk = self.sock.recv(65536)
        except (ConnectionResetError, ssl.SSLError):
            chunk = b""
        self.buffer += chunk
        return bool(chunk)

    def read_line(self) -> bytes:
        """One line with its line ending; b'' when the server has closed."""
        while b"\n" not in self.buffer:
            if not self._fill():
                line, self.buffer = self.buffer, b""
                return line
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line + b"\n"

    def read_exact(self, size: int) -> bytes:
        while len(self.buffer) < size:
            if not self._fill():
                raise AssertionError(self._report(f"connection closed before {size} bytes"))
        data, self.buffer = self.buffer[:size], self.buffer[size:]
        return data

    def expect(self, pattern: str) -> list[str]:
        """Read one line; it must end in CRLF and match pattern ({{holes}})."""
        raw = self.read_line()
        if pattern == CLOSED:
            if raw:
                raise AssertionError(self._report(f"expected the connection to close, got {raw!r}"))
            self.log.append("S: <closed>")
            return []
        if not raw.endswith(b"\r\n"):
            raise AssertionError(self._report(f"expected {pattern!r}, got {raw!r} (no CRLF)"))
        line = raw[:-2].decode("utf-8", "surrogateescape")
        self.log.append(f"S: {line}")
        match = compile_pattern(pattern).fullmatch(line)
        if match is None:
            raise AssertionError(self._report(f"expected {pattern!r}"))
        return list(match.groups())

    def starttls(self, context: ssl.SSLContext, server_hostname: str = "localhost") -> None:
        assert not self.buffer, "plaintext left over before STARTTLS"
        self.sock = context.wrap_socket(self.sock, server_hostname=server_hostname)
        self.log.append("-- TLS --")

    # --- scripts ----------------------------------------------------------

    def run(self, script: str) -> list[str]:
        captures: list[str] = []
        for number, line in enumerate(textwrap.dedent(script).splitlines(), 1):
            line = line.lstrip()
            if not line.strip() or line.startswith("#"):
                continue
            kind, sep, rest = line.partition(":")
            if not sep or kind not in ("C", "S"):
                raise ValueError(f"transcript line {number}: expected 'C:' or 'S:', got {line!r}")
            text = rest[1:] if rest.startswith(" ") else rest
            if kind == "C":
                self.send_line(text)
            else:
                captures.extend(self.expect(text))
        return captures

    def _report(self, problem: str) -> str:
        return problem + "\nconversation so far:\n  " + "\n  ".join(self.log[-40:])
