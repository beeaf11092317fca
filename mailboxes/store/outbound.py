"""The outbound queue: what the relay (protocols/relay, run by Celery) claims,
and how each attempt's outcome changes it.

A recipient is claimed by one worker at a time: claim_outbound() locks due
rows with SELECT ... FOR UPDATE SKIP LOCKED (two workers never see the same
row) and pushes their next_attempt a lease into the future before it
commits. The worker then talks SMTP outside any transaction and hands the
outcome to record_outcome(). A worker that dies leaves its rows to come due
again when the lease runs out, so nothing is lost; at worst a recipient whose
server had already said 250 gets the message twice (RFC 5321 6.1 prefers
that to losing it).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from .. import notices
from ..models import OutboundMessage, OutboundRecipient
from . import bounces
from ._db import atomic
from .errors import InvalidInput, StoreError, Unavailable

log = logging.getLogger("mailboxes.store")
State = OutboundRecipient.State
PENDING = (State.QUEUED, State.DEFERRED)
OUTCOMES = ("sent", "temporary", "permanent")
EXPIRED_STATUS = "4.4.7"  # RFC 3463: delivery time expired


@dataclass(frozen=True)
class OutboundRecipientInfo:
    id: int
    message_id: int
    address: str
    domain: str
    state: str
    attempts: int
    next_attempt: datetime
    last_error: str
    delay_warned: bool = False  # the sender got a "delayed" DSN for this recipient


@dataclass(frozen=True)
class OutboundJob:
    """One message and the recipients of it this worker now holds."""

    message_id: int
    mail_from: str
    created: datetime
    data: bytes
    recipients: tuple[tuple[int, str, str], ...]  # (recipient id, address, domain)
    dkim_domain: str = ""  # sign as this domain only ("" = unsigned), decided when queued
    dsn_ret: str = ""  # RFC 3461: RET, ENVID, and each recipient id's (NOTIFY, ORCPT)
    dsn_envid: str = ""
    dsn: dict[int, tuple[str, str]] = field(default_factory=dict)
    require_tls: bool = False  # RFC 8689 REQUIRETLS
    binarymime: bool = False  # RFC 3030 BODY=BINARYMIME: BDAT only


@dataclass(frozen=True)
class AttemptResult:
    """What one delivery attempt to one recipient came to."""

    recipient_id: int
    outcome: str  # sent | temporary | permanent
    status: str = ""  # RFC 3463 code, e.g. 4.2.2
    diagnostic: str = ""  # RFC 3464 2.3.6 form, e.g. "smtp; 452 4.2.2 mailbox full"
    remote_mta: str = ""
    dsn_passed: bool = False  # the next hop took the DSN parameters: it reports success itself


@dataclass(frozen=True)
class OutcomeSummary:
    sent: int
    deferred: int
    failed: int
    bounced: bool  # a DSN went to the sender
    delay_warned: bool = False  # a "delayed" DSN went to the sender


def backoff(attempts: int) -> timedelta:
    """The wait after the attempts-th try failed temporarily: MAIL_RELAY_BACKOFF
    (5 min, 15 min, 1 h, 4 h, then every 8 h), its last step repeating."""
    steps = settings.MAIL_RELAY_BACKOFF
    return timedelta(seconds=steps[min(max(attempts, 1), len(steps)) - 1])


def _lifetime() -> timedelta:
    return timedelta(seconds=settings.MAIL_RELAY_LIFETIME)


@atomic
def claim_outbound(
    *,
    limit: int = 100,
    message_id: int | None = None,
    domains: list[str] | None = None,
    lease_seconds: int | None = None,
) -> list[OutboundJob]:
    """Take up to `limit` due recipients (of one message, or bound for some
    domains, or any) for this worker alone, for lease_seconds
    (MAIL_RELAY_LEASE). Returns them grouped by message."""
    if limit < 1:
        raise InvalidInput("limit must be positive")
    now = timezone.now()
    due = OutboundRecipient.objects.select_for_update(skip_locked=True).filter(state__in=PENDING, next_attempt__lte=now)
    if message_id is not None:
        due = due.filter(message_id=message_id)
    if domains is not None:
        due = due.filter(domain__in=domains)
    rows = list(
        due.order_by("next_attempt", "id").values_list(
            "id", "message_id", "address", "domain", "dsn_notify", "dsn_orcpt"
        )[:limit]
    )
    if not rows:
        return []
    lease = timedelta(seconds=lease_seconds or settings.MAIL_RELAY_LEASE)
    from django.db.models import F

    OutboundRecipient.objects.filter(pk__in=[r[0] for r in rows]).update(
        next_attempt=now + lease, attempts=F("attempts") + 1
    )
    by_message: dict[int, list[tuple[int, str, str]]] = {}
    for rid, mid, address, domain, _, _ in rows:
        by_message.setdefault(mid, []).append((rid, address, domain))
    dsn = {rid: (notify, orcpt) for rid, _, _, _, notify, orcpt in rows if notify or orcpt}
    messages = OutboundMessage.objects.select_related("blob").filter(pk__in=list(by_message)).order_by("pk")
    return [
        OutboundJob(
            m.pk,
            bounces.return_path(m.mail_from, m.pk, m.sender_id),
            m.created,
            bytes(m.blob.data),
            tuple(by_message[m.pk]),
            m.dkim_domain,
            m.dsn_ret,
            m.dsn_envid,
            {r[0]: dsn[r[0]] for r in by_message[m.pk] if r[0] in dsn},
            m.require_tls,
            m.binarymime,
        )
        for m in messages
    ]


@atomic
def record_outcome(message_id: int, results: list[AttemptResult]) -> OutcomeSummary:
    """Apply one attempt's results: sent, deferred with backoff (or failed once
    the message is older than MAIL_RELAY_LIFETIME), failed. Recipients that
    fail here get one DSN to the envelope sender, in the same transaction (no
    DSN for a null sender: RFC 5321 4.5.5). Recipients deferred once the
    message has waited MAIL_RELAY_DELAY_WARNING get one "delayed" DSN, once
    each ever (OutboundRecipient.delay_warned). Repeating a call changes
    nothing: only recipients still pending are touched."""
    for r in results:
        if r.outcome not in OUTCOMES:
            raise InvalidInput(f"unknown outcome {r.outcome!r}")
    message = (
        OutboundMessage.objects.filter(pk=message_id)
        .only("pk", "mail_from", "created", "blob_id", "dsn_ret", "dsn_envid")
        .first()
    )
    if message is None:
        return OutcomeSummary(0, 0, 0, False)
    by_id = {r.recipient_id: r for r in results}
    rows = list(
        OutboundRecipient.objects.select_for_update()
        .filter(message_id=message_id, pk__in=list(by_id), state__in=PENDING)
        .order_by("pk")
    )
    now = timezone.now()
    expiry = message.created + _lifetime()
    warn_after = _delay_warning()
    sent, deferred, failures, delays, relayed = [], 0, [], [], []
    for row in rows:
        result = by_id[row.pk]
        if result.outcome == "sent":
            sent.append(row.pk)
            if _asked(row, "SUCCESS") and not result.dsn_passed:  # RFC 3461 5.2.2: we report "relayed"
                relayed.append(
                    notices.Failure(row.address, "2.0.0", result.diagnostic, result.remote_mta, row.dsn_orcpt)
                )
            continue
        if result.outcome == "temporary" and now < expiry:
            row.state, row.last_error = State.DEFERRED, result.diagnostic[:2000]
            row.next_attempt = min(now + backoff(row.attempts), expiry)
            if warn_after and not row.delay_warned and now - message.created >= warn_after and message.mail_from:
                row.delay_warned = True
                if _asked(row, "DELAY"):
                    delays.append(
                        notices.Failure(
                            row.address, _temporary(result.status), result.diagnostic, result.remote_mta, row.dsn_orcpt
                        )
                    )
            row.save(update_fields=["state", "last_error", "next_attempt", "delay_warned"])
            deferred += 1
            continue
        status, diagnostic = result.status, result.diagnostic
        if result.outcome == "temporary":  # out of time (RFC 5321 4.5.4.1)
            status = EXPIRED_STATUS
            diagnostic = diagnostic or "x-mailhost; delivery time expired"
        row.state, row.last_error = State.FAILED, diagnostic[:2000]
        row.save(update_fields=["state", "last_error"])
        if _asked(row, "FAILURE"):
            failures.append(
                notices.Failure(row.address, status or "5.0.0", diagnostic, result.remote_mta, row.dsn_orcpt)
            )
    if sent:
        OutboundRecipient.objects.filter(pk__in=sent).update(state=State.SENT, last_error="")
    bounced = bool(failures and message.mail_from) and _bounce(message, failures, now)
    warned = bool(delays) and _bounce(message, delays, now, kind=notices.DELAYED, retry_until=expiry)
    if relayed and message.mail_from:
        _bounce(message, relayed, now, kind=notices.RELAYED)
    return OutcomeSummary(len(sent), deferred, len(failures), bounced, warned)


def _asked(row: OutboundRecipient, event: str) -> bool:
    """Whether the sender wants a DSN for this event (RFC 3461 4.1): without
    NOTIFY, failures and delays are reported and success is not."""
    if not row.dsn_notify:
        return event != "SUCCESS"
    return event in row.dsn_notify.split(",")


def _delay_warning() -> timedelta | None:
    seconds = settings.MAIL_RELAY_DELAY_WARNING
    return timedelta(seconds=seconds) if seconds > 0 else None


def _temporary(status: str) -> str:
    """A delay notice's status: the last temporary one (4.x.x), else 4.0.0."""
    return status if status.startswith("4.") else "4.0.0"


