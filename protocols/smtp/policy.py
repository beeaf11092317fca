"""What each SMTP listener offers and allows, in one table, and the pure
decisions the handlers make from store answers. No I/O, no Django."""

from __future__ import annotations

import re
from dataclasses import dataclass

from . import replies


@dataclass(frozen=True)
class Profile:
    """One listener's rules (DESIGN.md: MX 25, submission 587, SMTPS 465)."""

    name: str
    implicit_tls: bool  # TLS from the first byte (RFC 8314 3.3)
    starttls: bool  # offer STARTTLS (RFC 3207) while not under TLS
    auth: bool  # offer AUTH (RFC 4954)
    auth_required: bool  # AUTH before MAIL (RFC 6409 4.3)


PROFILES = {
    "smtp": Profile("smtp", implicit_tls=False, starttls=True, auth=False, auth_required=False),
    "submission": Profile("submission", implicit_tls=False, starttls=True, auth=True, auth_required=True),
    "smtps": Profile("smtps", implicit_tls=True, starttls=False, auth=True, auth_required=True),
}


@dataclass(frozen=True)
class Limits:
    max_message_size: int
    max_recipients: int
    max_line_length: int  # octets with CRLF, before the transparent dot
    idle_timeout: float
    command_limit: int  # times one command may be used on one connection


# Failed AUTH attempts per connection before 421 (each attempt is one AUTH).
AUTH_TRIES = 3


def command_limits(limits: Limits) -> dict[str, int]:
    """aiosmtpd's command_call_limit: over it, 421 4.7.0 and the connection closes."""
    return {"*": limits.command_limit, "AUTH": AUTH_TRIES}


def ehlo_lines(hostname: str, *, size: int, starttls: bool, auth: bool, requiretls: bool = False) -> list[str]:
    """The EHLO reply (RFC 5321 4.1.1.1), one keyword a line; REQUIRETLS
    only in a TLS session (RFC 8689 4.1)."""
    keywords = [
        "PIPELINING",
        f"SIZE {size}",
        "8BITMIME",
        "SMTPUTF8",
        "CHUNKING",
        "BINARYMIME",
        "DSN",
        "ENHANCEDSTATUSCODES",
    ]
    if starttls:
        keywords.append("STARTTLS")
    if auth:
        keywords.append("AUTH PLAIN LOGIN")
    if requiretls:
        keywords.append("REQUIRETLS")
    lines = [hostname, *keywords]
    return [f"250-{line}" for line in lines[:-1]] + [f"250 {lines[-1]}"]


SYNTAX = {
    "HELO": "HELO <domain>",
    "EHLO": "EHLO <domain>",
    "MAIL": "MAIL FROM:<address> [SIZE=<octets>] [BODY=7BIT|8BITMIME|BINARYMIME] [SMTPUTF8] [RET=FULL|HDRS] "
    "[ENVID=<xtext>] [REQUIRETLS]",
    "RCPT": "RCPT TO:<address> [NOTIFY=NEVER|SUCCESS,FAILURE,DELAY] [ORCPT=<type>;<xtext>]",
    "DATA": "DATA",
    "BDAT": "BDAT <octets> [LAST]",
    "RSET": "RSET",
    "NOOP": "NOOP",
    "QUIT": "QUIT",
    "HELP": "HELP [<command>]",
    "VRFY": "VRFY <address>",
    "STARTTLS": "STARTTLS",
    "AUTH": "AUTH PLAIN|LOGIN [<initial-response>]",
}


def help_reply(topic: str | None, *, starttls: bool, auth: bool) -> list[str]:
    """HELP (RFC 5321 4.1.1.8): 214 with the commands this connection may use,
    or one command's syntax; 504 for an unknown topic."""
    offered = [c for c in SYNTAX if (c != "STARTTLS" or starttls) and (c != "AUTH" or auth)]
    if topic:
        command = topic.strip().upper()
        if command not in offered:
            return [f"504 5.5.4 No help for that; commands: {' '.join(offered)}"]
        return [f"214 2.0.0 Syntax: {SYNTAX[command]}"]
    return [f"214-2.0.0 Commands: {' '.join(offered)}", "214 2.0.0 HELP <command> gives its syntax"]


