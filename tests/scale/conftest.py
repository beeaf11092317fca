"""Helpers for the scale-out tests: a raw line client that can open with a
PROXY header and come from another loopback address (127.0.0.0/8 is all
loopback on Linux), so the address a worker reports can be told apart from
the balancer's."""

from __future__ import annotations

import socket


class LineClient:
    def __init__(self, port: int, header: bytes = b"", source: str = "127.0.0.1") -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30, source_address=(source, 0))
        self.file = self.sock.makefile("rb")
        if header:
            self.sock.sendall(header)

    def line(self) -> bytes:
        return self.file.readline()

    def first_line_or_nothing(self) -> bytes:
        """The greeting, or b"" when the server hung up (a reset counts: it
        closed with our unread header in its buffer)."""
        try:
            return self.file.readline()
        except ConnectionResetError:
            return b""

    def send(self, text: str) -> bytes:
        """Send one line, return the first line of the reply."""
        self.sock.sendall(text.encode() + b"\r\n")
        return self.line()

    def until(self, prefix: bytes) -> list[bytes]:
        lines = []
        while True:
            line = self.line()
            if not line:
                raise ConnectionError("closed")
            lines.append(line)
            if line.startswith(prefix):
                return lines

    def close(self) -> None:
        self.file.close()
        self.sock.close()


def v1(source: str, port: int = 40000) -> bytes:
    family = "TCP6" if ":" in source else "TCP4"
    destination = "::1" if ":" in source else "127.0.0.1"
    return f"PROXY {family} {source} {destination} {port} 143\r\n".encode()
