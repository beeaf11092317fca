"""The Sender Rewriting Scheme for forwarded mail (the Shevek/Mail::SRS
scheme, as postsrsd and Exim use it). Pure: no I/O, no Django.

A message we forward to another host keeps its author but not its envelope
sender: SPF at the next hop would judge the original sender's domain against
our IP and fail. So the envelope sender becomes

    SRS0=<hash>=<tt>=<original domain>=<original local part>@<our domain>

where tt is the day (base32, two characters, modulo 1024) and hash a keyed
HMAC-SHA256 of tt, domain and local part (base32, first 8 characters), all
case-insensitive because relays may change case. A bounce to such an address
is accepted only when the hash matches and the day is at most max_age days
old, and goes back to the original sender; anything else is refused at RCPT,
so the address cannot be used to relay. A sender that is itself an SRS
address of another forwarder is wrapped the same way: its local part simply
contains "=" signs, and reversing takes one layer off.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

PREFIX = "srs0="
HASH_LENGTH = 8
DAY = 86400
TT_RANGE = 1024
_B32 = "abcdefghijklmnopqrstuvwxyz234567"


class SrsError(ValueError):
    """Not an SRS address of ours, forged, or expired."""


def is_srs(address: str) -> bool:
    return address.lower().startswith(PREFIX)


def _timestamp(now: float) -> str:
    day = int(now // DAY) % TT_RANGE
    return _B32[day >> 5] + _B32[day & 31]


def _age(tt: str, now: float) -> int:
    if len(tt) != 2 or tt[0] not in _B32 or tt[1] not in _B32:
        raise SrsError("bad timestamp")
    then = _B32.index(tt[0]) << 5 | _B32.index(tt[1])
    return (int(now // DAY) - then) % TT_RANGE


def mac(secret: bytes, text: str) -> str:
    """The keyed hash SRS and VERP addresses carry: HMAC-SHA256 of the
    lower-cased text, base32, lower case, HASH_LENGTH characters."""
    digest = hmac.new(secret, text.lower().encode("utf-8"), hashlib.sha256).digest()
    return base64.b32encode(digest).decode("ascii").lower()[:HASH_LENGTH]


def _hash(secret: bytes, tt: str, domain: str, local: str) -> str:
    return mac(secret, f"{tt}={domain}={local}")


def forward(address: str, *, secret: bytes, domain: str, now: float) -> str:
    """The SRS address that stands for address in mail we forward from domain."""
    local, at, original_domain = address.rpartition("@")
    if not (local and at and original_domain):
        raise SrsError("not an address")
    tt = _timestamp(now)
    return f"SRS0={_hash(secret, tt, original_domain, local)}={tt}={original_domain}={local}@{domain}"


def reverse(address: str, *, secret: bytes, now: float, max_age_days: int) -> str:
    """The original sender an SRS address of ours stands for; SrsError when it
    is forged, expired or not one."""
    local = address.rpartition("@")[0]
    if not is_srs(local):
        raise SrsError("not an SRS address")
    parts = local[len(PREFIX) :].split("=", 3)
    if len(parts) != 4 or not all(parts):
        raise SrsError("malformed")
    given, tt, original_domain, original_local = parts
    tt = tt.lower()
    if not hmac.compare_digest(given.lower().encode(), _hash(secret, tt, original_domain, original_local).encode()):
        raise SrsError("bad hash")
    if _age(tt, now) > max_age_days:
        raise SrsError("expired")
    return f"{original_local}@{original_domain}"
