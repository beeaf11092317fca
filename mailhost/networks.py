"""Client addresses and the networks they are checked against, for the web
(mailhost/clientip.py) and the mail listeners' PROXY protocol peers
(protocols/proxy.py). Pure: no Django."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_ip(text: str) -> Address | None:
    """An address as a peer or a proxy writes it: plain, or `[v6]:port`,
    `v4:port`; an IPv4-mapped IPv6 address as the IPv4 address it maps."""
    text = text.strip()
    if text.startswith("["):
        text = text[1:].partition("]")[0]
    elif text.count(":") == 1:
        text = text.partition(":")[0]
    try:
        ip = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    return ip


def in_networks(ip: str, networks: Iterable[str]) -> bool:
    """Is ip in one of the networks (addresses or CIDR blocks)? An entry
    that is not one matches nothing."""
    address = parse_ip(ip)
    if address is None:
        return False
    for network in networks:
        try:
            if address in ipaddress.ip_network(network, strict=False):
                return True
        except ValueError:
            continue
    return False
