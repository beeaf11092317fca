"""DKIM signing of outbound mail (RFC 6376; Ed25519 per RFC 8463) with dkimpy,
using the active key of the author's domain from the store."""
from __future__ import annotations

import logging
import re
from typing import Callable

import dkim

from mailboxes import store

from . import plan

log = logging.getLogger("protocols.relay")
# RFC 6376 5.4.1: the fields worth signing; From is required.
SIGNED_HEADERS = [b"from", b"to", b"cc", b"subject", b"date", b"message-id", b"reply-to", b"in-reply-to",
                  b"references", b"mime-version", b"content-type", b"content-transfer-encoding"]
KeyLookup = Callable[[str], "store.DkimKeyInfo | None"]


def signing_domain(data: bytes, mail_from: str) -> str | None:
    """The From: domain (so DMARC aligns), else the envelope sender's."""
    return plan.author_domain(data) or (mail_from.rsplit("@", 1)[1].lower() if "@" in mail_from else None)


def sign(data: bytes, mail_from: str, keys: KeyLookup = store.active_dkim_key) -> bytes:
    """data with a DKIM-Signature field prepended, or data unchanged when the
    domain has no active key (or signing fails: mail still goes, unsigned)."""
    domain = signing_domain(data, mail_from)
    if not domain:
        return data
    key = keys(domain)
    if key is None:
        return data
    data = re.sub(rb"\r?\n", b"\r\n", data)
    present = {name.lower() for name in re.findall(rb"^([!-9;-~]+):", data.split(b"\r\n\r\n", 1)[0], re.M)}
    try:
        signature = dkim.sign(data, key.selector.encode(), domain.encode(), key.private_key.encode(),
                              signature_algorithm=key.dkimpy_signature_algorithm,
                              canonicalize=(b"relaxed", b"relaxed"),
                              include_headers=[h for h in SIGNED_HEADERS if h in present])
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
