"""The dashboard's overview, outbound queue and audit log. Permission rules:
see admin.py (a domain admin sees the queue of mail their domains' accounts
sent; the audit log is for superusers)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count, F, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Concat, TruncDate
from django.utils import timezone

from ..models import Account, Alias, AuditEntry, Bounce, Domain, Message, OutboundMessage, OutboundRecipient
from . import delivery
from ._db import atomic
from .admin import audit, paginate, require_superuser, scoped, search_terms
from .admin_accounts import account_row, account_rows
from .admin_types import Actor, AuditRow, DayCount, Overview, Page, QueueRow
from .errors import InvalidInput, NotFound

State = OutboundRecipient.State
QUEUE_STATES = (State.QUEUED, State.DEFERRED, State.FAILED, State.SENT)
SENDER_DOMAIN = "message__sender__domain_id"


# --- overview -------------------------------------------------------------


@atomic
def admin_overview(actor: Actor, *, days: int = 30, top: int = 10, near_quota_percent: int = 90) -> Overview:
    """Counts, storage, mail per day and the largest and fullest accounts, in
    a fixed number of queries.

    Mail per day is counted from the messages the mailboxes hold, by arrival
    date (internal date): received = every folder but Sent and Drafts, sent =
    the Sent folders. Mail deleted since is not counted."""
    accounts = scoped(actor, Account.objects.all())
    totals = accounts.aggregate(
        n=Count("pk"),
        active=Count("pk", filter=Q(is_active=True)),
        used=Sum("used_bytes"),
        quota=Sum("quota", filter=Q(quota__gt=0)),
    )
    queue = dict.fromkeys((State.QUEUED, State.DEFERRED, State.FAILED), 0)
    for row in (
        scoped(actor, OutboundRecipient.objects.exclude(state=State.SENT), SENDER_DOMAIN)
        .values("state")
        .annotate(n=Count("pk"))
    ):
        queue[row["state"]] = row["n"]
    full = accounts.filter(quota__gt=0, used_bytes__gte=F("quota") * near_quota_percent / 100)
    return Overview(
        domains=scoped(actor, Domain.objects.all(), "id").count(),
        accounts=totals["n"],
        active_accounts=totals["active"],
        aliases=scoped(actor, Alias.objects.all()).count(),
        used_bytes=totals["used"] or 0,
        quota_bytes=totals["quota"] or 0,
        queue={str(k): v for k, v in queue.items()},
        days=_mail_per_day(actor, days),
        top_accounts=[
            account_row(r)
            for r in account_rows(accounts.filter(used_bytes__gt=0)).order_by("-used_bytes", "address")[:top]
        ],
        near_quota=[account_row(r) for r in account_rows(full).order_by("-used_bytes", "address")[:top]],
        near_quota_percent=near_quota_percent,
    )


def _mail_per_day(actor: Actor, days: int) -> list[DayCount]:
    today = timezone.now().date()
    first = today - timedelta(days=days - 1)
    start = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=days - 1)
    sent = Q(folder__special_use="\\Sent")
    received = ~Q(folder__special_use__in=("\\Sent", "\\Drafts"))
    rows = (
        scoped(actor, Message.objects.filter(internal_date__gte=start), "folder__owner__domain_id")
        .annotate(day=TruncDate("internal_date"))
        .values("day")
        .annotate(received=Count("pk", filter=received), sent=Count("pk", filter=sent))
    )
    by_day = {r["day"]: (r["received"], r["sent"]) for r in rows}
    return [DayCount(d, *by_day.get(d, (0, 0))) for d in (first + timedelta(days=i) for i in range(days))]


# --- the outbound queue ---------------------------------------------------

_QUEUE_FIELDS = (
    "id",
    "message_id",
    "address",
    "state",
    "attempts",
    "next_attempt",
    "last_error",
    "message__mail_from",
    "message__sender__address",
    "message__created",
    "message__blob__size",
    "message__blob__subject",
)


def _queue_row(v: dict[str, Any]) -> QueueRow:
    return QueueRow(
        v["id"],
        v["message_id"],
        v["address"],
        v["state"],
        v["attempts"],
        v["next_attempt"],
        v["last_error"],
        v["message__mail_from"],
        v["message__sender__address"] or "",
        v["message__created"],
        v["message__blob__size"],
        v["message__blob__subject"],
        v.get("bounce") or "",
    )


def _last_bounce() -> Subquery:
    last = Bounce.objects.filter(recipient=OuterRef("pk")).order_by("-id")
    return Subquery(last.annotate(text=Concat("status", Value(" "), "diagnostic")).values("text")[:1])


def _queued_for(actor: Actor, recipient_id: int) -> OutboundRecipient:
    row = (
        scoped(actor, OutboundRecipient.objects.select_for_update(of=("self",)), SENDER_DOMAIN)
        .filter(pk=recipient_id)
        .first()
    )
    if row is None:
        raise NotFound(f"no queued recipient #{recipient_id}")
    return row


@atomic
def admin_list_queue(
    actor: Actor, *, state: str = "", query: str = "", page: int = 1, per_page: int = 50
) -> Page[QueueRow]:
    """Recipients on the outbound queue; by default those not yet sent."""
    qs = scoped(actor, OutboundRecipient.objects.all(), SENDER_DOMAIN)
    if state:
        if state not in QUEUE_STATES:
            raise InvalidInput(f"unknown queue state {state!r}")
        qs = qs.filter(state=state)
    else:
        qs = qs.exclude(state=State.SENT)
    if q := search_terms(query):
        qs = qs.filter(Q(address__icontains=q) | Q(message__mail_from__icontains=q))
    return paginate(
        qs.order_by("next_attempt", "id").annotate(bounce=_last_bounce()).values(*_QUEUE_FIELDS, "bounce"),
        page,
        per_page,
        _queue_row,
    )


@atomic
def admin_retry_outbound(actor: Actor, recipient_id: int) -> None:
    """Make a deferred or failed recipient due now and wake the relay."""
    row = _queued_for(actor, recipient_id)
    if row.state not in (State.DEFERRED, State.FAILED):
        raise InvalidInput(f"{row.address} is {row.state}: nothing to retry")
    OutboundRecipient.objects.filter(pk=row.pk).update(state=State.QUEUED, next_attempt=timezone.now())
    transaction.on_commit(lambda: delivery._kick_relay(row.message_id))
    audit(actor, "queue.retry", row.address, message=row.message_id, was=row.state)


@atomic
def admin_delete_outbound(actor: Actor, recipient_id: int) -> None:
    """Drop a recipient from the queue (and the message, once it has none left)."""
    row = _queued_for(actor, recipient_id)
    row.delete()
    if not OutboundRecipient.objects.filter(message_id=row.message_id).exists():
        OutboundMessage.objects.filter(pk=row.message_id).delete()
    audit(actor, "queue.delete", row.address, message=row.message_id, was=row.state)


# --- the audit log --------------------------------------------------------


@atomic
def admin_audit_log(actor: Actor, *, query: str = "", page: int = 1, per_page: int = 50) -> Page[AuditRow]:
    require_superuser(actor, "read the audit log")
    qs = AuditEntry.objects.order_by("-at", "-id")
    if q := search_terms(query):
        qs = qs.filter(Q(target__icontains=q) | Q(action__icontains=q) | Q(actor__address__icontains=q))
    rows = qs.values("id", "at", "actor__address", "action", "target", "detail")
    return paginate(
        rows,
        page,
        per_page,
        lambda v: AuditRow(v["id"], v["at"], v["actor__address"] or "", v["action"], v["target"], v["detail"]),
    )
