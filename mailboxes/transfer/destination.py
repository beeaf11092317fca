"""Where an IMAP import may connect, and the connection to the address that was checked.

An import started in the webmail connects from our side of the firewall.
Unchecked, a user could point it at our loopback, our private networks or
this very machine and learn from the outcome what listens there (a port scan,
and the banner through an error text). So for a web import the host is
resolved once, every address is checked, and the connection goes to a
checked address: a DNS answer that changes between the check and the connect
(rebinding) changes nothing, nor does one on a reconnect.

Refused, unless the address is in a network of MAIL_IMPORT_ALLOWED_NETWORKS
(an old server on the LAN; the tests' loopback servers):
- everything that is not global unicast: loopback, private, link-local,
  shared (100.64.0.0/10), documentation, multicast, reserved, unspecified,
  IPv6 site-local;
- IPv6 forms that carry an IPv4 address (IPv4-mapped, 6to4, NAT64's
  64:ff9b::/96) whose IPv4 address is refused;
- this machine's own addresses: any address a socket here can bind, and
  MAIL_HOSTNAME's (ours behind a NAT that forwards to us).

The user only ever hears "cannot connect to HOST:PORT", whatever the reason:
why is logged (docs/SECURITY.md, "Webmail: compose and imports").
"""

from __future__ import annotations

import ipaddress
import logging
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from .source import SourceError

log = logging.getLogger("mailboxes.transfer")
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 2.1


@dataclass(frozen=True)
class Address:
    family: int
    sockaddr: tuple[Any, ...]  # as getaddrinfo gives it: (ip, port) or (ip, port, flowinfo, scope_id)

    @property
    def ip(self) -> IPAddress:
        return ipaddress.ip_address(str(self.sockaddr[0]).split("%")[0])


def where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def unreachable(host: str, port: int) -> SourceError:
    """The one text a user sees for a server we will not or cannot reach."""
    return SourceError(f"cannot connect to {where(host, port)}")


def resolve(host: str, port: int, *, public_only: bool) -> list[Address]:
    """host's addresses for port, resolved once. With public_only (an import
    started on the web) only those an import may reach; none is SourceError."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        log.info("import from %r: cannot resolve it: %s", host, exc)
        raise unreachable(host, port) from None
    addresses = list(
        dict.fromkeys(
            Address(family, sockaddr)
            for family, _, _, _, sockaddr in infos
            if family in (socket.AF_INET, socket.AF_INET6)
        )
    )
    if public_only:
        allowed = [ipaddress.ip_network(n, strict=False) for n in settings.MAIL_IMPORT_ALLOWED_NETWORKS]
        addresses = [a for a in addresses if not refused(a.ip, allowed)]
    if not addresses:
        log.info("import from %r: no address it may connect to (MAIL_IMPORT_ALLOWED_NETWORKS)", host)
        raise unreachable(host, port)
    return addresses


def refused(ip: IPAddress, allowed: Sequence[ipaddress.IPv4Network | ipaddress.IPv6Network] = ()) -> bool:
    """May an import started on the web not connect to ip?"""
    forms = _forms(ip)
    if any(form in network for form in forms for network in allowed if form.version == network.version):
        return False
    return any(not _public(form) or ours(form) for form in forms)


def ours(ip: IPAddress) -> bool:
    """Is ip an address of this machine? Binding succeeds only for a local
    address (port 0: no port is taken); MAIL_HOSTNAME's count too."""
    family = socket.AF_INET6 if ip.version == 6 else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as probe:
        try:
            probe.bind((str(ip), 0))
            return True
        except OSError:
            pass
    try:
        named = socket.getaddrinfo(settings.MAIL_HOSTNAME, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return False
    return any(str(sockaddr[0]).split("%")[0] == str(ip) for *_, sockaddr in named)


def connect(addresses: Iterable[Address], timeout: float | None) -> socket.socket:
    """A TCP connection to the first of the checked addresses that answers."""
    error: OSError = OSError("no address")
    for address in addresses:
        sock = socket.socket(address.family, socket.SOCK_STREAM)
        try:
            sock.settimeout(timeout)
            sock.connect(address.sockaddr)
            return sock
        except OSError as exc:
            sock.close()
            error = exc
    raise error


def _forms(ip: IPAddress) -> list[IPAddress]:
    """ip and the IPv4 address an IPv6 address carries (6to4, NAT64); an
    IPv4-mapped address is only its IPv4 address written another way."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return [ip]
    if ip.ipv4_mapped is not None:
        return [ip.ipv4_mapped]
    forms: list[IPAddress] = [ip]
    if ip.sixtofour is not None:
        forms.append(ip.sixtofour)
    if ip in _NAT64:
        forms.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    return forms


def _public(ip: IPAddress) -> bool:
    site_local = isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local
    return ip.is_global and not (
        ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_private
        or site_local
    )
