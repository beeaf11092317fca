"""DKIM signing of outbound mail (RFC 6376; Ed25519 per RFC 8463) with dkimpy,
using the active key of the domain the store recorded on the queued message
(store.signing_domain: the author's domain, when the account that submitted
it may use it; never for mail we only forward)."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import dkim

from mailboxes import store

from . import plan

log = logging.getLogger("protocols.relay")
# RFC 6376 5.4.1: the fields worth signing; From is required.
SIGNED_HEADERS = [
    b"from",
    b"to",
    b"cc",
    b"subject",
    b"date",
    b"message-id",
    b"reply-to",
    b"in-reply-to",
    b"references",
    b"mime-version",
    b"content-type",
    b"content-transfer-encoding",
]
KeyLookup = Callable[[str], "store.DkimKeyInfo | None"]


def sign(data: bytes, domain: str, keys: KeyLookup = store.active_dkim_key) -> bytes:
    """data with a DKIM-Signature field of `domain` prepended (so DMARC
    aligns: it is the From: domain), or data unchanged when there is no
    domain to sign as, it is not the From: domain, the domain has no active
    key, or signing fails (mail still goes, unsigned)."""
    if not domain:
        return data
    if plan.author_domain(data) != domain:
        log.warning("not signing as %s: it is not the message's single From: domain", domain)
        return data
    key = keys(domain)
    if key is None:
        return data
    data = re.sub(rb"\r?\n", b"\r\n", data)
    present = {name.lower() for name in re.findall(rb"^([!-9;-~]+):", data.split(b"\r\n\r\n", 1)[0], re.M)}
    try:
        signature = dkim.sign(
            data,
            key.selector.encode(),
            domain.encode(),
            key.private_key.encode(),
            signature_algorithm=key.dkimpy_signature_algorithm,
            canonicalize=(b"relaxed", b"relaxed"),
            include_headers=[h for h in SIGNED_HEADERS if h in present],
        )
    except dkim.DKIMException as exc:
        log.warning("DKIM signing for %s failed: %s; sending unsigned", domain, exc)
        return data
    return signature + data


def cached(keys: KeyLookup = store.active_dkim_key) -> KeyLookup:
    """A lookup that asks the store once per domain (for one relay run)."""
    memo: dict[str, store.DkimKeyInfo | None] = {}

    def lookup(domain: str) -> store.DkimKeyInfo | None:
        if domain not in memo:
            memo[domain] = keys(domain)
        return memo[domain]

    return lookup
