"""COMPRESS=DEFLATE (RFC 4978) over a real socket, with a client that
speaks raw DEFLATE (imaplib has no COMPRESS)."""

from __future__ import annotations

import zlib

from conftest import PASSWORDS

from .client import DeflateClient

ALICE = "alice@example.test"


def _login(client: DeflateClient) -> None:
    assert client.line().startswith(b"* OK [CAPABILITY ")
    client.send(f"a1 LOGIN {ALICE} {PASSWORDS[ALICE]}\r\n".encode())
    assert b"COMPRESS=DEFLATE" in client.until_tagged(b"a1")


def test_compressed_session_appends_fetches_and_refuses_a_second_compress(imap_port: int) -> None:
    with DeflateClient(imap_port) as client:
        _login(client)
        assert client.compress(b"a2") == b"a2 OK DEFLATE active\r\n"
        body = b"Subject: squeezed\r\n\r\n" + b"all work and no play\r\n" * 200
        client.send(b"a3 APPEND INBOX {%d}\r\n" % len(body))
        assert client.line().startswith(b"+ ")
        client.send(body + b"\r\n")
        assert b"a3 OK [APPENDUID " in client.until_tagged(b"a3")
        client.send(b"a4 SELECT INBOX\r\na5 UID FETCH * BODY.PEEK[]\r\n")  # pipelined, compressed
        assert b"a4 OK [READ-WRITE]" in client.until_tagged(b"a4")
        fetched = client.until_tagged(b"a5")
        assert body in fetched and fetched.endswith(b"a5 OK FETCH completed\r\n")
        # RFC 4978 3: once on, another COMPRESS is NO [COMPRESSIONACTIVE] (sent compressed).
        client.send(b"a6 COMPRESS DEFLATE\r\n")
        assert client.until_tagged(b"a6") == b"a6 NO [COMPRESSIONACTIVE] Compression is already active\r\n"
        client.send(b"a7 LOGOUT\r\n")
        assert client.until_tagged(b"a7").endswith(b"a7 OK LOGOUT completed\r\n")
        assert client.wire_in < len(body)  # the 4,400-octet body came back in far fewer octets


def test_compress_is_refused_before_login_and_for_an_unknown_mechanism(imap_port: int) -> None:
    with DeflateClient(imap_port) as client:
        client.line()
        client.send(b"a1 COMPRESS DEFLATE\r\n")  # RFC 4978 3: authenticated state only
        assert client.until_tagged(b"a1").startswith(b"a1 BAD ")
        client.send(f"a2 LOGIN {ALICE} {PASSWORDS[ALICE]}\r\n".encode())
        client.until_tagged(b"a2")
        assert client.compress(b"a3", b"LZW") == b"a3 NO [CANNOT] Unknown compression mechanism\r\n"
        client.send(b"a4 NOOP\r\n")  # still uncompressed
        assert client.until_tagged(b"a4") == b"a4 OK NOOP completed\r\n"


def test_input_that_is_not_deflate_ends_the_compressed_session(imap_port: int) -> None:
    with DeflateClient(imap_port) as client:
        _login(client)
        client.compress(b"a2")
        client.sock.sendall(b"\xff\xff\xff\xff not deflate\r\n")
        assert client.sock.recv(100) == b""


def test_each_response_is_flushed_so_it_decodes_on_arrival(imap_port: int) -> None:
    with DeflateClient(imap_port) as client:
        _login(client)
        client.compress(b"a2")
        client.send(b"a3 NOOP\r\n")
        # Z_SYNC_FLUSH ends each write on a byte boundary with 00 00 ff ff.
        raw = client.sock.recv(65536)
        assert raw.endswith(b"\x00\x00\xff\xff")
        assert zlib.decompressobj(-15).decompress(raw) == b"a3 OK NOOP completed\r\n"
