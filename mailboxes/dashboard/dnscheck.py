"""The DNS records a hosted domain should publish, and a check of what the
DNS really says about each (found, missing, different).

- MX (RFC 5321 5.1) pointing at MAIL_HOSTNAME;
- SPF (RFC 7208): the domain's MX hosts may send for it;
- DKIM (RFC 6376 3.6.2.1): selector._domainkey TXT for each key in the store;
- DMARC (RFC 7489 6.1): _dmarc TXT, quarantine, reports to postmaster;
- client SRV records (RFC 6186 3.1; _submissions is RFC 8314 5.1; _sieve,
  where Sieve editors find ManageSieve, is RFC 5804 1.8), implicit
  TLS preferred (RFC 8314 5.1); a listener that is off is published as
  "0 0 0 ." (service not available, RFC 2782 and RFC 6186 3.4);
- autoconfig.<domain> and autodiscover.<domain> (Thunderbird's and
  Outlook's client configuration) as CNAMEs of MAIL_HOSTNAME;
- with an MTA-STS policy (RFC 8461 3.1): _mta-sts TXT "v=STSv1; id=..."
  (the id changes with the mode) and mta-sts.<domain>, the policy's host,
  as a CNAME of MAIL_HOSTNAME;
- DANE (RFC 7672): _25._tcp.MAIL_HOSTNAME TLSA 3 1 1, the key of the live
  certificate (in MAIL_HOSTNAME's zone, which must be DNSSEC-signed);
- TLS reporting (RFC 8460 3): _smtp._tls TXT, reports to postmaster.

Expected records come from settings (MAIL_HOSTNAME, MAIL_PORTS) and the
domain's DKIM keys; no I/O. check_records() asks dnspython, through an
uncached resolver from mailboxes.dns, nothing else.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import dns.exception
import dns.resolver

from mailboxes.dns import make_resolver

TTL = 3600
TXT_CHUNK = 255  # one character-string (RFC 1035 3.3.14)
# (SRV service, listener, priority): implicit TLS first (RFC 8314 5.1)
SRV_SERVICES = (
    ("submissions", "smtps", 0),
    ("submission", "submission", 10),
    ("imaps", "imaps", 0),
    ("imap", "imap", 10),
    ("pop3s", "pop3s", 10),
    ("pop3", "pop3", 20),
    ("sieve", "managesieve", 0),
)  # ManageSieve, RFC 5804 1.8
CHECK_THREADS = 8
CHECK_LIFETIME = 4.0  # seconds per lookup: the admin is waiting for the page


@dataclass(frozen=True)
class Record:
    name: str  # owner name, fully qualified, without the final dot
    rtype: str  # MX, TXT, SRV or CNAME
    value: str  # presentation form; for TXT the text itself, unquoted
    purpose: str
    tag: str = ""  # TXT: what a record of this kind starts with ("v=spf1")

    def zone_line(self) -> str:
        value = quote_txt(self.value) if self.rtype == "TXT" else self.value
        return f"{self.name}. {TTL} IN {self.rtype} {value}"


@dataclass(frozen=True)
class Check:
    record: Record
    status: str  # found | missing | different | error
    seen: tuple[str, ...] = ()


def quote_txt(text: str) -> str:
    """A TXT value as zone-file strings, split at 255 octets (long DKIM keys)."""
    chunks = [text[i : i + TXT_CHUNK] for i in range(0, len(text), TXT_CHUNK)] or [""]
    return " ".join('"' + c.replace("\\", "\\\\").replace('"', '\\"') + '"' for c in chunks)


def expected_records(
    domain: str,
    *,
    hostname: str,
    ports: dict[str, int],
    dkim: list[tuple[str, str]],
    mta_sts_id: str = "",
    tlsa: str = "",
) -> list[Record]:
    """dkim: (dns name, TXT value) of each key the domain signs with;
    mta_sts_id: the id of the domain's MTA-STS policy ("" when it has none);
    tlsa: the DANE-EE record of the live certificate ("" when unreadable)."""
    host = hostname.rstrip(".") + "."
    records = [
        Record(domain, "MX", f"10 {host}", "mail for the domain goes to this host"),
        Record(domain, "TXT", "v=spf1 mx -all", "SPF: only the domain's MX hosts send its mail", "v=spf1"),
    ]
    records += [
        Record(name, "TXT", value, "DKIM: the public key that signatures are checked with", "v=DKIM1")
        for name, value in dkim
    ]
    records.append(
        Record(
            f"_dmarc.{domain}",
            "TXT",
            f"v=DMARC1; p=quarantine; rua=mailto:postmaster@{domain}",
            "DMARC: what receivers do with mail that fails SPF and DKIM",
            "v=DMARC1",
        )
    )
    for service, listener, priority in SRV_SERVICES:
        port = ports.get(listener, 0)
        value = f"{priority} 1 {port} {host}" if port else "0 0 0 ."
        records.append(
            Record(
                f"_{service}._tcp.{domain}",
                "SRV",
                value,
                f"RFC {5804 if service == 'sieve' else 6186}: where mail clients find {service}"
                + ("" if port else " (off)"),
            )
        )
    for name in ("autoconfig", "autodiscover"):
        records.append(Record(f"{name}.{domain}", "CNAME", host, f"{name.title()} client configuration"))
    if mta_sts_id:
        records.append(
            Record(
                f"_mta-sts.{domain}",
                "TXT",
                f"v=STSv1; id={mta_sts_id}",
                "MTA-STS: senders fetch the policy again when the id changes",
                "v=STSv1",
            )
        )
        records.append(Record(f"mta-sts.{domain}", "CNAME", host, "MTA-STS: the host serving the policy over HTTPS"))
    records.append(
        Record(
            f"_smtp._tls.{domain}",
            "TXT",
            f"v=TLSRPTv1; rua=mailto:postmaster@{domain}",
            "TLS reporting: where senders report TLS failures with our host",
            "v=TLSRPTv1",
        )
    )
    if tlsa:
        records.append(
            Record(
                f"_25._tcp.{hostname.rstrip('.')}",
                "TLSA",
                tlsa,
                "DANE: pins the key of the mail host's certificate (the ACME renewal keeps the key; "
                "publish a new key's record two TTLs before changing it)",
            )
        )
    return records


# --- checking -------------------------------------------------------------


class LookupFailed(Exception):
    """The DNS gave no usable answer (timeout, SERVFAIL, no servers)."""


def check_records(records: list[Record], nameservers: list[str] | None = None) -> list[Check]:
    """Look every record up, several at a time (the page waits for the slowest)."""
    # Uncached: "check now" must see a record published a minute ago, not
    # an answer (or NXDOMAIN) some earlier question was given.
    resolver = make_resolver(nameservers, lifetime=CHECK_LIFETIME, cache=False)
    with ThreadPoolExecutor(max_workers=CHECK_THREADS) as pool:
        return list(pool.map(lambda r: check_one(r, resolver), records))


def check_one(record: Record, resolver: dns.resolver.Resolver) -> Check:
    try:
        seen = lookup(resolver, record.name, record.rtype)
    except LookupFailed as exc:
        return Check(record, "error", (str(exc),))
    if record.rtype == "TXT":
        seen = tuple(s for s in seen if s.lower().startswith(record.tag.lower()))
    if not seen:
        return Check(record, "missing")
    want = _key(record.rtype, record.tag, record.value)
    found = any(_key(record.rtype, record.tag, s) == want for s in seen)
    return Check(record, "found" if found else "different", seen)


def lookup(resolver: dns.resolver.Resolver, name: str, rtype: str) -> tuple[str, ...]:
    """The answers at name in presentation form (TXT: strings joined); () if none."""
    try:
        answer = resolver.resolve(name + ".", rtype, search=False)
    except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
        return ()
    except dns.resolver.NoNameservers:
        raise LookupFailed("no name server answered") from None
    except dns.exception.Timeout:
        raise LookupFailed("the lookup timed out") from None
    except dns.exception.DNSException as exc:
        raise LookupFailed(type(exc).__name__) from None
    if rtype == "TXT":
        return tuple(b"".join(r.strings).decode("utf-8", "replace") for r in answer)
    return tuple(r.to_text() for r in answer)


def _key(rtype: str, tag: str, value: str) -> object:
    """What must match for a published record to count as the expected one."""
    fields = value.split()
    if rtype == "MX":  # the exchange; preference is the admin's choice
        return fields[-1].lower().rstrip(".")
    if rtype == "SRV":  # port and target; priority and weight are the admin's choice
        return (fields[2], fields[3].lower().rstrip(".")) if len(fields) == 4 else value
    if rtype == "CNAME":
        return value.lower().rstrip(".")
    if rtype == "TLSA":  # usage, selector, type and data; the data's spacing and case do not count
        return "".join(fields).lower()
    tags = dict(_tag_value(part) for part in value.split(";") if part.strip())
    if tag == "v=DKIM1":  # the key is what matters (k= defaults to rsa, RFC 6376 3.6.1)
        return tags.get("p", "").replace(" ", "")
    if tag == "v=spf1":
        return " ".join(value.lower().split())
    return {k.lower(): v.lower() for k, v in tags.items()}


def _tag_value(part: str) -> tuple[str, str]:
    name, _, value = part.partition("=")
    return name.strip(), "".join(value.split())
