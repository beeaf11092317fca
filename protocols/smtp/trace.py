"""Trace header fields (RFC 5321 4.4): Received: on every accepted message,
(Return-Path: is the store's: store.return_path, for every final delivery.)
Pure: values in, bytes out."""

from __future__ import annotations

import functools
import ipaddress
import re
from datetime import UTC, datetime
from email.utils import format_datetime

# RFC 5321 4.1.2 Domain, or an address literal (4.1.3).
_DOMAIN = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
_LITERAL = re.compile(r"^\[(?:IPv6:)?[0-9A-Fa-f:.]+\]$")


@functools.lru_cache(maxsize=4096)
def address_literal(ip: str) -> str:
    """'[192.0.2.1]' or '[IPv6:2001:db8::1]' (RFC 5321 4.1.3). Kept per
    address: a client that connects for every message is parsed once."""
    try:
        parsed = ipaddress.ip_address(ip)
    except ValueError:
        return "[unknown]"
    if isinstance(parsed, ipaddress.IPv6Address):
        if parsed.ipv4_mapped:
            return f"[{parsed.ipv4_mapped}]"
        return f"[IPv6:{parsed.compressed}]"
    return f"[{parsed}]"


def with_protocol(*, esmtp: bool, tls: bool, authenticated: bool, smtputf8: bool) -> str:
    """The WITH keyword: RFC 3848 (ESMTPS, ESMTPA, ESMTPSA) and RFC 6531 3.7.4 (UTF8SMTP...)."""
    if not esmtp:
        return "SMTP"
    return ("UTF8SMTP" if smtputf8 else "ESMTP") + ("S" if tls else "") + ("A" if authenticated else "")


def received(
    *,
    helo: str | None,
    peer_ip: str,
    hostname: str,
    protocol: str,
    trace_id: str,
    recipients: list[str],
    when: datetime | None = None,
) -> bytes:
    """Received: from <helo> ([ip]) by <us> with <protocol> id <id> [for <rcpt>]; <date>

    The HELO name is written only when it is a domain or an address literal
    (the field must stay parseable whatever the client sent); the address
    literal of the connection is always there (RFC 5321 4.4 TCP-info). A FOR
    clause only with a single recipient, so Bcc recipients stay private."""
    literal = address_literal(peer_ip)
    name = helo if helo and (_DOMAIN.match(helo) or _LITERAL.match(helo)) else literal
    when = when or datetime.now(UTC)
    lines = [f"Received: from {name} ({literal})", f"\tby {hostname} with {protocol} id {trace_id}"]
    if len(recipients) == 1:
        lines.append(f"\tfor <{recipients[0]}>")
    lines[-1] += f"; {format_datetime(when)}"
    return ("\r\n".join(lines) + "\r\n").encode("utf-8", "surrogateescape")