def _bounce(
    message: OutboundMessage,
    failures: list[notices.Failure],
    now: datetime,
    kind: str = notices.FAILED,
    retry_until: datetime | None = None,
) -> bool:
    """Deliver a DSN about `failures` to the envelope sender: a failure
    report, a delay notice until retry_until, or a "relayed" success report
    (RFC 3464 Action), with the sender's ENVID and ORCPTs and the original
    headers, or the whole message for RET=FULL (RFC 3461 4.3)."""
    from ..models import Blob
    from .delivery import deliver

    blob = Blob.objects.only("data", "header_bytes").get(pk=message.blob_id)
    data = bytes(blob.data)
    raw = notices.build_dsn(
        hostname=settings.MAIL_HOSTNAME,
        mail_from=message.mail_from,
        original_headers=data[: blob.header_bytes],
        failures=failures,
        arrival=message.created,
        now=now,
        retry_until=retry_until,
        action=kind,
        envid=message.dsn_envid,
        full_message=data if message.dsn_ret == "FULL" else None,
    )
    try:
        with transaction.atomic():  # a savepoint: an undeliverable DSN must not undo the outcome
            deliver(raw, [message.mail_from], "")
    except Unavailable:
        raise
    except StoreError as exc:
        log.warning("%s for outbound message %s to %s not delivered: %s", kind, message.pk, message.mail_from, exc)
        return False
    return True


