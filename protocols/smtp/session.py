"""One SMTP connection: aiosmtpd's SMTP protocol with Mailhost's rules.

aiosmtpd keeps the SMTP state machine (command parsing, HELO/EHLO, MAIL,
RCPT, DATA with dot-unstuffing, STARTTLS, AUTH exchanges, line and size
limits). This subclass changes only what our rules need: which listener
offers what (policy.PROFILES), enhanced status codes on every reply, the
plaintext-AUTH rule of protocols.listener.Connection, credentials checked in
the store off the event loop, an idle timeout that counts bytes rather than
commands, exception text kept off the wire, and a shutdown that says 421
after any store call in flight has answered. Behind a load balancer
(MAIL_PROXY_TRUSTED) aiosmtpd reads the PROXY header (v1/v2) and the
client's real address becomes peer_ip. What aiosmtpd keeps private is reached
through aiosmtpd_adapter.AdaptedSMTP only.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import itertools
import logging
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, cast

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, TLSSetupException
from django.conf import settings

from mailboxes.store.types import RecipientCheck
from mailhost import metrics

from .. import limits as connection_limits
from .. import proxy
from ..listener import Connection
from . import dsn, policy, replies
from .aiosmtpd_adapter import AdaptedSMTP

log = logging.getLogger("protocols.smtp")
_ids = itertools.count(1)
# A BDAT chunk is read (and drained) in pieces of at most this many octets.
_CHUNK_PIECE = 64 * 1024


class Transaction(Envelope):
    """aiosmtpd's envelope and what our extensions add to one transaction."""

    def __init__(self) -> None:
        super().__init__()
        self.binarymime = False  # MAIL ... BODY=BINARYMIME (RFC 3030 3)
        self.chunks: bytearray | None = None  # the BDAT chunks so far; None until the first
        self.dsn = dsn.MailDsn()  # RET, ENVID (RFC 3461 4.3, 4.4)
        self.rcpt_dsn: dict[str, dsn.RcptDsn] = {}  # NOTIFY, ORCPT of each accepted recipient
        self.require_tls = False  # MAIL ... REQUIRETLS (RFC 8689 4.1)