_RECIPIENT = {
    "unknown": replies.NO_SUCH_USER,
    "inactive": replies.DISABLED,
}
_QUOTA = {"ok": replies.RECIPIENT_OK, "full": replies.MAILBOX_FULL, "never": replies.QUOTA_NEVER}


def recipient_reply(kind: str, quota: str, *, may_relay: bool) -> str:
    """RCPT TO's reply from the store's verdict (RecipientCheck.kind, quota).

    Remote addresses only for authenticated clients: never an open relay,
    whatever HELO or MAIL FROM claim."""
    if kind == "remote":
        return replies.RECIPIENT_OK if may_relay else replies.RELAY_DENIED
    if kind in _RECIPIENT:
        return _RECIPIENT[kind]
    return _QUOTA.get(quota, replies.MAILBOX_FULL)


_SIZE_PARAM = re.compile(r"^SIZE=(\d{1,20})$", re.IGNORECASE)


def declared_size(mail_options: list[str]) -> int:
    """The SIZE= a client declared with MAIL FROM (RFC 1870), else 0."""
    for option in mail_options:
        match = _SIZE_PARAM.match(option)
        if match:
            return int(match.group(1))
    return 0


_BDAT = re.compile(r"^(\d{1,20})(?: +(LAST))? *$", re.IGNORECASE | re.ASCII)


def parse_bdat(arg: str | None) -> tuple[int, bool] | None:
    """BDAT's argument (RFC 3030 2: chunk-size [SP end-marker]): the chunk's
    size and whether it is the LAST, or None for a syntax error."""
    match = _BDAT.match(arg or "")
    if match is None:
        return None
    return int(match.group(1)), match.group(2) is not None


def split_parameters(arg: str) -> tuple[str, list[str]]:
    """A MAIL/RCPT argument as its address part and its parameters (RFC 5321
    4.1.2: after the address, space separated). Only what follows the closing
    ">" counts, so an address that holds such text is left alone."""
    address, bracket, params = arg.rpartition(">")
    if not bracket:
        address, _, params = arg.partition(" ")
    return address + bracket, params.split()


# <dot-atom@domain> (RFC 5321 4.1.2 Mailbox, its common ASCII form), then
# nothing or parameters after a space.
_PLAIN_PATH = re.compile(
    r"<([A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)>(?: +([A-Za-z0-9].*))?",
    re.ASCII | re.DOTALL,
)


def plain_path(arg: str) -> tuple[str, str] | None:
    """(address, parameters) of a MAIL/RCPT argument in the plain form nearly
    every client sends, as aiosmtpd's parser (the standard library's header
    parser, which costs a class definition per call) would answer; None for
    any other form (quoted, UTF-8, source route, address literal, <>), which
    goes to that parser."""
    found = _PLAIN_PATH.fullmatch(arg)
    return None if found is None else (found.group(1), found.group(2) or "")


def take_flag(params: list[str], flag: str) -> tuple[list[str], bool]:
    """The parameters without one that takes no value (BODY=BINARYMIME,
    RFC 3030 3; REQUIRETLS, RFC 8689 4.1), and whether it was there."""
    rest = [p for p in params if p.upper() != flag]
    return rest, len(rest) != len(params)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def has_control(text: str | None) -> bool:
    """Any control character (C0 with a bare CR among them, DEL, C1) or a
    Unicode line separator: RFC 5321 4.1.2 allows none in a domain, an
    address literal or a mailbox (nor RFC 6531 in a UTF-8 one)."""
    return bool(text) and _CONTROL.search(text or "") is not None


# RFC 5321 6.3: a message that has passed this many relays is looping.
MAX_RECEIVED = 50
_RECEIVED = re.compile(rb"^received[ \t]*:", re.IGNORECASE | re.MULTILINE)


def received_count(data: bytes) -> int:
    """How many Received: fields the header (up to the first empty line) holds."""
    return len(_RECEIVED.findall(re.split(rb"\r?\n\r?\n", data, maxsplit=1)[0]))


def has_bare_line_ending(data: bytes) -> bool:
    """Any CR or LF that is not part of a CRLF pair (RFC 5321 2.3.8)."""
    pairs = data.count(b"\r\n")
    return data.count(b"\r") != pairs or data.count(b"\n") != pairs
