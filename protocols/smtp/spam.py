"""Spam scanning at DATA, before the 250 (docs/SPAM.md).

The DATA handler (handlers.py) hands over the message as it will be stored
(our Received and Authentication-Results on top) and gets back either a
reply that refuses it or how to store it:

    scanned = await spam.scan(server, envelope, message, helo=session.host_name)
    if scanned.reply:
        return scanned.reply          # 550 5.7.1 (reject), 451 4.7.1 (greylist, soft reject, scanner down)
    ... store.deliver_final(scanned.message, ..., local_headers=... + scanned.fields, place=scanned.place)

scanned.message has every X-Spam-* field that came from outside removed;
scanned.fields are ours, for the copies stored in local mailboxes (not for
copies relayed on). The scan runs on a small thread pool of its own, so a
slow rspamd holds neither the event loop nor the store's threads. Without
MAIL_RSPAMD_URL, or for a domain whose dashboard settings turn scanning off,
nothing is scanned and nothing is added.

The recipients' domain settings go to rspamd as its per-message Settings
(store.spam_policy); recipients whose allow list names the sender get
mail rspamd marks in INBOX, not Junk. Each outcome is counted for the
dashboard (store.record_spam), a refusal with its symbols.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from aiosmtpd.smtp import Envelope
from django.conf import settings

from mailboxes import store
from mailboxes.spam import client
from mailboxes.spam.verdict import Verdict, header_fields, strip_spam_fields
from mailhost import metrics

from .. import dbcall
from .session import SMTPSession

log = logging.getLogger("protocols.smtp")
_executor: ThreadPoolExecutor | None = None

# RFC 3463 X.7.1: delivery not authorized, message refused (5) or deferred (4).
REJECTED = "550 5.7.1 {text}"
DEFERRED = "451 4.7.1 {text}"
UNCHECKED_DEFERRED = "451 4.7.1 Spam filter unavailable, try again later"
JUNK = store.Placement(special_use="\\Junk")


@dataclass(frozen=True)
class Scanned:
    reply: str = ""  # refuse with this, store nothing
    message: bytes = b""  # the message to store, foreign X-Spam-* removed
    fields: bytes = b""  # our X-Spam-* fields, for local copies
    place: store.Placer | None = None  # where local copies go (Junk), None: INBOX
    verdict: Verdict | None = None


def _pool() -> ThreadPoolExecutor:
    global _executor
    if _executor is None:
        _executor = ThreadPoolExecutor(max_workers=settings.MAIL_DB_THREADS, thread_name_prefix="spam")
    return _executor


async def scan(server: SMTPSession, envelope: Envelope, message: bytes, *, helo: str, queue_id: str) -> Scanned:
    if not client.enabled():
        return Scanned(message=message)
    message = strip_spam_fields(message)
    account = server.account
    mail_from = envelope.mail_from or ""
    with server.busy():
        policy = await dbcall.call(
            store.spam_policy,
            mail_from,
            [server.rcpt_checks.get(a) for a in envelope.rcpt_tos],
            account.address.rpartition("@")[2] if account else "",
        )
    if not policy.enabled:
        return Scanned(message=message)
    facts = client.Facts(
        ip=server.peer_ip,
        helo=helo,
        mail_from=mail_from,
        recipients=tuple(envelope.rcpt_tos),
        user=account.address if account else "",
        queue_id=queue_id,
        settings=policy.settings,
    )
    verdict = await _check(server, message, facts, queue_id)
    await _record(server, envelope, verdict, queue_id)
    if verdict is None:
        if settings.MAIL_RSPAMD_FAILURE == "tempfail":
            return Scanned(reply=UNCHECKED_DEFERRED)
        return Scanned(message=message, fields=header_fields(None))
    if verdict.outcome == "reject":
        return Scanned(reply=REJECTED.format(text=verdict.reply_text("Message rejected as spam")), verdict=verdict)
    if verdict.outcome == "defer":
        return Scanned(reply=DEFERRED.format(text=verdict.reply_text("Try again later")), verdict=verdict)
    never_junk = policy.never_junk
    place = (
        (lambda account_id: store.Placement() if account_id in never_junk else JUNK)
        if verdict.outcome == "junk"
        else None
    )
    return Scanned(message=message, fields=header_fields(verdict), place=place, verdict=verdict)


async def _record(server: SMTPSession, envelope: Envelope, verdict: Verdict | None, queue_id: str) -> None:
    """Count the outcome for the dashboard, a refusal with its symbols (and,
    on submission, the account that sent it)."""
    account = server.account
    rejection = None
    if verdict is not None and verdict.outcome == "reject":
        rejection = store.Rejection(
            server.profile.name,
            server.peer_ip,
            envelope.mail_from or "",
            tuple(envelope.rcpt_tos),
            verdict.score,
            verdict.symbols,
            verdict.smtp_message,
            account.id if account else None,
        )
    try:
        with server.busy():
            await dbcall.call(store.record_spam, verdict.outcome if verdict else "unchecked", rejection)
    except Exception:  # the dashboard's count: never a reason to refuse or lose the message
        log.exception("%s: %s: recording the spam outcome failed", server.label, queue_id)


async def _check(server: SMTPSession, message: bytes, facts: client.Facts, queue_id: str) -> Verdict | None:
    """rspamd's verdict, or None when it did not give one (logged, counted)."""
    started = time.perf_counter()
    loop = asyncio.get_running_loop()
    try:
        verdict = await loop.run_in_executor(_pool(), functools.partial(client.check, message, facts))
    except client.ScannerDown as exc:
        metrics.spam_scanned(server.profile.name, "unavailable", 0)
        log.warning("%s: %s: spam scan failed (%s): %s", server.label, queue_id, settings.MAIL_RSPAMD_FAILURE, exc)
        return None
    metrics.spam_scanned(server.profile.name, verdict.outcome, time.perf_counter() - started)
    log.info(
        "%s: %s: spam %s score %.2f %s",
        server.label,
        queue_id,
        verdict.action,
        verdict.score,
        ",".join(verdict.symbols[:10]),
    )
    return verdict
