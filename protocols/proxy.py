"""The PROXY protocol header (HAProxy's "PROXY protocol" specification,
versions 1 and 2): a load balancer in TCP mode opens each connection it
forwards with the client's real address. Pure: bytes in, values out.

Implementation notes:
- v1 (text): "PROXY TCP4|TCP6 src dst sport dport\\r\\n", or "PROXY UNKNOWN
  ...\\r\\n" (the balancer does not know: keep the connection's own address).
  At most 107 octets (spec 2.1).
- v2 (binary): the 12-octet signature, version/command, family/transport,
  a 16-bit length, then addresses and TLVs (spec 2.2). LOCAL (a health
  check from the balancer itself) and UNSPEC families keep the connection's
  own address; TLVs are skipped. Only TCP over IPv4/IPv6 carries an address;
  UNIX sockets and UDP are refused.
- Whether a peer may send a header at all is the listener's decision
  (MAIL_PROXY_TRUSTED), not this module's.
"""

from __future__ import annotations

import ipaddress
import struct
from dataclasses import dataclass

from mailhost.networks import in_networks

V1_PREFIX = b"PROXY "
V1_MAX = 107  # spec 2.1: the longest v1 line, CRLF included
V2_SIGNATURE = b"\r\n\r\n\x00\r\nQUIT\n"
V2_HEADER = 16  # signature, ver/cmd, fam, len
V2_MAX = V2_HEADER + 65535


class ProxyError(ValueError):
    """Not a valid PROXY header: the connection is dropped."""


@dataclass(frozen=True)
class ProxyHeader:
    version: int
    source: tuple[str, int] | None  # None: keep the connection's own address (LOCAL, UNKNOWN)
    destination: tuple[str, int] | None = None


def needed(data: bytes) -> int:
    """How many octets the header starting `data` needs in all, as far as
    can be told (0: a v1 line, read up to its LF); raises ProxyError when
    data cannot start a header."""
    if data.startswith(V2_SIGNATURE[: len(data)]) and len(data) < len(V2_SIGNATURE):
        return V2_HEADER
    if data.startswith(V2_SIGNATURE):
        if len(data) < V2_HEADER:
            return V2_HEADER
        return V2_HEADER + struct.unpack("!H", data[14:16])[0]
    if V1_PREFIX.startswith(data[: len(V1_PREFIX)]):
        return 0
    raise ProxyError("no PROXY header")


def parse(data: bytes) -> ProxyHeader:
    """The header that is exactly `data` (a v1 line with its CRLF, or a whole v2 block)."""
    if data.startswith(V2_SIGNATURE):
        return _parse_v2(data)
    if data.startswith(V1_PREFIX):
        return _parse_v1(data)
    raise ProxyError("no PROXY header")


def _parse_v1(data: bytes) -> ProxyHeader:
    if len(data) > V1_MAX or not data.endswith(b"\r\n") or b"\r\n" in data[:-2]:
        raise ProxyError("malformed v1 line")
    fields = data[:-2].split(b" ")
    if len(fields) >= 2 and fields[1] == b"UNKNOWN":
        return ProxyHeader(1, None)
    if len(fields) != 6 or fields[1] not in (b"TCP4", b"TCP6"):
        raise ProxyError("malformed v1 line")
    version = 4 if fields[1] == b"TCP4" else 6
    try:
        source = _address(fields[2].decode("ascii"), fields[4].decode("ascii"), version)
        destination = _address(fields[3].decode("ascii"), fields[5].decode("ascii"), version)
    except (UnicodeDecodeError, ValueError):
        raise ProxyError("malformed v1 address") from None
    return ProxyHeader(1, source, destination)


def _address(host: str, port: str, version: int) -> tuple[str, int]:
    ip = ipaddress.ip_address(host)
    # spec 2.1: ports are decimal without leading zeros, 0..65535
    if ip.version != version or not port.isdigit() or (len(port) > 1 and port[0] == "0") or int(port) > 65535:
        raise ValueError(host)
    return str(ip), int(port)


def _parse_v2(data: bytes) -> ProxyHeader:
    if len(data) < V2_HEADER or len(data) != needed(data):
        raise ProxyError("truncated v2 header")
    version_command, family = data[12], data[13]
    if version_command >> 4 != 2:
        raise ProxyError("unknown v2 version")
    command = version_command & 0x0F
    if command == 0:  # LOCAL: the balancer's own connection (health check)
        return ProxyHeader(2, None)
    if command != 1:
        raise ProxyError("unknown v2 command")
    body = data[V2_HEADER:]
    if family == 0x00:  # UNSPEC
        return ProxyHeader(2, None)
    if family == 0x11 and len(body) >= 12:  # TCP over IPv4
        src, dst, sport, dport = struct.unpack("!4s4sHH", body[:12])
    elif family == 0x21 and len(body) >= 36:  # TCP over IPv6
        src, dst, sport, dport = struct.unpack("!16s16sHH", body[:36])
    else:
        raise ProxyError("unsupported v2 address family")
    return ProxyHeader(2, (str(ipaddress.ip_address(src)), sport), (str(ipaddress.ip_address(dst)), dport))


def trusted(peer_ip: str, networks: list[str]) -> bool:
    """Is peer_ip one of the networks (addresses or CIDR blocks)?"""
    return in_networks(peer_ip, networks)
