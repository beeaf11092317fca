"""The DNS resolver the relay and the inbound checks use (dnspython): the
system's, or the servers in MAIL_DNS_NAMESERVERS (host[:port], e.g. a local
validating resolver, or a test server on 127.0.0.1)."""
from __future__ import annotations

import threading

import dns.exception
import dns.name
import dns.nameserver
import dns.resolver

from .plan import parse_hostport

_lock = threading.Lock()
_default: tuple[tuple[str, ...], dns.resolver.Resolver] | None = None
LIFETIME = 10.0


def make_resolver(nameservers: list[str] | None = None, *, lifetime: float = LIFETIME) -> dns.resolver.Resolver:
    """A resolver for the given host[:port] servers (None: from /etc/resolv.conf)."""
    if nameservers:
        resolver = dns.resolver.Resolver(configure=False)
        servers = []
        for item in nameservers:
            host, port = parse_hostport(item, 53)
            servers.append(dns.nameserver.Do53Nameserver(host, port))
        resolver.nameservers = servers
    else:
        try:
            resolver = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = ["127.0.0.1"]
    resolver.lifetime = lifetime
    resolver.timeout = min(lifetime, 5.0)
    # Answers (and NXDOMAINs with an SOA) are kept for their TTL: every inbound
    # message asks the same SPF/DMARC questions of its sender's domain.
    resolver.cache = dns.resolver.LRUCache(4096)
    return resolver


def default_resolver() -> dns.resolver.Resolver:
    """The resolver for MAIL_DNS_NAMESERVERS (made again if the setting changes)."""
    global _default
    from django.conf import settings
    servers = tuple(settings.MAIL_DNS_NAMESERVERS)
    with _lock:
        if _default is None or _default[0] != servers:
            _default = (servers, make_resolver(list(servers) or None))
        return _default[1]


class DnsTemporary(Exception):
    """The DNS did not answer (timeout, SERVFAIL): try again later."""


def txt_records(resolver: dns.resolver.Resolver, name: str) -> list[bytes] | None:
    """The TXT strings at name, each record's strings joined (RFC 7208 3.3);
    None when the name does not exist."""
    try:
        answer = resolver.resolve(name, "TXT", search=False)
    except dns.resolver.NXDOMAIN:
        return None
    except dns.resolver.NoAnswer:
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as exc:
        raise DnsTemporary(str(exc)) from None
    except (dns.exception.SyntaxError, dns.name.NameTooLong, dns.name.LabelTooLong, dns.name.EmptyLabel):
        return None  # not a name that can exist (e.g. a malformed From: domain)
    except dns.exception.DNSException as exc:
        raise DnsTemporary(str(exc)) from None
    return [b"".join(rdata.strings) for rdata in answer]
