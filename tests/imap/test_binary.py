"""BINARY (RFC 3516): transfer decoding and the literal8 choice, without a server."""

from __future__ import annotations

import base64

import pytest

from mailboxes.mime import analyze
from protocols.imap.binary import UnknownCTE, binary_bytes, binary_entity, decode_transfer_encoding, render_binary

PAYLOAD = bytes(range(256)) * 3


@pytest.mark.parametrize(
    ("body", "encoding", "expected"),
    [
        # base64 with CRLF line breaks every 76 characters, any case of the name
        (base64.encodebytes(PAYLOAD).replace(b"\n", b"\r\n"), "BASE64", PAYLOAD),
        (base64.encodebytes(PAYLOAD), "base64", PAYLOAD),
        (b"aGVs\r\nbG8=\r\n", "Base64", b"hello"),
        (b"aGVsbG8\r\n", "BASE64", b"hello"),  # padding left out
        # quoted-printable: soft breaks (CRLF and LF) vanish, hard breaks stay
        (b"caf=E9 au=\r\n lait=\nok=3D\r\nnext", "QUOTED-PRINTABLE", b"caf\xe9 au laitok=\r\nnext"),
        # identity encodings: the bytes as they are, NUL and 8-bit included
        (b"line\r\n", "7BIT", b"line\r\n"),
        (b"caf\xc3\xa9\r\n", "8bit", b"caf\xc3\xa9\r\n"),
        (b"a\x00b\xff", "BINARY", b"a\x00b\xff"),
        (b"plain", "", b"plain"),
    ],
)
def test_transfer_encodings_are_undone(body: bytes, encoding: str, expected: bytes) -> None:
    assert decode_transfer_encoding(body, encoding) == expected


@pytest.mark.parametrize("encoding", ["X-UUENCODE", "x-gzip64", "7-bit"])
def test_unknown_transfer_encoding_is_refused(encoding: str) -> None:
    with pytest.raises(UnknownCTE):
        decode_transfer_encoding(b"begin 644 a\r\n", encoding)


def test_literal8_only_when_the_data_holds_nul() -> None:
    assert render_binary(b"a\x00b") == b"~{3}\r\na\x00b"
    assert render_binary(b"caf\xc3\xa9") == b"{5}\r\ncaf\xc3\xa9"
    assert render_binary(b"") == b"{0}\r\n"


MESSAGE = (
    b"Subject: parts\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    b"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nsoft=\r\n break=3D\r\n"
    b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + base64.encodebytes(b"\x00\x01\x02zip").replace(b"\n", b"\r\n")
    + b"--b\r\nContent-Type: application/x-thing\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n"
    b"--b--\r\n"
)


def test_parts_of_a_stored_message_are_cut_by_offset_and_decoded() -> None:
    structure = analyze(MESSAGE).structure
    assert binary_bytes((1,), MESSAGE, structure) == b"soft break="
    assert binary_bytes((2,), MESSAGE, structure) == b"\x00\x01\x02zip"
    assert render_binary(binary_bytes((2,), MESSAGE, structure) or b"").startswith(b"~{6}\r\n")
    with pytest.raises(UnknownCTE):
        binary_bytes((3,), MESSAGE, structure)
    assert binary_bytes((9,), MESSAGE, structure) is None
    assert binary_bytes((1,), MESSAGE, None) is None


def test_a_single_part_message_body_is_part_one() -> None:
    raw = b"Subject: x\r\nContent-Transfer-Encoding: base64\r\n\r\nAAEC\r\n"
    structure = analyze(raw).structure
    assert binary_bytes((1,), raw, structure) == b"\x00\x01\x02"
    assert binary_bytes((), raw, structure) == raw


def test_binary_entity_decodes_every_leaf_and_gives_the_decoded_sizes() -> None:
    # imaptest urlauth-binary's message: a message/rfc822 part holding two
    # base64 leaves, one with white space around its lines (RFC 5524 3).
    inner = (
        b"Subject: submsg\r\nContent-Type: multipart/alternative; boundary=sub1\r\n\r\n"
        b"--sub1\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"aGVs\r\nbG8gd29y\r\nbGQ=\r\n\r\n"
        b"--sub1\r\nContent-Type: text/plain\r\ncontent-transfer-encoding:BASE64\r\n\r\n"
        b"  aGVs    \r\n bG8g  \r\n   d29y  \t \r\n    bGQ= \r\n\r\n\r\n--sub1--\r\n"
    )
    raw = (
        b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: message/rfc822\r\n\r\n"
        + inner
        + b"\r\n--b--\r\n"
    )
    structure = analyze(raw).structure
    node = structure["parts"][0]
    header, body, part = binary_entity(raw, node)
    assert header == b"Content-Type: message/rfc822\r\n\r\n"
    assert body == inner.replace(b"aGVs\r\nbG8gd29y\r\nbGQ=\r\n", b"hello world").replace(
        b"  aGVs    \r\n bG8g  \r\n   d29y  \t \r\n    bGQ= \r\n\r\n", b"hello world"
    ).replace(b"Encoding: base64", b"Encoding: binary").replace(b"encoding:BASE64", b"encoding: binary")
    leaves = part["message"]["parts"]
    assert [(p["encoding"], p["size"], p["lines"]) for p in leaves] == [("BASE64", 11, 0), ("BASE64", 11, 0)]
    assert (part["size"], part["lines"]) == (len(body), node["lines"] - 3 - 5)
    assert node["message"]["parts"][0]["size"] == 22  # the stored part is left alone
