"""Small typed readers for settings that come from the environment.

Each raises ImproperlyConfigured with the variable's name and the bad value,
so a typo stops start-up with one clear line instead of a traceback later.
"""

from __future__ import annotations

import ipaddress
import os
import re

from django.core.exceptions import ImproperlyConfigured

_SIZE_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([KMGT]?)(?:I?B)?\s*$", re.IGNORECASE)


def parse_size(text: str) -> int:
    """'500M' -> 524288000; '0' means unlimited where a caller says so.

    Raises ValueError on anything else (e.g. '12X', '-1', '1.5G')."""
    match = _SIZE_RE.match(text)
    if not match:
        raise ValueError(f"not a size: {text!r} (use a number with an optional K, M, G or T)")
    return int(match.group(1)) * _SIZE_UNITS[match.group(2).upper()]


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false)")


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if value < minimum or (maximum is not None and value > maximum):
        bounds = f">= {minimum}" if maximum is None else f"between {minimum} and {maximum}"
        raise ImproperlyConfigured(f"{name}={raw!r} must be {bounds}")
    return value


def env_port(name: str, default: int) -> int:
    return env_int(name, default, minimum=0, maximum=65535)


def env_size(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse_size(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name}: {exc}") from None


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def env_networks(name: str, default: str = "") -> list[str]:
    """Comma-separated addresses or CIDR networks, each checked."""
    items = env_list(name, default)
    for item in items:
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ImproperlyConfigured(f"{name}: {item!r} is not an address or a network") from None
    return items


def env_rates(name: str, default: dict[str, tuple[int, int]]) -> dict[str, tuple[int, int]]:
    """'gmail.com=20/300,example.net=2/10': per destination domain,
    connections and messages per minute (0 = no limit), over default;
    '*=...' stands for every other domain."""
    rates = dict(default)
    for item in filter(None, (part.strip() for part in os.environ.get(name, "").split(","))):
        domain, _, value = item.partition("=")
        connections, slash, messages = value.partition("/")
        if not (domain.strip() and slash and connections.strip().isdigit() and messages.strip().isdigit()):
            raise ImproperlyConfigured(f"{name}: {item!r} is not domain=connections/messages")
        rates[domain.strip().lower().rstrip(".")] = (int(connections), int(messages))
    return rates
