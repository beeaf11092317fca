"""The SMTP client side's decisions, as pure functions: which hosts to try
for a domain, how to read replies, what bytes go on the wire. No I/O, no
Django; protocols/relay/client.py and deliver.py do the talking.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from email.utils import getaddresses

from mailboxes.dns import parse_hostport as hostport
from mailboxes.notices import status_from_reply

NULL_MX_STATUS = "5.1.10"  # RFC 7505 3.2 / RFC 7504
NO_DOMAIN_STATUS = "5.1.2"  # RFC 3463: bad destination system address
MAX_LINE = 998  # RFC 5322 2.1.1 / RFC 5321 4.5.3.1.6


class PlanError(ValueError):
    pass


@dataclass(frozen=True)
class Target:
    """One address to try: a host name (for logs, Remote-MTA and TLS SNI)
    and where to connect."""

    name: str
    address: str
    port: int = 25


def parse_hostport(text: str, default_port: int = 25) -> tuple[str, int]:
    """'host', 'host:2525', '[::1]:2525', '::1' -> (host, port)."""
    try:
        return hostport(text, default_port)
    except ValueError as exc:
        raise PlanError(str(exc)) from None


def parse_mx_override(text: str) -> dict[str, list[Target]]:
    """MAIL_RELAY_MX_OVERRIDE: 'example.net=127.0.0.1:2526,example.org=[::1]:25'.

    A domain named twice gets both addresses, tried in the order given. An
    entry 'example.net=mx.example.net@127.0.0.1:2526' connects to the address
    but takes the host for MX host mx.example.net: the name MTA-STS policies
    and certificates are checked against (RFC 8461 4.1)."""
    table: dict[str, list[Target]] = {}
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        domain, sep, target = item.partition("=")
        domain = domain.strip().lower().rstrip(".")
        name, at, target = target.strip().rpartition("@")
        if not sep or not domain or (at and not name):
            raise PlanError(f"MAIL_RELAY_MX_OVERRIDE: {item!r} is not domain=[name@]host:port")
        host, port = parse_hostport(target)
        table.setdefault(domain, []).append(Target(name.lower().rstrip(".") or host, host, port))
    return table


def order_mx(records: list[tuple[int, str]], *, shuffle: bool = True) -> list[str] | None:
    """MX (preference, exchange) records -> host names to try, best first;
    equal preferences in random order (RFC 5321 5.1). None for a null MX
    (RFC 7505 3: one record, preference 0, exchange '.'): the domain takes no mail."""
    hosts = [(pref, host.rstrip(".").lower()) for pref, host in records]
    if any(host == "" for _, host in hosts):
        return None
    if shuffle:
        hosts = random.sample(hosts, len(hosts))
    hosts.sort(key=lambda item: item[0])  # stable: ties keep the shuffled order
    seen: dict[str, None] = {}
    for _, host in hosts:
        seen.setdefault(host, None)
    return list(seen)


def outcome_of(code: int) -> str:
    """sent / temporary / permanent for a final reply (RFC 5321 4.2.1)."""
    if 200 <= code < 300:
        return "sent"
    if 500 <= code < 600:
        return "permanent"
    return "temporary"


def reply_text(message: bytes | str) -> str:
    text = message.decode("utf-8", "replace") if isinstance(message, bytes) else message
    return " ".join(text.split())[:500]


def smtp_diagnostic(code: int, message: bytes | str) -> tuple[str, str]:
    """(RFC 3463 status, RFC 3464 Diagnostic-Code) for an SMTP reply."""
    text = reply_text(message)
    return status_from_reply(code, text), f"smtp; {code} {text}".rstrip()


def local_diagnostic(text: str) -> str:
    """Diagnostic-Code for a failure that is not a server's reply (RFC 3464 2.3.6)."""
    return f"x-mailhost; {' '.join(text.split())[:500]}"


