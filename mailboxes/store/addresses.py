"""Mail addresses as the store keeps them: 'local@domain', lower-cased."""

from __future__ import annotations

import re

from .errors import InvalidInput

# Deliberately permissive on the local part (RFC 5321 4.1.2 dot-string, plus
# UTF-8 for SMTPUTF8), strict on what would break storage or routing.
# No surrogates: undecodable bytes the protocol parsers kept (found by fuzzing).
_LOCAL_RE = re.compile(r"^[^\s@<>()\[\]\\,;:\"\x00-\x1f\x7f\ud800-\udfff]{1,64}\Z")
_DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([^\W_]([\w-]{0,61}[^\W_])?)(\.[^\W_]([\w-]{0,61}[^\W_])?)*$", re.UNICODE)


def normalize_domain(name: str) -> str:
    domain = name.strip().rstrip(".").lower()
    if not _DOMAIN_RE.match(domain) or "." not in domain:
        raise InvalidInput(f"not a valid domain name: {name!r}")
    return domain


def normalize_address(address: str) -> str:
    text = address.strip()
    if text.startswith("<") and text.endswith(">"):
        text = text[1:-1]
    local, sep, domain = text.rpartition("@")
    if (
        not sep
        or not local
        or not _LOCAL_RE.match(local)
        or local.startswith(".")
        or local.endswith(".")
        or ".." in local
    ):
        raise InvalidInput(f"not a valid mail address: {address!r}")
    return f"{local.lower()}@{normalize_domain(domain)}"


def domain_of(address: str) -> str:
    return address.rpartition("@")[2]