def report_delivered(
    raw: bytes,
    mail_from: str,
    recipients: list[tuple[str, str]],
    *,
    envid: str = "",
    ret: str = "",
    expanded: list[tuple[str, str]] | None = None,
) -> bool:
    """The success DSN (RFC 3461 4.1 NOTIFY=SUCCESS) for a message stored in
    our own mailboxes: recipients, (address, ORCPT) pairs, get RFC 3464
    Action: delivered; expanded, the addresses of aliases that pass the
    message on to several recipients, Action: expanded (RFC 3461 6.2.7.3),
    in a report of their own. Delivered to mail_from in a transaction of its
    own, after the message's; False if any could not be."""
    from .delivery import deliver

    if not mail_from:
        return False
    now = timezone.now()
    sent = True
    for action, group in ((notices.DELIVERED, recipients), (notices.EXPANDED, expanded or [])):
        if not group:
            continue
        report = notices.build_dsn(
            hostname=settings.MAIL_HOSTNAME,
            mail_from=mail_from,
            original_headers=raw.split(b"\r\n\r\n", 1)[0],
            failures=[notices.Failure(address, "2.0.0", "", "", orcpt) for address, orcpt in group],
            arrival=now,
            now=now,
            action=action,
            envid=envid,
            full_message=raw if ret == "FULL" else None,
        )
        try:
            deliver(report, [mail_from], "")
        except Unavailable:
            raise
        except StoreError as exc:
            log.warning("success DSN to %s not delivered: %s", mail_from, exc)
            sent = False
    return sent and bool(recipients or expanded)


