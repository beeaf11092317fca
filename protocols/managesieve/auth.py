"""ManageSieve commands of any state and of logging in: CAPABILITY, NOOP,
LOGOUT, STARTTLS, AUTHENTICATE PLAIN, UNAUTHENTICATE (RFC 5804 2.1-2.4, 2.13-2.14)."""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING

from protocols.lines import Closed, LineTooLong
from protocols.pop3.logins import Blocked, NeedsAppPassword, checked_login
from protocols.pop3.parser import ParseError as SaslError
from protocols.pop3.parser import decode_base64, decode_plain

from . import parser

if TYPE_CHECKING:
    from .session import ManageSieveSession

log = logging.getLogger("protocols.managesieve")
PROTOCOL = "managesieve"  # as the dashboard's last logins and the audit log name it


async def capability(s: ManageSieveSession, cmd: parser.Capability) -> None:
    await s.write(s.capabilities() + parser.response("OK", "Capability completed"))


async def noop(s: ManageSieveSession, cmd: parser.Noop) -> None:
    """RFC 5804 2.13: a tag comes back in a TAG response code."""
    await s.ok("Done", f"TAG {parser.string(cmd.tag).decode()}" if cmd.tag is not None else "")


async def logout(s: ManageSieveSession, cmd: parser.Logout) -> None:
    await s.ok("Logout completed")
    raise Closed()


async def starttls(s: ManageSieveSession, cmd: parser.StartTls) -> None:
    """RFC 5804 2.2: after the handshake the server sends its capabilities
    again; what the client sent ahead of it is dropped (command injection)."""
    if s.conn.tls or s.tls_context is None:
        await s.no("TLS is already active" if s.conn.tls else "TLS is not available")
        return
    s.lines.discard_buffered()
    try:
        await s.conn.start_tls(s.tls_context, parser.response("OK", "Begin TLS negotiation"))
    except (ssl.SSLError, ConnectionError, TimeoutError):
        log.info("%s: STARTTLS handshake failed", s.label)
        raise Closed() from None
    await s.write(s.capabilities() + parser.response("OK", "TLS negotiation successful"))


async def authenticate(s: ManageSieveSession, cmd: parser.Authenticate) -> None:
    """SASL PLAIN (RFC 4616) through store.login, with or without an initial
    response; "*" as the response cancels (RFC 5804 2.1)."""
    if cmd.mechanism.upper() != "PLAIN":
        await s.no("Unsupported authentication mechanism")
        return
    if not s.conn.plaintext_auth_allowed:
        await s.no("Plaintext authentication is not allowed without TLS (use STARTTLS)", "ENCRYPT-NEEDED")
        return
    response = cmd.initial
    if response is None:
        await s.write(b'""\r\n')
        try:
            response = parser.parse_string(await s.read_literals(await s.readline()))
        except (parser.ParseError, LineTooLong):
            await s.no("Malformed SASL response")
            return
        if response == "*":
            await s.no("Authentication cancelled")
            return
    try:
        authzid, authcid, secret = decode_plain(decode_base64(response.encode()))
    except SaslError:
        await refuse(s)
        return
    if authzid and authzid.lower() != authcid.lower():
        await refuse(s)  # no proxy logins
        return
    account = await checked_login(authcid, secret, ip=s.conn.peer_ip, protocol=PROTOCOL)
    if isinstance(account, Blocked):
        await refuse(s, "Too many failed logins, try again later", "TRYLATER")
        return
    if isinstance(account, NeedsAppPassword):
        await refuse(s, "Two-factor sign-in is on: log in with an app password")
        return
    if account is None:
        await refuse(s)
        return
    s.account = account
    s.state = type(s.state).AUTH
    log.info("%s: %s logged in from %s", s.label, account.address, s.conn.peer_ip)
    await s.ok("Logged in")


async def refuse(s: ManageSieveSession, text: str = "Authentication failed", code: str = "") -> None:
    s.auth_failures += 1
    if s.auth_failures >= 3:
        await s.write(parser.response("BYE", "Too many failed logins"))
        raise Closed()
    await s.no(text, code)


async def unauthenticate(s: ManageSieveSession, cmd: parser.Unauthenticate) -> None:
    """RFC 5804 2.14.1: back to the non-authenticated state."""
    s.account = None
    s.state = type(s.state).NONAUTH
    await s.ok("Unauthenticate completed")