class SMTPSession(AdaptedSMTP):
    def __init__(
        self,
        handler: Any,
        *,
        profile: policy.Profile,
        limits: policy.Limits,
        tls_context: ssl.SSLContext | None,
        sessions: set,
        loop: asyncio.AbstractEventLoop,
        admitted: connection_limits.ConnectionLimits | None = None,
    ) -> None:
        self.profile = profile
        self.admitted = admitted
        self._admitted_ip: str | None = None  # counted in the listener's limits under this address
        self._refused = False
        self.limits = limits
        self.sessions = sessions
        self.conn_id = next(_ids)
        self.peer_ip = ""
        self._greeted = False  # the 220 greeting goes out as aiosmtpd wrote it
        self._verbatim = False  # so do HELO/EHLO replies (RFC 2034 3)
        self._busy = False  # a store call is in flight: its reply must go out
        self.rcpt_checks: dict[str, RecipientCheck] = {}  # this transaction's RCPT answers
        self._closing = False
        # aiosmtpd keeps these on the class, shared by every connection.
        self.command_size_limits = collections.defaultdict(lambda: SMTP.command_size_limit)
        self.line_length_limit = limits.max_line_length + 1  # + the transparent dot (4.5.3.1.6)
        super().__init__(
            handler,
            data_size_limit=limits.max_message_size,
            enable_SMTPUTF8=True,
            decode_data=False,
            hostname=settings.MAIL_HOSTNAME,
            ident="ESMTP Mailhost",
            tls_context=tls_context if profile.starttls else None,
            timeout=limits.idle_timeout,
            auth_required=profile.auth_required,
            auth_require_tls=True,
            command_call_limit=policy.command_limits(limits),
            loop=loop,
            proxy_protocol_timeout=settings.MAIL_PROXY_TIMEOUT if settings.MAIL_PROXY_TRUSTED else None,
        )
        self.add_handler_hook("PROXY", self._proxy_hook)
        self._reply = ""
        self._counted: metrics.ConnectionCount | None = None
        self.wrap_commands(self._timed)

    def _timed(self, name: str, method: Callable[[str], Awaitable[None]]) -> Callable[[str], Awaitable[None]]:
        """Count and time each command by the class of its (last) reply."""

        async def timed(arg: str) -> None:
            started, self._reply = time.perf_counter(), ""
            try:
                await method(arg)
            finally:
                metrics.command("smtp", name, (self._reply[:1] or "-") + "xx", time.perf_counter() - started)

        return timed

    async def _proxy_hook(self, server: Any, session: Any, envelope: Any, data: Any) -> bool:
        """aiosmtpd has read a PROXY header (MAIL_PROXY_TRUSTED is set): accept it
        from a trusted balancer only; its source becomes the peer address."""
        if not proxy.trusted(self.peer_ip, settings.MAIL_PROXY_TRUSTED):
            log.warning("%s: PROXY header from %s, not a trusted peer: refused", self.label, self.peer_ip)
            return False
        if data.src_addr is not None:
            self.peer_ip = str(data.src_addr)
            self.require_tls_for_auth(not self.plaintext_auth_allowed)
        return self._admit()  # the limits count the client behind the balancer

    def _admit(self) -> bool:
        """Count this connection in the listener's limits (protocols/limits.py),
        or send 421 4.7.0 (RFC 5321 3.8) and close it."""
        if self.admitted is None:
            return True
        if not self.admitted.admit(self.peer_ip):
            log.warning("%s: connection limit reached, %s refused", self.label, self.peer_ip)
            if self.transport is not None:
                cast(asyncio.WriteTransport, self.transport).write(connection_limits.try_later("smtp"))
                self.transport.close()
            return False
        self._admitted_ip = self.peer_ip
        return True

    # --- who is on the other end (the listener's rules, not a copy) -----------

    loopback = property(Connection.loopback.fget)  # type: ignore[attr-defined]
    plaintext_auth_allowed = property(Connection.plaintext_auth_allowed.fget)  # type: ignore[attr-defined]

    @property
    def label(self) -> str:
        return f"{self.profile.name}#{self.conn_id}"

    @property
    def tls(self) -> bool:
        return self.profile.implicit_tls or self.starttls_done

    @property
    def starttls_offered(self) -> bool:
        return self.tls_context is not None and not self.tls

    @property
    def auth_offered(self) -> bool:
        return self.profile.auth and self.plaintext_auth_allowed

    @property
    def account(self) -> Any:
        """The AccountInfo of an authenticated client, else None."""
        if self.session is not None and self.session.authenticated:
            return self.session.auth_data
        return None

    @contextlib.contextmanager
    def busy(self) -> Iterator[None]:
        self._busy = True
        try:
            yield
        finally:
            self._busy = False

    # --- connection life --------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        after_starttls = self.starttls_transport_swapped
        super().connection_made(transport)
        if after_starttls:  # aiosmtpd has started a fresh Session (RFC 3207 4.2)
            return
        peer = transport.get_extra_info("peername") or ("", 0)
        self.peer_ip = str(peer[0])
        if not settings.MAIL_PROXY_TRUSTED:  # else counted once the PROXY header names the client
            self.transport = transport
            if not self._admit():
                self._refused = True  # no session state: aiosmtpd never sees this connection
                return
        self.sessions.add(self)
        self._counted = metrics.ConnectionCount(self.profile.name).__enter__()
        # aiosmtpd's rule is "TLS or no AUTH"; ours also allows loopback and the setting.
        self.require_tls_for_auth(not self.plaintext_auth_allowed)
        if self.profile.implicit_tls and self.session is not None:
            self.session.ssl = {"ssl_object": transport.get_extra_info("ssl_object")}
        if self.session_task is not None:
            self.session_task.add_done_callback(self._session_ended)

    def _session_ended(self, task: asyncio.Task) -> None:
        if task.cancelled():
            return
        error = task.exception()
        if error is not None and not isinstance(error, (ConnectionError, ssl.SSLError)):
            log.error("%s: session failed", self.label, exc_info=error)

    def connection_lost(self, error: Exception | None) -> None:
        if self._refused:
            self.transport = None
            return
        try:
            super().connection_lost(error)
        finally:
            if self._admitted_ip is not None and self.admitted is not None:
                self.admitted.release(self._admitted_ip)
                self._admitted_ip = None
            self.sessions.discard(self)
            if self._counted is not None:
                self._counted.__exit__()
                self._counted = None

    def data_received(self, data: bytes) -> None:
        # Idle means no byte from the client, as Postfix's smtpd_timeout: a
        # long DATA that keeps arriving is not idle.
        if self._refused:
            return
        self.restart_idle_timer()
        super().data_received(data)

    def eof_received(self) -> bool | None:
        if self._refused:
            return False
        return super().eof_received()

    def idle_timeout(self) -> None:
        if self._busy:  # waiting for the store, not for the client
            self.restart_idle_timer()
            return
        log.info("%s: idle timeout", self.label)
        # A transport already closing (a TLS one closed twice has dropped its
        # protocol: writing raised AttributeError in the loop) gets no reply.
        if self.transport is not None and not self.transport.is_closing():
            cast(asyncio.WriteTransport, self.transport).write(replies.TIMEOUT.encode() + b"\r\n")
        super().idle_timeout()

    async def shutdown(self) -> None:
        """Say 421 and close; a store call in flight gets its reply out first."""
        if self._busy:
            self._closing = True
        else:
            self._goodbye()

    def _goodbye(self) -> None:
        self._closing = False
        if self.transport is not None and not self.transport.is_closing():
            cast(asyncio.WriteTransport, self.transport).write(replies.SHUTDOWN.encode() + b"\r\n")
            self.transport.close()

    async def push(self, status: Any) -> None:
        if isinstance(status, str) and self._greeted and not self._verbatim:
            status = replies.enhance(status)
        self._greeted = True
        self._reply = status if isinstance(status, str) else ""
        await super().push(status)
        if self._closing and not self._busy:
            self._goodbye()

    async def handle_exception(self, error: Exception) -> str:
        """aiosmtpd's default sends the exception's text to the client; never that."""
        if isinstance(error, TLSSetupException):
            log.info("%s: TLS handshake failed: %r", self.label, error.__cause__)
        else:
            log.error("%s: unexpected error", self.label, exc_info=error)
        return replies.LOCAL_ERROR

    # --- commands where our rules differ ------------------------------------

    def parse_address(self, arg: str) -> tuple[str | None, str | None]:
        plain = policy.plain_path(arg)
        if plain is not None and not (
            self.local_part_limit and len(plain[0].rpartition("@")[0]) > self.local_part_limit
        ):
            return plain
        # The stdlib parser aiosmtpd uses raises IndexError on a lone "<"
        # (found by the fuzz harness): a syntax error (501, RFC 5321 4.1.2), not a crash.
        try:
            return super().parse_address(arg)
        except (IndexError, ValueError):
            return None, None

    @contextlib.contextmanager
    def _verbatim_replies(self) -> Iterator[None]:
        self._verbatim = True
        try:
            yield
        finally:
            self._verbatim = False

    async def smtp_HELO(self, hostname: str) -> None:
        if policy.has_control(hostname):
            await self.push(replies.BAD_HELO)
            return
        with self._verbatim_replies():
            await super().smtp_HELO(hostname)

    async def smtp_EHLO(self, hostname: str) -> None:
        if policy.has_control(hostname):
            await self.push(replies.BAD_HELO)
            return
        with self._verbatim_replies():
            await super().smtp_EHLO(hostname)

    def new_envelope(self) -> Envelope:
        return Transaction()

    @property
    def transaction(self) -> Transaction:
        return cast(Transaction, self.envelope)

    async def smtp_MAIL(self, arg: str | None) -> None:
        # A quoted local part may hold a CR that the stdlib parser keeps: it
        # would be written into Return-Path and Authentication-Results.
        if policy.has_control(arg):
            if not await self.check_helo_needed() and not await self.check_auth_needed("MAIL"):
                await self.push(replies.BAD_SENDER_SYNTAX)
            return
        # aiosmtpd knows BODY=7BIT|8BITMIME and SIZE only: take ours off before it looks.
        binarymime, require_tls, mail_dsn = False, False, dsn.MailDsn()
        if arg is not None and self.session is not None and self.session.extended_smtp:
            if await self.check_helo_needed() or await self.check_auth_needed("MAIL"):
                return
            head, params = policy.split_parameters(arg)
            params, binarymime = policy.take_flag(params, "BODY=BINARYMIME")
            params, require_tls = policy.take_flag(params, "REQUIRETLS")
            if require_tls and not self.tls:  # RFC 8689 4.1: only in a TLS session
                await self.push(replies.REQUIRETLS_WITHOUT_TLS)
                return
            try:
                params, mail_dsn = dsn.take_mail(params)
            except dsn.DsnSyntax:
                await self.push(replies.DSN_SYNTAX)
                return
            arg = " ".join([head, *params])
        started = bool(self.transaction.mail_from)
        await super().smtp_MAIL(arg)
        if not started and self.transaction.mail_from:
            self.transaction.binarymime = binarymime
            self.transaction.require_tls = require_tls
            self.transaction.dsn = mail_dsn

    async def smtp_RCPT(self, arg: str | None) -> None:
        rcpt_dsn = dsn.RcptDsn()
        if arg is not None and self.session is not None and self.session.extended_smtp:
            if await self.check_helo_needed() or await self.check_auth_needed("RCPT"):
                return
            head, params = policy.split_parameters(arg)
            try:
                params, rcpt_dsn = dsn.take_rcpt(params)
            except dsn.DsnSyntax:
                await self.push(replies.DSN_SYNTAX)
                return
            arg = " ".join([head, *params])
        accepted = len(self.transaction.rcpt_tos)
        await super().smtp_RCPT(arg)
        if len(self.transaction.rcpt_tos) > accepted:
            self.transaction.rcpt_dsn[self.transaction.rcpt_tos[-1]] = rcpt_dsn

    async def smtp_DATA(self, arg: str) -> None:
        if self.transaction.rcpt_tos and self.transaction.chunks is not None:
            await self.push(replies.DATA_AFTER_BDAT)
        elif self.transaction.rcpt_tos and self.transaction.binarymime:
            await self.push(replies.DATA_BINARYMIME)
        else:
            await super().smtp_DATA(arg)

    async def smtp_BDAT(self, arg: str | None) -> None:
        """RFC 3030: a chunk of exactly that many octets follows the command.
        Whatever the answer, the chunk is read off the connection first, and a
        refused one is drained in pieces, never held (so a pipelined client's
        next command is read as one). The size limit is checked before a chunk
        is read; a refused chunk ends the transaction, as a refused DATA does."""
        parsed = policy.parse_bdat(arg)
        if parsed is None:
            # Where the chunk ends is unknown, so its octets would be read as commands.
            await self.push(replies.BDAT_SYNTAX)
            if self.transport is not None:
                self.transport.close()
            return
        size, last = parsed
        transaction = self.transaction
        received = len(transaction.chunks or b"")
        refusal = None
        if not transaction.rcpt_tos:
            refusal = replies.BDAT_NEEDS_RCPT
        elif received + size > self.limits.max_message_size:
            refusal = replies.TOO_BIG
        if refusal is not None:
            await self._drain(size)
            if transaction.rcpt_tos:
                log.info("%s: BDAT of %d octets after %d refused: too big", self.label, size, received)
                self.end_transaction()
            await self.push(refusal)
            return
        if transaction.chunks is None:
            transaction.chunks = bytearray()
        await self._read_chunk(size, transaction.chunks)
        if not last:
            await self.push(replies.CHUNK_RECEIVED.format(size=size))
            return
        transaction.original_content = transaction.content = bytes(transaction.chunks)
        transaction.chunks = bytearray()  # the transaction is over: its bytes are the message's now
        status = await self.event_handler.handle_DATA(self, self.session, transaction)
        self.end_transaction()
        await self.push(status)

    async def _read_chunk(self, size: int, into: bytearray) -> None:
        while size > 0:
            piece = await self.read_exactly(min(size, _CHUNK_PIECE))
            into += piece
            size -= len(piece)

    async def _drain(self, size: int) -> None:
        while size > 0:
            size -= len(await self.read_exactly(min(size, _CHUNK_PIECE)))

    async def smtp_HELP(self, arg: str) -> None:
        # aiosmtpd's answers 250 and asks for AUTH first; RFC 5321 4.1.1.8 says 214.
        for line in policy.help_reply(arg, starttls=self.starttls_offered, auth=self.auth_offered):
            await self.push(line)

    async def smtp_VRFY(self, arg: str) -> None:
        # No account disclosure, before or after AUTH (RFC 5321 3.5.3, 7.3).
        await self.push(replies.VRFY if arg else replies.VRFY_SYNTAX)

    async def smtp_STARTTLS(self, arg: str) -> None:
        if self.tls:
            await self.push(replies.TLS_ACTIVE)
            return
        await super().smtp_STARTTLS(arg)

    async def smtp_AUTH(self, arg: str) -> None:
        if not self.profile.auth:
            await self.push(replies.AUTH_NOT_ENABLED)
            return
        await super().smtp_AUTH(arg)

    # --- AUTH: aiosmtpd decodes, the store decides --------------------------

    def check_credentials(self, mechanism: str, auth_data: Any) -> AuthResult:
        # aiosmtpd calls this synchronously, on the event loop, where the store
        # must not be called: hand the decoded credentials back to _verify.
        return AuthResult(success=False, handled=False, auth_data=auth_data)

    async def auth_PLAIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._verify(await super().auth_PLAIN(_, args))

    async def auth_LOGIN(self, _: Any, args: list[str]) -> AuthResult:
        return await self._verify(await super().auth_LOGIN(_, args))

    async def _verify(self, result: AuthResult) -> AuthResult:
        if result.handled or not isinstance(result.auth_data, LoginPassword):
            return result  # aiosmtpd refused the exchange and has answered
        return await self.event_handler.authenticate(self, result.auth_data)


class _DeprecationNoise(logging.Filter):
    """aiosmtpd warns on every successful AUTH that Session.login_data, which it
    sets itself, is deprecated, and on every unknown command a client sends (a
    log line per line of input, for anyone to write; "too many bogus commands"
    is still logged once per session)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return "login_data is deprecated" not in message and " unrecognised: " not in message


def quiet_aiosmtpd_log() -> None:
    """aiosmtpd logs each command at INFO on 'mail.log'; keep its warnings only,
    unless the log level was configured for it."""
    aiosmtpd_log = logging.getLogger("mail.log")
    if aiosmtpd_log.level == logging.NOTSET:
        aiosmtpd_log.setLevel(logging.WARNING)
    if not any(isinstance(f, _DeprecationNoise) for f in aiosmtpd_log.filters):
        aiosmtpd_log.addFilter(_DeprecationNoise())
