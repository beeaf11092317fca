"""The one place dnspython resolvers are built: the system's, or the
servers in MAIL_DNS_NAMESERVERS (host[:port], e.g. a local validating
resolver, or a test server on 127.0.0.1).

The relay (MX lookups) and the inbound checks (SPF, DKIM, DMARC) share
default_resolver(), which keeps answers for their TTL. The dashboard's
"check now" builds an uncached one each time: it must see a record the
admin has just published, not what an earlier question was told."""

from __future__ import annotations

import threading

import dns.exception
import dns.name
import dns.nameserver
import dns.resolver

LIFETIME = 10.0
CACHE_ENTRIES = 4096

_lock = threading.Lock()
_default: tuple[tuple[str, ...], dns.resolver.Resolver] | None = None


def parse_hostport(text: str, default_port: int) -> tuple[str, int]:
    """'host', 'host:2525', '[::1]:2525', '::1' -> (host, port); ValueError if malformed."""
    text = text.strip()
    if not text:
        raise ValueError("empty host")
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        port_text = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    else:
        host, port_text = text, ""
    if not host:
        raise ValueError(f"no host in {text!r}")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise ValueError(f"bad port in {text!r}")
    return host, int(port_text)


def make_resolver(
    nameservers: list[str] | None = None, *, lifetime: float = LIFETIME, cache: bool = True
) -> dns.resolver.Resolver:
    """A resolver for the given host[:port] servers (None: from /etc/resolv.conf,
    or 127.0.0.1 where there is none). cache keeps answers (and NXDOMAINs with
    an SOA) for their TTL: every inbound message asks the same SPF/DMARC
    questions of its sender's domain."""
    if nameservers:
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = [dns.nameserver.Do53Nameserver(*parse_hostport(s, 53)) for s in nameservers]
    else:
        try:
            resolver = dns.resolver.Resolver()
        except dns.resolver.NoResolverConfiguration:
            resolver = dns.resolver.Resolver(configure=False)
            resolver.nameservers = ["127.0.0.1"]
    resolver.lifetime = lifetime
    resolver.timeout = min(lifetime, 5.0)
    resolver.cache = dns.resolver.LRUCache(CACHE_ENTRIES) if cache else None
    return resolver


def default_resolver() -> dns.resolver.Resolver:
    """The caching resolver for MAIL_DNS_NAMESERVERS (made again if the setting changes)."""
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
