"""DANE for SMTP (RFC 7672): TLSA records of MX hosts, looked up through the
configured resolver, which we trust to validate DNSSEC: an answer counts as
secure only with the AD bit (RFC 6840 5.7 asks for it with AD in the query;
MAIL_DNS_NAMESERVERS must be a validating resolver on a trusted path, e.g.
on the same machine).

- Usable records (RFC 7672 3.1): DANE-TA(2) and DANE-EE(3), selector Cert(0)
  or SPKI(1), matching Full(0), SHA2-256(1) or SHA2-512(2); PKIX-TA(0) and
  PKIX-EE(1) are not usable for SMTP.
- DANE-EE: the leaf matches; its names and dates do not count (3.1.1).
- DANE-TA: a certificate the server sent above its leaf matches, the leaf
  chains to it and names the MX host (3.1.2, 3.2.2); checked by
  cryptography's X.509 verifier with that certificate as the only anchor.
- A secure TLSA RRset with no usable record still makes TLS mandatory,
  without authentication (2.2). A TLSA lookup that fails defers the host.
- Only behind a secure MX RRset (2.2.1; deliver.route asks mx.mx_lookup
  through dnssec_resolver): for an insecure MX no TLSA record is looked up,
  so none can apply and a failing lookup cannot hold mail up. A domain
  without MX records is its own MX when the NODATA answer is secure.
- Deviation: the MX hosts' address records are not required to be secure
  too (2.2.2).

The record parsing and matching are pure; lookup() does the I/O.
"""

from __future__ import annotations

import datetime
import hashlib
from dataclasses import dataclass

import dns.exception
import dns.flags
import dns.resolver

from mailboxes.dns import DnsTemporary

DANE_TA, DANE_EE = 2, 3


@dataclass(frozen=True)
class Tlsa:
    usage: int
    selector: int
    mtype: int
    data: bytes

    @property
    def usable(self) -> bool:
        return self.usage in (DANE_TA, DANE_EE) and self.selector in (0, 1) and self.mtype in (0, 1, 2)


@dataclass(frozen=True)
class TlsaLookup:
    secure: bool
    records: tuple[Tlsa, ...]

    @property
    def applies(self) -> bool:
        """RFC 7672 2.2: a secure, non-empty TLSA RRset makes DANE apply."""
        return self.secure and bool(self.records)

    @property
    def usable(self) -> tuple[Tlsa, ...]:
        return tuple(r for r in self.records if r.usable)


def _selected(record: Tlsa, der: bytes) -> bytes:
    if record.selector == 0:
        return der
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    return (
        x509.load_der_x509_certificate(der)
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )


def matches(record: Tlsa, der: bytes) -> bool:
    """Does the certificate (DER) match the record's selector and matching type?"""
    try:
        selected = _selected(record, der)
    except ValueError:
        return False
    if record.mtype == 1:
        selected = hashlib.sha256(selected).digest()
    elif record.mtype == 2:
        selected = hashlib.sha512(selected).digest()
    return selected == record.data


def verify(
    records: tuple[Tlsa, ...], chain: list[bytes], name: str, now: datetime.datetime | None = None
) -> str | None:
    """None when the chain the server sent (leaf first, DER) satisfies a
    usable record for MX host name; else why not."""
    usable = [r for r in records if r.usable]
    if not chain:
        return "the server sent no certificate"
    if any(matches(r, chain[0]) for r in usable if r.usage == DANE_EE):
        return None
    for record in (r for r in usable if r.usage == DANE_TA):
        for index, der in enumerate(chain[1:], start=1):
            if matches(record, der):
                problem = _chains_to(chain[0], chain[1:index], der, name, now)
                if problem is None:
                    return None
                return problem
    return "no TLSA record matches the certificate"


def _chains_to(
    leaf_der: bytes, intermediates: list[bytes], anchor_der: bytes, name: str, now: datetime.datetime | None
) -> str | None:
    from cryptography import x509
    from cryptography.x509 import verification

    try:
        verifier = (
            verification.PolicyBuilder()
            .store(verification.Store([x509.load_der_x509_certificate(anchor_der)]))
            .time(now or datetime.datetime.now(datetime.UTC))
            .build_server_verifier(x509.DNSName(name))
        )
        verifier.verify(
            x509.load_der_x509_certificate(leaf_der), [x509.load_der_x509_certificate(d) for d in intermediates]
        )
    except (verification.VerificationError, ValueError) as exc:
        return f"the certificate does not chain to the DANE-TA anchor for {name}: {exc}"
    return None


def lookup(name: str, port: int, resolver: dns.resolver.Resolver) -> TlsaLookup:
    """The TLSA records at _port._tcp.name and whether the resolver vouched for
    them (AD). No records (NXDOMAIN, NoAnswer) is a secure-or-not empty set;
    a failed lookup raises DnsTemporary (RFC 7672 2.2: defer, do not guess)."""
    try:
        answer = resolver.resolve(f"_{port}._tcp.{name}", "TLSA", search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return TlsaLookup(False, ())
    except dns.exception.DNSException as exc:
        raise DnsTemporary(f"TLSA lookup for {name} failed: {exc.__class__.__name__}") from None
    secure = bool(answer.response.flags & dns.flags.AD)
    return TlsaLookup(secure, tuple(Tlsa(r.usage, r.selector, r.mtype, r.cert) for r in answer))


def dnssec_resolver(resolver: dns.resolver.Resolver) -> dns.resolver.Resolver:
    """A resolver for the same servers that asks for the AD bit (RFC 6840 5.7)
    with EDNS0 DO, and keeps no cache of its own."""
    secure = dns.resolver.Resolver(configure=False)
    secure.nameservers = resolver.nameservers
    secure.lifetime, secure.timeout = resolver.lifetime, resolver.timeout
    secure.flags = dns.flags.RD | dns.flags.AD
    secure.use_edns(0, dns.flags.DO, 1232)
    return secure