@atomic
def outbound_recipients(
    *, message_id: int | None = None, address: str | None = None, limit: int = 1000
) -> list[OutboundRecipientInfo]:
    """Queue entries of one message, or to one address, oldest first."""
    rows = OutboundRecipient.objects.all()
    if message_id is not None:
        rows = rows.filter(message_id=message_id)
    if address is not None:
        rows = rows.filter(address=address.lower())
    return [
        OutboundRecipientInfo(
            r.pk, r.message_id, r.address, r.domain, r.state, r.attempts, r.next_attempt, r.last_error, r.delay_warned
        )
        for r in rows.order_by("pk")[:limit]
    ]


@atomic
def outbound_counts() -> dict[str, int]:
    """How many recipients are in each state (queued, deferred, sent, failed)."""
    from django.db.models import Count

    counts = dict.fromkeys(State.values, 0)
    for row in OutboundRecipient.objects.values("state").annotate(n=Count("id")):
        counts[row["state"]] = row["n"]
    return counts


# --- retention of finished entries -----------------------------------------


def purge_finished_outbound(*, days: int | None = None, batch: int = 500) -> int:
    """Delete queue entries whose every recipient is sent or failed and that
    are older than `days` (MAIL_OUTBOUND_RETENTION_DAYS; 0 keeps them
    forever), with their recipients, `batch` messages per transaction.
    Their bytes are then unreferenced and the blob collector frees them.
    Age: since queueing, and since the last attempt on any recipient (a
    claim moves next_attempt a lease ahead, so a message failed after
    five days of retries is kept `days` after that, not dropped at once).
    Returns how many messages went."""
    days = settings.MAIL_OUTBOUND_RETENTION_DAYS if days is None else days
    if days <= 0:
        return 0
    if batch < 1:
        raise InvalidInput("batch must be positive")
    cutoff = timezone.now() - timedelta(days=days)
    purged, after = 0, 0
    while ids := _old_message_ids(after, cutoff, batch):
        after = ids[-1]
        purged += _purge_outbound(ids, cutoff)
    return purged


def _unfinished(cutoff: datetime) -> Q:
    return Q(
        Exists(
            OutboundRecipient.objects.filter(message_id=OuterRef("pk")).filter(
                Q(state__in=PENDING) | Q(next_attempt__gte=cutoff)
            )
        )
    )


@atomic
def _old_message_ids(after: int, cutoff: datetime, batch: int) -> list[int]:
    return list(
        OutboundMessage.objects.filter(pk__gt=after, created__lt=cutoff)
        .exclude(_unfinished(cutoff))
        .order_by("pk")
        .values_list("pk", flat=True)[:batch]
    )


@atomic
def _purge_outbound(ids: list[int], cutoff: datetime) -> int:
    """Delete those of ids still finished and old. The recipients are locked
    first: an admin's "retry now" committed meanwhile keeps its entry, one
    that comes after waits and then finds it gone."""
    rows = OutboundRecipient.objects.select_for_update().filter(message_id__in=ids)
    keep = {
        mid
        for mid, state, at in rows.values_list("message_id", "state", "next_attempt")
        if state in PENDING or at >= cutoff
    }
    gone = [i for i in ids if i not in keep]
    OutboundRecipient.objects.filter(message_id__in=gone).delete()
    return OutboundMessage.objects.filter(pk__in=gone).delete()[0]
