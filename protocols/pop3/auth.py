"""POP3 AUTHORIZATION state: CAPA, STLS, USER/PASS, APOP, AUTH PLAIN."""

from __future__ import annotations

import logging
import ssl
from typing import TYPE_CHECKING

from protocols.lines import LineTooLong

from . import parser, wire
from .logins import Opened, Refusal, open_maildrop
from .state import Closed, State

if TYPE_CHECKING:
    from .session import Pop3Session

log = logging.getLogger("protocols.pop3")
NO_PLAINTEXT = "plaintext authentication is not allowed without TLS (use STLS)"
PROTOCOL = "pop3"  # as the dashboard's last logins and the audit log name it
# What a refused login is told, in POP3's words (POP2 has its own).
REFUSED: dict[Refusal, str] = {
    "blocked": "too many failed logins, try again later",
    "needs-app-password": "two-factor sign-in is on: log in with an app password",
    "bad-login": "authentication failed",
}
IN_USE: dict[Refusal, str] = {
    "too-many-sessions": "too many sessions for this account, try again later",
    "locked": "maildrop is locked by another session",
}


async def capa(s: Pop3Session, cmd: parser.Command) -> None:
    """RFC 2449 5. USER and SASL PLAIN only where a password may be sent;
    STLS only before login and when not under TLS already (RFC 2595 4)."""
    caps = [b"TOP", b"UIDL", b"RESP-CODES", b"AUTH-RESP-CODE", b"PIPELINING"]
    if s.state is State.AUTHORIZATION:
        if s.conn.plaintext_auth_allowed:
            caps += [b"USER", b"SASL PLAIN"]
        if not s.conn.tls and s.tls_context is not None:
            caps.append(b"STLS")
    caps.append(b"IMPLEMENTATION Mailhost")
    await s.write(wire.listing(b"+OK Capability list follows", caps))


async def stls(s: Pop3Session, cmd: parser.Command) -> None:
    if s.conn.tls or s.tls_context is None:
        await s.err("TLS is already active" if s.conn.tls else "TLS is not available")
        return
    # RFC 2595 4: anything the client sent before the handshake is discarded.
    s.lines.discard_buffered()
    try:
        await s.conn.start_tls(s.tls_context, b"+OK Begin TLS negotiation\r\n")
    except (ssl.SSLError, ConnectionError, TimeoutError):
        log.info("%s: STLS handshake failed", s.label)
        raise Closed() from None  # a failed handshake leaves nothing to talk over


async def user(s: Pop3Session, cmd: parser.User) -> None:
    if not s.conn.plaintext_auth_allowed:
        await s.err(NO_PLAINTEXT)
        return
    s.pending_user = cmd.user
    await s.ok("send your password")


async def password(s: Pop3Session, cmd: parser.Pass) -> None:
    name, s.pending_user = s.pending_user, None
    if name is None:
        await s.err("give USER first")
        return
    await login(s, name, cmd.password)


async def apop(s: Pop3Session, cmd: parser.Apop) -> None:
    """RFC 1939 7: MD5 over the greeting's timestamp and the shared secret.
    It needs no TLS: the secret never crosses the wire."""
    await login(s, cmd.user, cmd.digest, apop_challenge=s.banner)


async def authenticate(s: Pop3Session, cmd: parser.Auth) -> None:
    """RFC 5034: AUTH PLAIN, with or without an initial response. A bare AUTH
    lists the mechanisms (as many servers do for older clients)."""
    allowed = s.conn.plaintext_auth_allowed
    if cmd.mechanism is None:
        await s.write(wire.listing(b"+OK SASL mechanisms follow", [b"PLAIN"] if allowed else []))
        return
    if cmd.mechanism != "PLAIN":
        await s.err("unsupported authentication mechanism")
        return
    if not allowed:
        await s.err(NO_PLAINTEXT)
        return
    response = cmd.initial
    if response is None:
        await s.write(b"+ \r\n")
        try:
            line = await s.readline()
        except LineTooLong:
            await s.err("line too long")
            return
        if parser.is_cancel(line):
            await s.err("authentication cancelled")
            return
        try:
            response = parser.decode_base64(line)
        except parser.ParseError as exc:
            await s.err(exc.message)
            return
    try:
        authzid, authcid, secret = parser.decode_plain(response)
    except parser.ParseError:
        await refuse(s)
        return
    if authzid and authzid.lower() != authcid.lower():
        await refuse(s)  # no proxy logins
        return
    await login(s, authcid, secret)


async def refuse(s: Pop3Session, text: str = "authentication failed") -> None:
    s.auth_failures += 1
    await s.err(text, "AUTH")
    if s.auth_failures >= s.max_auth_failures:
        raise Closed()


async def login(s: Pop3Session, address: str, secret: str, *, apop_challenge: str | None = None) -> None:
    """Check the credentials (store.login: the shared brute-force defence,
    which also records the login), then lock the maildrop and enter TRANSACTION."""
    opened = await open_maildrop(
        address,
        secret,
        ip=s.conn.peer_ip,
        protocol=PROTOCOL,
        holder=s.holder,
        lease_seconds=s.lease_seconds,
        apop_challenge=apop_challenge,
    )
    if not isinstance(opened, Opened):
        if opened in IN_USE:
            await s.err(IN_USE[opened], "IN-USE")  # RFC 2449 8.1.1: authenticated, but in use elsewhere
        else:
            await refuse(s, REFUSED[opened])
        return
    s.session_token = (opened.account.id, opened.token)
    s.opened(opened.account.id, opened.snapshot)
    log.info("%s: %s logged in from %s", s.label, opened.account.address, s.conn.peer_ip)
    live = s.drop.live() if s.drop else []
    await s.ok(f"maildrop has {len(live)} messages ({sum(m.size for _, m in live)} octets)")
