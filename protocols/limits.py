"""Connection limits per listener: at most MAIL_MAX_CONNECTIONS sessions in
all and MAIL_MAX_CONNECTIONS_PER_IP from one client address (per worker
process). A connection over a limit gets the protocol's own "try later"
line and is closed before any session state exists. Loopback clients are
exempt from the per-IP limit while loopback is trusted (MAIL_TRUST_LOOPBACK):
local tools and the benchmarks open many connections from 127.0.0.1."""

from __future__ import annotations

import ipaddress
from collections import Counter

from django.conf import settings

_TRY_LATER = {
    "imap": b"* BYE [UNAVAILABLE] Too many connections, try again later\r\n",  # RFC 3501 7.1.5, RFC 5530
    "pop3": b"-ERR [SYS/TEMP] Too many connections, try again later\r\n",  # RFC 3206 4
    "pop2": b"- Too many connections, try again later\r\n",
    "managesieve": b'BYE (TRYLATER) "Too many connections, try again later"\r\n',  # RFC 5804 1.3
    "smtp": b"421 4.7.0 Too many connections, try again later\r\n",  # RFC 5321 3.8
}


def try_later(listener: str) -> bytes:
    for family, line in _TRY_LATER.items():
        if listener.startswith(family):
            return line
    return _TRY_LATER["smtp"]  # smtp, submission, smtps


class ConnectionLimits:
    def __init__(self) -> None:
        self.total = 0
        self.per_ip: Counter[str] = Counter()

    def admit(self, ip: str) -> bool:
        """Count the connection in, or False if a limit says no."""
        if self.total >= settings.MAIL_MAX_CONNECTIONS:
            return False
        if self.per_ip[ip] >= settings.MAIL_MAX_CONNECTIONS_PER_IP and not _exempt(ip):
            return False
        self.total += 1
        self.per_ip[ip] += 1
        return True

    def release(self, ip: str) -> None:
        self.total -= 1
        self.per_ip[ip] -= 1
        if self.per_ip[ip] <= 0:
            del self.per_ip[ip]


def _exempt(ip: str) -> bool:
    try:
        return settings.MAIL_TRUST_LOOPBACK and ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False
