"""The one place dnspython resolvers are built: the system's, or the
servers in MAIL_DNS_NAMESERVERS (host[:port], e.g. a local validating
resolver, or a test server on 127.0.0.1).

The relay (MX lookups) and the inbound checks (SPF, DKIM, DMARC) share
default_resolver(), which keeps answers for their TTL. The dashboard's
"check now" builds an uncached one each time: it must see a record the
admin has just published, not what an earlier question was told."""

from __future__ import annotations

import threading
import time
from typing import Any

import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
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


def negative_expiry(error: dns.resolver.NXDOMAIN | dns.resolver.NoAnswer) -> float:
    """When a negative answer may be forgotten (a time.time()): its SOA's TTL
    (RFC 2308 5), or now (not kept) without one."""
    if isinstance(error, dns.resolver.NXDOMAIN):
        response: Any = next(iter(error.kwargs.get("responses", {}).values()), None)
    else:
        response = error.kwargs.get("response")
    if response is None or not any(rrset.rdtype == dns.rdatatype.SOA for rrset in response.authority):
        return 0.0
    return time.time() + response.resolve_chaining().minimum_ttl


def txt_records(resolver: dns.resolver.Resolver, name: str, expiries: list[float] | None = None) -> list[bytes] | None:
    """The TXT strings at name, each record's strings joined (RFC 7208 3.3);
    None when the name does not exist. expiries, when given, gets when the
    answer may be forgotten (its TTL; a negative one's SOA minimum, or now),
    nothing for an error or a name that cannot exist."""
    try:
        answer = resolver.resolve(name, "TXT", search=False)
    except dns.resolver.NXDOMAIN as exc:
        if expiries is not None:
            expiries.append(negative_expiry(exc))
        return None
    except dns.resolver.NoAnswer as exc:
        if expiries is not None:
            expiries.append(negative_expiry(exc))
        return []
    except (dns.exception.Timeout, dns.resolver.NoNameservers, dns.resolver.LifetimeTimeout) as exc:
        raise DnsTemporary(str(exc)) from None
    except (dns.exception.SyntaxError, dns.name.NameTooLong, dns.name.LabelTooLong, dns.name.EmptyLabel):
        return None  # not a name that can exist (e.g. a malformed From: domain)
    except dns.exception.DNSException as exc:
        raise DnsTemporary(str(exc)) from None
    if expiries is not None:
        expiries.append(float(answer.expiration))
    return [b"".join(rdata.strings) for rdata in answer]
