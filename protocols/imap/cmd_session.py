"""Commands about the session itself: CAPABILITY, NOOP, LOGOUT, ID, ENABLE,
STARTTLS, LOGIN, AUTHENTICATE (RFC 3501 6.1, 6.2), IDLE (RFC 2177),
NAMESPACE (RFC 2342)."""

from __future__ import annotations

import asyncio
import ssl
from typing import TYPE_CHECKING, Final

from django.conf import settings

from mailboxes import store

from .. import account_sessions
from . import commands as c
from .encoder import continuation, continuation_data, tagged, untagged_status
from .parser import ParseError, decode_sasl_response, is_idle_done
from .replies import Done, SessionEnd, bad, no

if TYPE_CHECKING:
    from .state import Session

#: Failed logins allowed on one connection before it is closed; each failure
#: also waits a little longer before answering (RFC 3501 11.4: slow down guessing).
MAX_AUTH_FAILURES: Final = 3
FAILURE_DELAY: Final = 0.25
#: Longest AUTHENTICATE response line (RFC 4616 PLAIN: 3 x 255 octets, base64).
SASL_LINE_MAX: Final = 8192
IDLE_LINE_MAX: Final = 1024


async def capability(s: Session, cmd: c.Capability) -> Done:
    await s.io.send(b"* CAPABILITY " + s.capabilities().encode("ascii") + b"\r\n")
    return Done()


async def noop(s: Session, cmd: c.Noop | c.Check) -> Done:
    # RFC 3501 6.1.2: NOOP is how a client polls; always look at the database.
    s.force_sync = True
    return Done()


async def logout(s: Session, cmd: c.Logout) -> Done:
    await s.io.send(untagged_status("BYE", None, "Logging out"))
    s.close()
    return Done()


async def id_(s: Session, cmd: c.Id) -> Done:
    # RFC 2971 3.3: the server's own fields; no version, it helps only attackers.
    await s.io.send(b'* ID ("name" "Mailhost")\r\n')
    return Done()


async def enable(s: Session, cmd: c.Enable) -> Done:
    # RFC 5161 3.1: capabilities we do not know or cannot enable are ignored.
    enabled = []
    if "IMAP4REV2" in cmd.capabilities:
        s.rev2 = True  # RFC 9051 appendix E: rev2 behaviour for the rest of the connection
        enabled.append(b" IMAP4rev2")
    if "CONDSTORE" in cmd.capabilities:
        s.enable_condstore()
        enabled.append(b" CONDSTORE")
    if "QRESYNC" in cmd.capabilities:
        s.enable_qresync()  # RFC 7162 3.2.3: implies CONDSTORE (listed only if asked for)
        enabled.append(b" QRESYNC")
    if "UTF8=ACCEPT" in cmd.capabilities:
        s.utf8 = True  # RFC 6855 3: for the rest of the connection
        enabled.append(b" UTF8=ACCEPT")
    await s.io.send(b"* ENABLED" + b"".join(enabled) + b"\r\n")
    return Done()


async def namespace(s: Session, cmd: c.Namespace) -> Done:
    # RFC 2342 5: one personal namespace, no other users', no shared ones.
    await s.io.send(b'* NAMESPACE (("" "/")) NIL NIL\r\n')
    return Done()


async def starttls(s: Session, cmd: c.StartTLS) -> Done:
    if s.conn.tls:
        raise bad("TLS is already active")
    try:
        await s.io.start_tls(tagged(cmd.tag, "OK", None, "Begin TLS negotiation now"))
    except (ssl.SSLError, ConnectionError, TimeoutError):
        raise SessionEnd() from None  # a failed handshake leaves nothing to talk over
    return Done(answered=True)


async def compress(s: Session, cmd: c.Compress) -> Done:
    """RFC 4978 3: the tagged OK goes out uncompressed, everything after it
    (both ways) is raw DEFLATE; the connection does the work."""
    if cmd.mechanism != "DEFLATE":
        raise no("CANNOT", "Unknown compression mechanism")
    if not await s.io.start_compress(tagged(cmd.tag, "OK", None, "DEFLATE active")):
        raise no("COMPRESSIONACTIVE", "Compression is already active")
    return Done(answered=True)


async def login(s: Session, cmd: c.Login) -> Done:
    _require_privacy(s)
    await _authenticate(s, cmd.username, cmd.password)
    return Done(code="CAPABILITY " + s.capabilities(), text="Logged in")


async def authenticate(s: Session, cmd: c.Authenticate) -> Done:
    if cmd.mechanism != "PLAIN":
        raise no(None, "Unsupported authentication mechanism")
    _require_privacy(s)
    response = cmd.initial_response
    if response is None:
        # RFC 4616: PLAIN has no challenge; send an empty one (RFC 3501 6.2.2).
        await s.io.send(continuation_data(b""))
        line = await s.io.read_line(SASL_LINE_MAX)
        try:
            response = decode_sasl_response(line)
        except ParseError:
            raise bad("Invalid base64") from None
        if response is None:
            raise bad("Authentication cancelled")  # RFC 3501 6.2.2: "*" cancels, answered BAD
    parts = response.split(b"\0")
    if len(parts) != 3:
        raise bad("Malformed PLAIN response")
    try:
        authzid, authcid, password = (p.decode("utf-8") for p in parts)
    except UnicodeDecodeError:
        raise bad("Malformed PLAIN response") from None
    if authzid and authzid.lower() != authcid.lower():
        raise no("AUTHORIZATIONFAILED", "Cannot act as another user")
    await _authenticate(s, authcid, password)
    return Done(code="CAPABILITY " + s.capabilities(), text="Logged in")


def _require_privacy(s: Session) -> None:
    # RFC 3501 6.2.3 and LOGINDISABLED: no clear-text passwords without TLS.
    if not s.conn.plaintext_auth_allowed:
        raise no("PRIVACYREQUIRED", "Use STARTTLS before logging in")


async def _authenticate(s: Session, username: str, password: str) -> None:
    # store.login: the brute-force defence shared by every door and worker.
    try:
        account = await s.call(store.login, username, password, protocol="imap", ip=s.conn.peer_ip)
    except store.LoginBlocked:
        raise no("UNAVAILABLE", "Too many failed logins, try again later") from None  # RFC 5530 3
    except store.AppPasswordRequired:
        account, text = None, "Two-factor sign-in is on: log in with an app password"
    except store.LoginFailed:
        account, text = None, "Invalid credentials"
    else:
        text = ""
    if account is not None:
        try:
            s.session_token = await account_sessions.claim(account.id)
        except store.TooManySessions:
            # RFC 5530 3: LIMIT, an implementation limit was reached.
            raise no("LIMIT", "Too many sessions for this account, try again later") from None
        s.logged_in(account)
        return
    s.auth_failures += 1
    await asyncio.sleep(FAILURE_DELAY * s.auth_failures)
    if s.auth_failures >= MAX_AUTH_FAILURES:
        await s.io.send(untagged_status("BYE", None, "Too many failed logins"))
        s.close()
    raise no("AUTHENTICATIONFAILED", text)


async def idle(s: Session, cmd: c.Idle) -> Done:
    """RFC 2177: report changes as they happen until the client sends DONE."""
    await s.sync(expunge_ok=True, force=True)
    await s.io.send(continuation("idling"))

    async def look() -> None:
        # Woken by an event (dirty): that look may be shared; by the poll timer: a look of its own.
        await s.sync(expunge_ok=True, force=not s.dirty)

    line = await s.io.idle(look, float(settings.MAIL_POLL_INTERVAL))
    if not is_idle_done(line):
        raise bad("Expected DONE")
    return Done(text="IDLE terminated")
