"""What the brute-force defence counts failures against: one key per
account, however its address was spelt, and one per client network.

An account: the address with every space removed and normalised as the store
keeps addresses (lower case, no angle brackets, no trailing dot on the
domain), so `<Alice@Example.Test.>` and `alice@ example.test` spend alice's
budget. Only case and surrounding spaces are a spelling a login may use; any
other spelling is refused before the account is looked up (is_login_name).

A client: an IPv4 address as it is, an IPv6 address by its /64 (one site or
one customer gets a /64, and an attacker holding one has 2^64 addresses,
RFC 6177 2), an IPv4-mapped IPv6 address (`::ffff:192.0.2.1`, a dual-stack
socket's view of an IPv4 client) as the IPv4 address it maps."""

from __future__ import annotations

import ipaddress

from mailhost.networks import parse_ip

from .addresses import normalize_address
from .errors import InvalidInput

IPV6_CLIENT_PREFIX = 64


def text(value: str) -> str:
    """Undecodable bytes (the parsers keep them as surrogates) and NULs
    escaped: Redis keys and PostgreSQL text can hold neither."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8").replace("\x00", "\\x00")


def account_key(address: str) -> str:
    """The account these credentials are for, as failures are counted."""
    squeezed = "".join(address.split())
    try:
        return normalize_address(squeezed)
    except InvalidInput:  # names no account: counted under itself
        return text(squeezed.lower()[:400])


def is_login_name(address: str) -> bool:
    """Is this a spelling a login may use: the address as the store keeps it,
    in any case, with spaces around it at most."""
    return address.strip().lower() == account_key(address)


def client_key(ip: str) -> str:
    """The client whose failures are counted together ('' stays '': no IP)."""
    address = parse_ip(ip.partition("/")[0])  # "2001:db8::/64", as the dashboard lists a block
    if address is None:
        return text(ip.strip()[:64])
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((address, IPV6_CLIENT_PREFIX), strict=False))
    return str(address)
