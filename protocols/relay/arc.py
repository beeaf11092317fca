"""ARC (RFC 8617) with dkimpy: forwarded mail leaves sealed with our
verdicts, and a chain on mail forwarded to us can stand in for a DMARC
failure when its latest sealer is one we trust.

seal() runs in the relay on a forward (an SRS sender at MAIL_SRS_DOMAIN,
protocols/relay/deliver.py): the ARC set (ARC-Authentication-Results from our
MX's Authentication-Results field, ARC-Message-Signature, ARC-Seal) is made
with the active DKIM key of MAIL_ARC_DOMAIN (an RSA key: RFC 8617 knows
rsa-sha256 only); without one, the mail goes unsealed. verify() runs at the
MX (authcheck.check) when a message carries ARC-Seal fields.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable

import dkim
from django.conf import settings

from mailboxes import srs

from .dkimsign import SIGNED_HEADERS, KeyLookup

log = logging.getLogger("protocols.relay.arc")
TxtFunc = Callable[..., "bytes | None"]


def is_forward(mail_from: str) -> bool:
    local, _, domain = mail_from.rpartition("@")
    return srs.is_srs(local) and domain.lower() == settings.MAIL_SRS_DOMAIN.lower()


def seal(data: bytes, mail_from: str, keys: KeyLookup) -> bytes:
    """data with our ARC set prepended when it is a forward and we have a key;
    else unchanged. Never raises: a seal that fails leaves the mail unsealed."""
    if not is_forward(mail_from):
        return data
    domain = settings.MAIL_ARC_DOMAIN.lower()
    key = keys(domain) if domain else None
    if key is None or key.algorithm != "rsa":
        return data
    data = re.sub(rb"\r?\n", b"\r\n", data)
    present = {name.lower() for name in re.findall(rb"^([!-9;-~]+):", data.split(b"\r\n\r\n", 1)[0], re.M)}
    try:
        fields = dkim.arc_sign(
            data,
            key.selector.encode(),
            domain.encode(),
            key.private_key.encode(),
            settings.MAIL_HOSTNAME.encode(),
            include_headers=[h for h in SIGNED_HEADERS if h in present],
        )
    except Exception:  # dkimpy raises assorted errors on odd input; the mail goes unsealed
        log.warning("ARC sealing as %s failed; forwarding unsealed", domain, exc_info=True)
        return data
    return b"".join(fields) + data


def verify(data: bytes, dnsfunc: TxtFunc) -> tuple[str, str]:
    """(chain validation result: none | pass | fail, the latest sealer's domain)."""
    try:
        cv, results, _ = dkim.arc_verify(data, dnsfunc=dnsfunc)
    except Exception:
        log.info("ARC verification raised; the chain counts as failed", exc_info=True)
        return "fail", ""
    sealer = results[0].get("as-domain", b"") if results else b""
    text = cv.decode("ascii") if isinstance(cv, bytes) else "fail"
    return text, sealer.decode("ascii", "replace").lower() if isinstance(sealer, bytes) else ""
