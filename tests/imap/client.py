"""A raw IMAP client for tests: bytes on a real socket, no interpretation
beyond finding where a response ends (literals included)."""

from __future__ import annotations

import re
import socket
import ssl

_LITERAL_AT_END = re.compile(rb"\{(\d+)\}\r\n\Z")


def insecure_context() -> ssl.SSLContext:
    """TLS without verification: the test server's certificate is self-signed."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


class RawClient:
    def __init__(self, port: int, *, tls: bool = False, host: str = "127.0.0.1", timeout: float = 10) -> None:
        sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            sock = insecure_context().wrap_socket(sock)
        self.sock = sock
        self.file = sock.makefile("rb")
        self._tags = 0

    def close(self) -> None:
        try:
            self.file.close()
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "RawClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def starttls(self) -> None:
        """Upgrade after the server's OK to STARTTLS."""
        self.sock = insecure_context().wrap_socket(self.sock)
        self.file = self.sock.makefile("rb")

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def line(self) -> bytes:
        """One line as sent, CRLF included (b"" at end of stream)."""
        return self.file.readline()

    def response(self) -> bytes:
        """One whole response: a line and any literals it announces."""
        out = self.line()
        while (match := _LITERAL_AT_END.search(out)) is not None:
            out += self.file.read(int(match.group(1)))
            out += self.line()
        return out

    def tag(self) -> bytes:
        self._tags += 1
        return b"t%d" % self._tags

    def command(self, text: str | bytes) -> tuple[list[bytes], bytes]:
        """Send ``tag text`` and read up to the tagged reply: (untagged, tagged)."""
        tag = self.tag()
        raw = text.encode() if isinstance(text, str) else text
        self.send(tag + b" " + raw + b"\r\n")
        untagged = []
        while True:
            response = self.response()
            if not response:
                raise ConnectionError("server closed the connection")
            if response.startswith(tag + b" "):
                return untagged, response
            untagged.append(response)

    def ok(self, text: str | bytes) -> list[bytes]:
        untagged, done = self.command(text)
        assert done.split(b" ", 2)[1] == b"OK", done
        return untagged

    def greeting(self) -> bytes:
        return self.response()

    def login(self, address: str, password: str) -> None:
        self.greeting()
        self.ok(f'LOGIN "{address}" "{password}"')
