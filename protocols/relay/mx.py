"""Where mail for a domain goes: MX records, else the domain's own address
(RFC 5321 5.1), never anywhere for a null MX (RFC 7505). dnspython does the DNS."""

from __future__ import annotations

from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.resolver

from mailboxes.dns import DnsTemporary

from . import plan


class Undeliverable(Exception):
    """The domain cannot take mail at all (permanent): NXDOMAIN, null MX, no address."""

    def __init__(self, status: str, text: str) -> None:
        super().__init__(text)
        self.status = status


@dataclass(frozen=True)
class MxAnswer:
    """The hosts to try for a domain, best first, and whether the resolver
    vouched for the MX answer (or for its NODATA, when the domain is its own
    implicit MX) with the AD bit: RFC 7672 2.2.1 applies DANE only then."""

    hosts: list[str]
    secure: bool


def _query(  # type: ignore[no-untyped-def]
    resolver: dns.resolver.Resolver,
    name: str,
    rdtype: str,
    empty: list[dns.message.Message] | None = None,
):
    """The answer, or None for NoAnswer (its response appended to empty when
    given); NXDOMAIN propagates; failures are temporary."""
    try:
        return resolver.resolve(name, rdtype, search=False)
    except dns.resolver.NoAnswer as exc:
        if empty is not None:
            empty.append(exc.response())
        return None
    except dns.resolver.NXDOMAIN:
        raise
    except (dns.exception.SyntaxError, dns.name.NameTooLong, dns.name.LabelTooLong, dns.name.EmptyLabel):
        raise dns.resolver.NXDOMAIN from None  # a name that cannot exist
    except dns.exception.DNSException as exc:
        raise DnsTemporary(f"DNS lookup of {name} {rdtype} failed: {exc.__class__.__name__}") from None


def mx_lookup(domain: str, resolver: dns.resolver.Resolver) -> MxAnswer:
    """Host names to try for domain, best preference first, and whether the
    answer was secure (ask through dane.dnssec_resolver to learn that)."""
    empty: list[dns.message.Message] = []
    try:
        answer = _query(resolver, domain, "MX", empty)
    except dns.resolver.NXDOMAIN:
        raise Undeliverable(plan.NO_DOMAIN_STATUS, f"domain {domain} does not exist") from None
    if answer is None:  # no MX: the domain itself is the implicit MX (RFC 5321 5.1)
        return MxAnswer([domain], bool(empty and empty[0].flags & dns.flags.AD))
    hosts = plan.order_mx([(r.preference, r.exchange.to_text()) for r in answer])
    if hosts is None:
        raise Undeliverable(plan.NULL_MX_STATUS, f"domain {domain} accepts no mail (null MX)")
    return MxAnswer(hosts, bool(answer.response.flags & dns.flags.AD))


def mx_hosts(domain: str, resolver: dns.resolver.Resolver) -> list[str]:
    """Host names to try for domain, best preference first."""
    return mx_lookup(domain, resolver).hosts


def host_addresses(host: str, resolver: dns.resolver.Resolver) -> list[str]:
    """IPv4 then IPv6 addresses of host ([] when it has none)."""
    addresses: list[str] = []
    for rdtype in ("A", "AAAA"):
        try:
            answer = _query(resolver, host, rdtype)
        except dns.resolver.NXDOMAIN:
            return addresses
        if answer is not None:
            addresses.extend(r.address for r in answer)
    return addresses


def targets(
    domain: str, resolver: dns.resolver.Resolver, *, port: int = 25, hosts: list[str] | None = None
) -> list[plan.Target]:
    """Every address to try for domain (or for hosts, its MX hosts already
    looked up), in order. Raises Undeliverable or DnsTemporary."""
    hosts = mx_hosts(domain, resolver) if hosts is None else hosts
    result: list[plan.Target] = []
    temporary: DnsTemporary | None = None
    for host in hosts:
        try:
            result.extend(plan.Target(host, address, port) for address in host_addresses(host, resolver))
        except DnsTemporary as exc:
            temporary = exc
    if not result:
        if temporary is not None:
            raise temporary
        raise Undeliverable(plan.NO_DOMAIN_STATUS, f"no address for the mail hosts of {domain}")
    return result
