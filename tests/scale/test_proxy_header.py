"""The PROXY protocol header parser (protocols/proxy.py): pure, table-driven,
each valid header also read the way the listener reads it, octet by octet."""

from __future__ import annotations

import socket
import struct

import pytest

from protocols import proxy

SIG = proxy.V2_SIGNATURE


def v2(command: int, family: int, body: bytes) -> bytes:
    return SIG + bytes([0x20 | command, family]) + struct.pack("!H", len(body)) + body


V4_BODY = socket.inet_aton("203.0.113.7") + socket.inet_aton("192.0.2.1") + struct.pack("!HH", 51234, 143)
V6_BODY = (
    socket.inet_pton(socket.AF_INET6, "2001:db8::7")
    + socket.inet_pton(socket.AF_INET6, "2001:db8::1")
    + struct.pack("!HH", 40000, 995)
)

VALID = [
    (
        b"PROXY TCP4 203.0.113.7 192.0.2.1 51234 143\r\n",
        proxy.ProxyHeader(1, ("203.0.113.7", 51234), ("192.0.2.1", 143)),
    ),
    (
        b"PROXY TCP6 2001:db8::7 2001:db8::1 40000 995\r\n",
        proxy.ProxyHeader(1, ("2001:db8::7", 40000), ("2001:db8::1", 995)),
    ),
    (b"PROXY UNKNOWN\r\n", proxy.ProxyHeader(1, None)),
    (b"PROXY UNKNOWN ffff:f...f:ffff ffff:f...f:ffff 65535 65535\r\n", proxy.ProxyHeader(1, None)),
    (v2(1, 0x11, V4_BODY), proxy.ProxyHeader(2, ("203.0.113.7", 51234), ("192.0.2.1", 143))),
    (v2(1, 0x11, V4_BODY + b"\x04\x00\x01X"), proxy.ProxyHeader(2, ("203.0.113.7", 51234), ("192.0.2.1", 143))),
    (v2(1, 0x21, V6_BODY), proxy.ProxyHeader(2, ("2001:db8::7", 40000), ("2001:db8::1", 995))),
    (v2(0, 0x00, b""), proxy.ProxyHeader(2, None)),  # LOCAL: a health check from the balancer
    (v2(1, 0x00, b""), proxy.ProxyHeader(2, None)),
]

INVALID = [
    b"GET / HTTP/1.0\r\n",
    b"PROXY TCP4 203.0.113.7 192.0.2.1 51234\r\n",
    b"PROXY TCP4 2001:db8::7 192.0.2.1 51234 143\r\n",
    b"PROXY TCP4 203.0.113.7 192.0.2.1 051234 143\r\n",
    b"PROXY TCP4 203.0.113.7 192.0.2.1 70000 143\r\n",
    b"PROXY TCP4 203.0.113.7 192.0.2.1 51234 143\n",
    b"PROXY UDP4 203.0.113.7 192.0.2.1 51234 143\r\n",
    b"PROXY TCP4 " + b"1" * 100 + b"\r\n",
    v2(1, 0x11, V4_BODY[:8]),
    v2(2, 0x11, V4_BODY),
    v2(1, 0x31, b"\x00" * 216),  # UNIX sockets carry no client address
    SIG + bytes([0x31, 0x11]) + struct.pack("!H", 12) + V4_BODY,  # version 3
]


@pytest.mark.parametrize("data, expected", VALID)
def test_a_valid_header_gives_the_client_address(data: bytes, expected: proxy.ProxyHeader) -> None:
    assert proxy.parse(data) == expected


@pytest.mark.parametrize("data, expected", VALID)
def test_a_header_read_octet_by_octet_stops_exactly_at_its_end(data: bytes, expected: proxy.ProxyHeader) -> None:
    read = data[:5]
    while (size := proxy.needed(read)) > len(read):
        read += data[len(read) : size]
    if size == 0:
        while not read.endswith(b"\n"):
            read += data[len(read) : len(read) + 1]
    assert read == data
    assert proxy.parse(read) == expected


@pytest.mark.parametrize("data", INVALID)
def test_a_malformed_header_is_refused(data: bytes) -> None:
    with pytest.raises(proxy.ProxyError):
        proxy.needed(data[:16])
        proxy.parse(data)


@pytest.mark.parametrize(
    "peer, networks, expected",
    [
        ("127.0.0.1", ["127.0.0.1"], True),
        ("10.1.2.3", ["10.0.0.0/8"], True),
        ("::ffff:10.1.2.3", ["10.0.0.0/8"], True),
        ("2001:db8::5", ["2001:db8::/32"], True),
        ("10.1.2.3", ["192.168.0.0/16", "127.0.0.1"], False),
        ("10.1.2.3", [], False),
        ("not an address", ["0.0.0.0/0"], False),
    ],
)
def test_only_configured_peers_are_trusted(peer: str, networks: list[str], expected: bool) -> None:
    assert proxy.trusted(peer, networks) is expected
