"""MTA-STS for outbound mail (RFC 8461): discover, fetch, cache and apply a
destination domain's policy.

- Discovery (3.1): the TXT record at _mta-sts.<domain>, "v=STSv1; id=...".
- Fetch (3.3): https://mta-sts.<domain>/.well-known/mta-sts.txt through
  https.request (the address from our resolver, the certificate verified
  against the system's trust store and that name, no redirects), text/plain,
  at most 64 KiB. MAIL_RELAY_MTA_STS_PORT (443) exists for tests.
- Cache (5.1, 10.3): in the database (store.cached_sts_policy), shared by every
  relay, for max_age. A TXT id that differs from the cached one triggers a
  fetch; a failed TXT lookup or fetch falls back to the cached policy, and
  without one the domain has no policy.
- Application (4, 5): "enforce": only MX hosts a policy mx pattern names,
  over TLS with a valid certificate for that name (client verify="pkix");
  none left, or none passing, defers the mail (then the usual retries and
  DSN). "testing": delivered as without a policy; what would have failed is
  logged. "none": no policy.

The parsers and matchers here are pure; policy_for() does the I/O.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import dns.resolver
from django.conf import settings

from mailboxes import store
from mailboxes.dns import DnsTemporary, txt_records

from . import https

log = logging.getLogger("protocols.relay.mtasts")

MAX_POLICY_SIZE = 64 * 1024  # RFC 8461 3.3: a limit is a SHOULD; 64 KiB is its example
MAX_AGE_LIMIT = 31557600  # RFC 8461 3.2: at most a year
_ID = re.compile(r"[A-Za-z0-9]{1,32}")


@dataclass(frozen=True)
class Policy:
    mode: str  # enforce | testing | none
    mx: tuple[str, ...]  # patterns: a host name or *.domain
    max_age: int
    policy_id: str = ""

    def lines(self) -> list[str]:
        """The policy as RFC 8460 4.4's policy-string: its lines."""
        return ["version: STSv1", f"mode: {self.mode}", *(f"mx: {m}" for m in self.mx), f"max_age: {self.max_age}"]

    def allows(self, host: str) -> bool:
        """RFC 8461 4.1: does an mx pattern name host?"""
        return any(name_matches(pattern, host) for pattern in self.mx)


def name_matches(pattern: str, host: str) -> bool:
    """A pattern "*.example.com" matches one label more ("mx.example.com",
    not "a.mx.example.com", not "example.com"); anything else matches itself;
    case and a final dot do not count (RFC 8461 4.1)."""
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        label, _, rest = host.partition(".")
        return bool(label) and rest == pattern[2:]
    return pattern == host


def parse_txt(records: list[bytes]) -> str | None:
    """The policy id of the one "v=STSv1" TXT record (RFC 8461 3.1); None when
    there is none, several, or it is malformed (then there is no policy)."""
    ours = [r for r in records if r.startswith(b"v=STSv1")]
    if len(ours) != 1:
        return None
    fields = {}
    for part in ours[0].decode("ascii", "replace").split(";"):
        key, sep, value = part.strip().partition("=")
        if sep and key not in fields:
            fields[key] = value.strip()
    policy_id = fields.get("id", "")
    return policy_id if _ID.fullmatch(policy_id) else None


def parse_policy(text: str) -> Policy | None:
    """RFC 8461 3.2: "key: value" lines (CRLF or LF); the first of a repeated
    key counts, except mx which may repeat; unknown keys are ignored. None
    when it is not a valid STSv1 policy."""
    fields: dict[str, str] = {}
    patterns: list[str] = []
    for line in text.replace("\r\n", "\n").split("\n"):
        key, sep, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if not sep:
            continue
        if key == "mx":
            patterns.append(value.lower())
        else:
            fields.setdefault(key, value)
    mode, age = fields.get("mode"), fields.get("max_age", "")
    if fields.get("version") != "STSv1" or mode not in ("enforce", "testing", "none"):
        return None
    if not age.isdigit() or len(age) > 10 or int(age) > MAX_AGE_LIMIT:
        return None
    if mode != "none" and not patterns:
        return None
    return Policy(mode=mode, mx=tuple(patterns), max_age=int(age))


class FetchFailed(Exception):
    pass


def fetch(domain: str, resolver: dns.resolver.Resolver) -> str:
    """The policy file of domain, over verified HTTPS (RFC 8461 3.3)."""
    host = f"mta-sts.{domain}"
    try:
        response = https.request(
            host,
            settings.MAIL_RELAY_MTA_STS_PORT,
            "GET",
            "/.well-known/mta-sts.txt",
            resolver,
            headers={"Accept": "text/plain"},
            limit=MAX_POLICY_SIZE,
        )
    except https.HttpsFailed as exc:
        raise FetchFailed(str(exc)) from None
    if response.status != 200:  # a redirect too (3.3: MUST NOT follow)
        raise FetchFailed(f"{host} answered HTTP {response.status}")
    if response.content_type != "text/plain":
        raise FetchFailed(f"{host} served {response.content_type}, not text/plain")
    return response.body.decode("utf-8", "replace")


def policy_for(domain: str, resolver: dns.resolver.Resolver) -> Policy | None:
    """The policy to apply to mail for domain now (RFC 8461 5.1), or None."""
    cached = store.cached_sts_policy(domain)
    cached_policy = parse_policy(cached.policy) if cached else None
    if cached_policy is not None and cached is not None:
        cached_policy = Policy(cached_policy.mode, cached_policy.mx, cached_policy.max_age, cached.policy_id)
    try:
        records = txt_records(resolver, f"_mta-sts.{domain}")
    except DnsTemporary:
        return _applicable(cached_policy)
    policy_id = parse_txt(records or [])
    if policy_id is None or (cached is not None and cached.policy_id == policy_id):
        return _applicable(cached_policy)
    try:
        text = fetch(domain, resolver)
    except FetchFailed as exc:
        log.warning("MTA-STS: fetching the policy of %s failed: %s", domain, exc)
        return _applicable(cached_policy)
    policy = parse_policy(text)
    if policy is None:
        log.warning("MTA-STS: %s publishes a policy that is not valid STSv1", domain)
        return _applicable(cached_policy)
    store.save_sts_policy(domain, policy_id, text, policy.max_age)
    return _applicable(Policy(policy.mode, policy.mx, policy.max_age, policy_id))


def _applicable(policy: Policy | None) -> Policy | None:
    return policy if policy is not None and policy.mode != "none" else None