def crlf(data: bytes) -> bytes:
    """Every line ending a CRLF, the last line ended too (RFC 5321 2.3.8)."""
    data = re.sub(rb"\r?\n|\r", b"\r\n", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def dot_stuff(data: bytes) -> bytes:
    """The DATA payload: CRLF line ends, leading dots doubled, and the
    terminating <CRLF>.<CRLF> (RFC 5321 4.5.2, 4.1.1.4)."""
    data = crlf(data)
    if data.startswith(b"."):
        data = b"." + data
    return data.replace(b"\r\n.", b"\r\n..") + b".\r\n"


def bdat_payload(data: bytes, *, binary: bool) -> bytes:
    """The message as one last chunk (RFC 3030 2): as it is when binary,
    else with CRLF line ends; never dot-stuffed."""
    body = data if binary else crlf(data)
    return f"BDAT {len(body)} LAST\r\n".encode() + body


def fold_long_lines(data: bytes, limit: int = MAX_LINE) -> bytes:
    """Break lines longer than `limit` octets (RFC 5322 2.1.1), as Postfix does:
    CRLF and a space, so a long header line becomes a folded one. Done before
    DKIM signing, so the signature covers what is sent."""
    if not any(len(line) > limit for line in data.split(b"\n")):
        return data
    out = []
    for line in re.split(rb"(?<=\n)", data):
        ending = b"\r\n" if line.endswith(b"\r\n") else b"\n" if line.endswith(b"\n") else b""
        text = line[: len(line) - len(ending)]
        while len(text) > limit:
            out.append(text[:limit] + b"\r\n")
            text = b" " + text[limit:]
        out.append(text + ending)
    return b"".join(out)


def needs_8bitmime(data: bytes) -> bool:
    return any(b > 127 for b in data)


def tls_optional(data: bytes) -> bool:
    """The message says "TLS-Required: No" (RFC 8689 5): deliver it even where
    the destination's TLS policy (MTA-STS, DANE) cannot be met."""
    headers = BytesHeaderParser().parsebytes(data)
    return any(str(value).strip().lower() == "no" for value in headers.get_all("TLS-Required") or [])


def has_utf8_address(mail_from: str, recipients: list[str]) -> bool:
    """A UTF-8 address in the envelope: only a next hop with SMTPUTF8 may
    take the message (RFC 6531 3.2, 3.7.4)."""
    return not all(address.isascii() for address in [mail_from, *recipients])


def mail_command(
    mail_from: str, *, size: int | None, body: str | None = None, smtputf8: bool = False, extra: str = ""
) -> bytes:
    """MAIL FROM with SIZE (RFC 1870), BODY=8BITMIME|BINARYMIME (RFC 6152,
    RFC 3030) and SMTPUTF8 (RFC 6531) when the server offers them; extra:
    more parameters (DSN's RET, ENVID), with a leading space."""
    params = ""
    if size is not None:
        params += f" SIZE={size}"
    if body is not None:
        params += f" BODY={body}"
    if smtputf8:
        params += " SMTPUTF8"
    return f"MAIL FROM:<{mail_from}>{params}{extra}\r\n".encode()


def rcpt_command(address: str, extra: str = "") -> bytes:
    return f"RCPT TO:<{address}>{extra}\r\n".encode()


def safe_address(address: str) -> bool:
    """No CR, LF, angle brackets or spaces that would break the command line."""
    return not any(c in address for c in "\r\n<> \t") and len(address) <= 320


# The end of a message's first empty line, as the email package splits lines
# (at CRLF, LF or a lone CR): a line end followed by another.
_FIRST_EMPTY_LINE = re.compile(rb"\n(?:\r\n?|\n)|\r\r\n?")


def header_section(data: bytes) -> bytes:
    """The message up to and including its first empty line (all of it when
    there is none): what the email package's header parser reads before it
    stops, without the body it would otherwise split into lines and keep."""
    if data[:1] in (b"\r", b"\n"):
        return data[:2]
    found = _FIRST_EMPTY_LINE.search(data)
    return data if found is None else data[: found.end()]


def author_domain(data: bytes) -> str | None:
    """The domain of the single From: address (RFC 7489 3.1.1 / RFC 5322 3.6.2),
    or None when there is not exactly one."""
    headers = BytesHeaderParser().parsebytes(header_section(data))
    values = headers.get_all("From") or []
    if len(values) != 1:
        return None
    addresses = [addr for _, addr in getaddresses([str(values[0])]) if addr]
    if len(addresses) != 1 or "@" not in addresses[0]:
        return None
    return addresses[0].rsplit("@", 1)[1].strip().lower().rstrip(".") or None
