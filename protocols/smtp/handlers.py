"""aiosmtpd handler hooks: where an SMTP transaction meets the mail store.

Every store call runs through protocols.dbcall (on the bounded thread pool,
never on the event loop; the store function decides its own transaction,
mailboxes/store/_db.py) and, while it runs, marks the
session busy so a shutdown lets its reply out first. Store errors become
replies here, at the boundary; anything unexpected is logged with the
connection's label and answered 451 without its text.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from mailboxes import store

from .. import dbcall
from ..relay import authcheck
from . import policy, replies, reports, spam, trace
from .session import SMTPSession, Transaction

log = logging.getLogger("protocols.smtp")

# Most specific first: TooBigForQuota is an OverQuota.
_STORE_ERRORS: tuple[tuple[type[store.StoreError], str], ...] = (
    (store.TooBigForQuota, replies.QUOTA_NEVER),
    (store.OverQuota, replies.MAILBOX_FULL),
    (store.Unavailable, replies.UNAVAILABLE),
    (store.SendingLimited, replies.SENDING_LIMITED),
)

Hook = Callable[..., Awaitable[str]]


def replies_on_error(hook: Hook) -> Hook:
    """Map what a hook raises to a reply, so aiosmtpd always gets a status and
    resets its envelope as after any refused command."""

    @functools.wraps(hook)
    async def wrapper(self: Handler, server: SMTPSession, *args: Any) -> str:
        try:
            return await hook(self, server, *args)
        except store.RejectedByFilter as exc:
            log.info("%s: %s: rejected by the recipient's Sieve filter", server.label, hook.__name__)
            return replies.filter_rejected(exc.reason)
        except store.StoreError as exc:
            for error, reply in _STORE_ERRORS:
                if isinstance(exc, error):
                    log.warning("%s: %s: %s", server.label, hook.__name__, exc)
                    return reply
            log.exception("%s: %s: unexpected store error", server.label, hook.__name__)
        except Exception:
            log.exception("%s: %s failed", server.label, hook.__name__)
        return replies.LOCAL_ERROR

    return wrapper


class Handler:
    def __init__(self, limits: policy.Limits) -> None:
        self.limits = limits

    def __dir__(self) -> list[str]:
        # The adapter builds aiosmtpd's tables of hooks and mechanisms from
        # dir() of the handler (once per handler): these are all there is.
        return _HOOKS

    async def handle_EHLO(
        self, server: SMTPSession, session: Session, envelope: Envelope, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        return policy.ehlo_lines(
            server.hostname,
            size=self.limits.max_message_size,
            starttls=server.starttls_offered,
            auth=server.auth_offered,
            requiretls=server.tls,
        )

    @replies_on_error
    async def handle_MAIL(
        self, server: SMTPSession, session: Session, envelope: Envelope, address: str, mail_options: list[str]
    ) -> str:
        if not envelope.smtp_utf8 and not address.isascii():
            return replies.UTF8_SENDER
        account = server.account
        # RFC 6409 6.1: a submission server may insist on the user's own addresses.
        if account is not None and address != "<>":
            with server.busy():
                allowed = await dbcall.call(store.may_send_as, account.id, address)
            if not allowed:
                return replies.SENDER_NOT_OWNED
        if account is not None:
            # The account's hourly sending limit: refused early when already spent.
            with server.busy():
                await dbcall.call(store.check_sending, account.id, 1)
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        server.rcpt_checks.clear()  # a new transaction (RFC 5321 4.1.1.2)
        return replies.SENDER_OK

    @replies_on_error
    async def handle_RCPT(
        self, server: SMTPSession, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        if len(envelope.rcpt_tos) >= self.limits.max_recipients:
            return replies.TOO_MANY_RECIPIENTS
        if not envelope.smtp_utf8 and not address.isascii():
            return replies.UTF8_RECIPIENT
        try:
            store.normalize_address(address)
        except store.InvalidInput:
            if not store.is_postmaster(address):  # <Postmaster> has no domain (RFC 5321 4.5.1)
                return replies.BAD_ADDRESS
        # Without SIZE= (RFC 1870) a full mailbox is still refused here.
        size = max(policy.declared_size(envelope.mail_options), 1)
        with server.busy():
            verdict = await dbcall.call(store.check_recipient, address, size)
        reply = policy.recipient_reply(verdict.check.kind, verdict.quota, may_relay=server.account is not None)
        if reply == replies.RECIPIENT_OK and server.account is not None:
            with server.busy():
                await dbcall.call(store.check_sending, server.account.id, len(envelope.rcpt_tos) + 1)
        if reply == replies.RECIPIENT_OK:
            envelope.rcpt_tos.append(address)
            envelope.rcpt_options.extend(rcpt_options)
            server.rcpt_checks[address] = verdict.check  # DATA delivers by it, without asking again
        return reply

    @replies_on_error
    async def handle_DATA(self, server: SMTPSession, session: Session, envelope: Envelope) -> str:
        data = envelope.original_content or b""
        # Binary content (RFC 3030 3) has no lines; the relay sends it on by BDAT only.
        binary = isinstance(envelope, Transaction) and envelope.binarymime
        if not binary and policy.has_bare_line_ending(data):
            return replies.BARE_LINE_ENDING
        if policy.received_count(data) > policy.MAX_RECEIVED:
            log.info("%s: refused a message with more than %d Received: fields", server.label, policy.MAX_RECEIVED)
            return replies.MAIL_LOOP
        account = server.account
        if account is not None:
            # The authors (From:, Sender:) too, whatever MAIL FROM said (<> included):
            # the relay signs as the author's domain (issue #15 item 1).
            with server.busy():
                unowned = await dbcall.call(store.unowned_authors, account.id, data)
            if unowned:
                log.info("%s: %s may not send as %r", server.label, account.address, unowned[:5])
                return replies.AUTHOR_NOT_OWNED
        mail_from = "" if envelope.mail_from == "<>" else (envelope.mail_from or "")
        trace_id = secrets.token_hex(6)
        message = (
            trace.received(
                helo=session.host_name,
                peer_ip=server.peer_ip,
                hostname=server.hostname,
                protocol=trace.with_protocol(
                    esmtp=session.extended_smtp,
                    tls=server.tls,
                    authenticated=account is not None,
                    smtputf8=envelope.smtp_utf8,
                ),
                trace_id=trace_id,
                recipients=envelope.rcpt_tos,
            )
            + data
        )
        with server.busy():
            # Mail from other hosts: SPF, DKIM and DMARC, an Authentication-Results
            # field on top (RFC 8601 5), and DMARC p=reject refused here.
            verdict = await authcheck.check_inbound(
                data,
                peer_ip=server.peer_ip,
                helo=session.host_name or "",
                mail_from=mail_from,
                authenticated=account is not None,
            )
            if verdict is not None:
                await reports.record_verdict(verdict, peer_ip=server.peer_ip, mail_from=mail_from, label=server.label)
                if verdict.reject:
                    log.info("%s: %s from <%s> refused by DMARC", server.label, trace_id, mail_from)
                    return verdict.smtp_reply
                message = verdict.apply(message)
            scanned = await spam.scan(server, envelope, message, helo=session.host_name or "", queue_id=trace_id)
            if scanned.reply:
                return scanned.reply
            # RFC 5321 4.1.1.4: 250 only once the message is safely stored, i.e.
            # after the one transaction that stores every copy has committed.
            report = await dbcall.call(
                store.deliver_final,
                scanned.message,
                list(envelope.rcpt_tos),
                mail_from,
                local_headers=store.return_path(mail_from) + scanned.fields,
                place=scanned.place,
                sender_account_id=account.id if account is not None else None,
                checks=[server.rcpt_checks.get(address) for address in envelope.rcpt_tos],
                parameters=_parameters(envelope),
            )
            if account is not None:
                try:  # the message is stored: a failed count must not make the client send it again
                    await dbcall.call(store.record_sending, account.id, len(envelope.rcpt_tos))
                except Exception:
                    log.exception("%s: %s: counting the sent recipients failed", server.label, trace_id)
            else:  # reports addressed to us: DMARC, TLS (RFC 8460 5.3), bounces
                await reports.take(data, list(envelope.rcpt_tos), label=f"{server.label}: {trace_id}")
            await _report_delivered(server, envelope, message, mail_from)
        log.info(
            "%s: %s from <%s>: %d bytes to %d mailboxes, %d queued for relay",
            server.label,
            trace_id,
            mail_from,
            len(data),
            len(report.delivered),
            len(report.queued),
        )
        return replies.DELIVERED.format(id=trace_id)

    async def authenticate(self, server: SMTPSession, credentials: LoginPassword) -> AuthResult:
        login = credentials.login.decode("utf-8", "replace")
        password = credentials.password.decode("utf-8", "replace")
        try:
            with server.busy():
                account = await dbcall.call(store.login, login, password, protocol="smtp", ip=server.peer_ip)
        except store.AppPasswordRequired:
            log.info(
                "%s: AUTH for %r from %s refused: own password, two-factor on", server.label, login, server.peer_ip
            )
            return AuthResult(success=False, handled=False, message=replies.AUTH_APP_PASSWORD)
        except store.LoginFailed:
            log.info("%s: AUTH refused for %r from %s", server.label, login, server.peer_ip)
            return AuthResult(success=False, handled=False)
        except store.LoginBlocked:
            log.info("%s: AUTH for %r from %s blocked (too many failures)", server.label, login, server.peer_ip)
            return AuthResult(success=False, handled=False, message=replies.AUTH_BLOCKED)
        except store.Unavailable:
            return AuthResult(success=False, handled=False, message=replies.AUTH_TEMPFAIL)
        except Exception:
            log.exception("%s: AUTH failed", server.label)
            return AuthResult(success=False, handled=False, message=replies.AUTH_TEMPFAIL)
        return AuthResult(success=True, auth_data=account)


_HOOKS = [name for name in vars(Handler) if name.startswith(("handle_", "auth_"))]


def _parameters(envelope: Envelope) -> store.EnvelopeParameters | None:
    """The transaction's DSN (RFC 3461) and REQUIRETLS (RFC 8689) as the store keeps them."""
    if not isinstance(envelope, Transaction):
        return None
    notify, orcpt = {}, {}
    for address, asked in envelope.rcpt_dsn.items():
        key = address.lower()
        with contextlib.suppress(store.InvalidInput):
            key = store.normalize_address(address)
        if asked.notify:
            notify[key] = ",".join(asked.notify)
        if asked.orcpt:
            orcpt[key] = asked.orcpt
    return store.EnvelopeParameters(
        envelope.dsn.ret, envelope.dsn.envid, notify, orcpt, envelope.require_tls, envelope.binarymime
    )


async def _report_delivered(server: SMTPSession, envelope: Envelope, message: bytes, mail_from: str) -> None:
    """NOTIFY=SUCCESS for a recipient stored here: a "delivered" DSN (RFC 3461
    4.1), or "expanded" for an alias that passes the message on to several
    recipients (6.2.7.3). The message is stored already: a failure here is
    logged, not answered."""
    if not isinstance(envelope, Transaction) or not mail_from:
        return
    delivered: list[tuple[str, str]] = []
    expanded: list[tuple[str, str]] = []
    for address, asked in envelope.rcpt_dsn.items():
        check = server.rcpt_checks.get(address)
        if "SUCCESS" in asked.notify and check is not None and check.kind == "local":
            several = len(check.account_ids) + len(check.forwards) > 1
            (expanded if several else delivered).append((address, asked.orcpt))
    if not delivered and not expanded:
        return
    try:
        await dbcall.call(
            store.report_delivered,
            message,
            mail_from,
            delivered,
            envid=envelope.dsn.envid,
            ret=envelope.dsn.ret,
            expanded=expanded,
        )
    except Exception:
        log.exception("%s: the success DSN to <%s> failed", server.label, mail_from)
