"""A raw IMAP client for tests: bytes on a real socket, no interpretation
beyond finding where a response ends (literals included)."""

from __future__ import annotations

import re
import socket
import ssl
import zlib

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

    def __enter__(self) -> RawClient:
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


class DeflateClient:
    """A bare IMAP client that can speak COMPRESS=DEFLATE (RFC 4978), which
    imaplib cannot: raw DEFLATE both ways once the server's OK has arrived,
    each write flushed with Z_SYNC_FLUSH. ``wire_in`` counts the octets
    received on the socket, compressed or not."""

    def __init__(self, port: int, host: str = "127.0.0.1", timeout: float = 10) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""
        self.wire_in = 0
        self._deflate: zlib._Compress | None = None
        self._inflate: zlib._Decompress | None = None

    def close(self) -> None:
        self.sock.close()

    def __enter__(self) -> DeflateClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        if self._deflate is not None:
            data = self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        self.sock.sendall(data)

    def _more(self) -> bool:
        chunk = self.sock.recv(65536)
        if not chunk:
            return False
        self.wire_in += len(chunk)
        self.buf += chunk if self._inflate is None else self._inflate.decompress(chunk)
        return True

    def line(self) -> bytes:
        while b"\r\n" not in self.buf:
            if not self._more():
                raise ConnectionError("closed")
        line, _, self.buf = self.buf.partition(b"\r\n")
        return line + b"\r\n"

    def until_tagged(self, tag: bytes) -> bytes:
        """Everything up to and including the line tagged ``tag`` (literals
        are read whole by size, so a body line starting with the tag is safe)."""
        out = b""
        while True:
            line = self.line()
            out += line
            size = _LITERAL_AT_END.search(line)
            if size:
                while len(self.buf) < int(size.group(1)):
                    if not self._more():
                        raise ConnectionError("closed")
                out += self.buf[: int(size.group(1))]
                self.buf = self.buf[int(size.group(1)) :]
                continue
            if line.startswith(tag + b" "):
                return out

    def compress(self, tag: bytes = b"z1", mechanism: bytes = b"DEFLATE") -> bytes:
        """COMPRESS; on OK both directions are raw DEFLATE from here on."""
        self.send(tag + b" COMPRESS " + mechanism + b"\r\n")
        reply = self.until_tagged(tag)
        if reply.split(b"\r\n")[-2].split(b" ")[1] == b"OK":
            assert not self.buf, "the server sent data after its OK before we compressed"
            self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
            self._inflate = zlib.decompressobj(-15)
        return reply
