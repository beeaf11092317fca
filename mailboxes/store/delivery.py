"""Delivery: one message into its recipients' folders and onto the outbound queue.

Every message that arrives by SMTP comes through here, so the copies are
stored with four hand-written writes instead of a dozen ORM queries
(docs/PERFORMANCE.md has the profile that showed it): on PostgreSQL the
copies are one statement (data-modifying WITH), which needs no transaction
of its own when every recipient is local (deliver_local); otherwise, and on
SQLite, these writes run in one transaction:

1. the bytes and their parsed facts: INSERT ... ON CONFLICT DO NOTHING
   (content-addressed: bytes stored already make it a no-op);
2. every recipient's target folder (INBOX unless a placement says otherwise,
   see placement.py) locked in id order and its next UID and modseq taken:
   one UPDATE ... RETURNING, the same folder-first lock order as every other
   writer (DESIGN.md), so concurrent deliveries cannot deadlock;
3. the size charged to every account that still has room: one UPDATE ...
   RETURNING; an account that has none makes the whole delivery fail
   (OverQuota / TooBigForQuota) and nothing is kept;
4. the message rows, with each placement's initial flags: one multi-row INSERT.

The statements are plain SQL that PostgreSQL and SQLite (the embedded
default) both run; only the row lock (FOR UPDATE) is left out on SQLite,
which locks the whole database for a writer anyway.

Routing (which accounts, which remote addresses) is decided before the
transaction: by `route()`, or by the checks SMTP already made at RCPT time
(store.check_recipient), which carry the accounts and whether any of them
forwards or is on vacation, so that the common case reads nothing more.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from mailhost import metrics

from ..models import Account, Blob, Folder, Message, OutboundMessage, OutboundRecipient
from ..signals import outbound_queued
from . import accounts, autoreply, events, senders, sieve_after, sieve_delivery
from ._db import atomic, no_transaction
from ._sql import placeholders, table
from .addresses import domain_of
from .errors import OverQuota, TooBigForQuota
from .messages import PreparedBlob, blob_row, prepare
from .placement import Placer, Target, targets
from .types import FLAG_COLUMNS, DeliveryReport, EnvelopeParameters, RecipientCheck

log = logging.getLogger("mailboxes.store")
R = TypeVar("R")


def deliver(raw: bytes, recipients: list[str], mail_from: str = "", *,
            sender_account_id: int | None = None, place: Placer | None = None) -> DeliveryReport:
    """Deliver one message to every recipient: local accounts (after alias and
    catch-all expansion) get one copy each, in INBOX or where place(account
    id) says (placement.py), or where their Sieve scripts say (sieve_delivery.py);
    remote addresses, external forwards and Sieve redirects go on the
    outbound queue. All in one transaction: when this returns, every copy is
    committed; if it raises, nothing is."""
    account_ids, remote, settings_read = route(recipients)
    filtered = sieve_delivery.run_filters(raw, account_ids, recipients, mail_from)
    account_ids, remote = filtered.kept(account_ids), remote + filtered.redirects()
    local = targets(account_ids, filtered.placer(place))
    blob = prepare(raw)
    if not remote:
        report = DeliveryReport(blob.sha256, with_retry(deliver_local, blob, local, not settings_read, mail_from), ())
    else:
        report = with_retry(_deliver, blob, local, remote, mail_from, sender_account_id, not settings_read)
    sieve_after.carry_out(filtered, raw, mail_from)
    return report


def with_retry(func: Callable[..., R], *args: object) -> R:
    """Run a delivery transaction, once more if it lost a race with the blob
    collector: bytes seen as stored by ON CONFLICT DO NOTHING and deleted by
    store.collect_blobs before this commit make the deferred foreign key
    fail at COMMIT; the second attempt stores them again."""
    try:
        return func(*args)
    except IntegrityError:
        log.warning("delivery: lost a race with the blob collector; trying once more")
        return func(*args)


@no_transaction
def route(recipients: list[str], checks: Sequence[RecipientCheck | None] = ()) -> tuple[list[int], list[str], bool]:
    """Where a message goes: (local account ids, after alias and catch-all
    expansion and forwarding, each once; remote addresses, recipients and
    external forwards; whether the accounts' settings were read here and
    none of them is on vacation).

    checks, when given, are RCPT-time answers for recipients (by position):
    those are not looked up again. Reads only, with the lookups' undecorated
    bodies: outside a transaction each statement runs on its own, inside one
    no savepoint is taken."""
    account_ids: dict[int, None] = {}
    remote: dict[str, None] = {}
    settled = True
    for index, address in enumerate(recipients):
        check = checks[index] if index < len(checks) else None
        if check is None:
            check = accounts.resolve_recipient(address)
        if check.kind == "remote":
            remote[check.address] = None
        elif check.kind == "local":
            account_ids.update(dict.fromkeys(check.account_ids))
            remote.update(dict.fromkeys(check.forwards))
            settled = settled and check.plain
        else:
            log.warning("deliver: dropping %s recipient %s (checked before, gone now)", check.kind, address)
    if settled:
        return sorted(account_ids), list(remote), True
    kept, forwards = autoreply.apply_forwarding(sorted(account_ids))
    remote.update(dict.fromkeys(forwards))
    return kept, list(remote), False


@atomic
def _deliver(blob: PreparedBlob, local: list[Target], remote: list[str], mail_from: str,
             sender_account_id: int | None, vacations: bool = True) -> DeliveryReport:
    return store_copies(blob, local, remote, mail_from, sender_account_id, vacations)


def store_copies(blob: PreparedBlob, local: list[Target], remote: list[str], mail_from: str,
                 sender_account_id: int | None, vacations: bool = True,
                 parameters: EnvelopeParameters | None = None) -> DeliveryReport:
    """_deliver's body, for callers already inside a transaction. vacations:
    whether any recipient may be on vacation (False when routing read their
    settings and none was)."""
    delivered: dict[int, int] = {}
    if local:
        delivered = _store_local(blob, local)
        junk = {t.owner for t in local if t.junk}
        answering = [owner for owner in delivered if owner not in junk]
        if vacations and answering:
            autoreply.schedule_vacation_replies(blob.parsed, blob.raw, answering, mail_from)
    if remote:
        if not local:
            _insert_blob(blob)
        _enqueue(blob.sha256, mail_from, remote, sender_account_id,
                 senders.signing_domain(sender_account_id, blob.raw), parameters or EnvelopeParameters())
    transaction.on_commit(functools.partial(metrics.delivered, len(delivered), len(remote)))
    return DeliveryReport(blob.sha256, delivered, tuple(remote))


@no_transaction
def deliver_local(blob: PreparedBlob, local: list[Target], vacations: bool, mail_from: str) -> dict[int, int]:
    """The common case, local recipients only, without a transaction of its
    own when the copies are one statement (PostgreSQL): {account id: uid}."""
    copy = _deliver if connection.vendor != "postgresql" else store_copies
    return copy(blob, local, [], mail_from, None, vacations).delivered


# --- the statements ---------------------------------------------------------

_BLOB_FIELDS = Blob._meta.concrete_fields
_FLAGS = ", ".join(FLAG_COLUMNS.values())
_MESSAGE_COLUMNS = f"folder_id, uid, modseq, {_FLAGS}, keywords, internal_date, size, blob_id"
_TARGET_COLUMNS = f"owner_id, name, {_FLAGS}, keywords"  # Target.row()


def _blob_params(blob: PreparedBlob) -> list[object]:
    row = blob_row(blob)
    return [f.get_db_prep_save(getattr(row, f.attname), connection) for f in _BLOB_FIELDS]


def _blob_columns() -> str:
    return ", ".join(connection.ops.quote_name(f.column) for f in _BLOB_FIELDS)


def _insert_blob(blob: PreparedBlob) -> None:
    """The bytes and their facts, unless stored already (or by a racing delivery)."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {table(Blob)} ({_blob_columns()}) VALUES ({placeholders(len(_BLOB_FIELDS))}) "
                       f"ON CONFLICT (sha256) DO NOTHING", _blob_params(blob))


def _store_local(blob: PreparedBlob, local: list[Target]) -> dict[int, int]:
    """One copy in each account's target folder: {account id: uid}; nothing at
    all if one of them has no room (OverQuota / TooBigForQuota). Accounts
    without that folder (deleted since routing or placement) get nothing."""
    size, when = len(blob.raw), connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            inboxes = _store_local_statement(cursor, blob, local, size, when)
        else:
            inboxes = _store_local_steps(cursor, blob, local, size, when)
    for folder_id, owner, _uid in inboxes:
        events.publish_on_commit(owner, folder_id)
    return {owner: uid for _folder_id, owner, uid in inboxes}


def _store_local_statement(cursor, blob: PreparedBlob, local: list[Target], size: int,  # type: ignore[no-untyped-def]
                           when: object) -> list[tuple[int, int, int]]:
    """PostgreSQL: the whole delivery as one statement (one round trip, atomic
    without BEGIN/COMMIT). The target folders are locked first, in id order,
    then their accounts; `room` says whether every account has room, and the
    copies are conditional on it, so a full mailbox leaves no copy behind
    (only the bytes, which store.collect_blobs frees)."""
    folder, account, message = table(Folder), table(Account), table(Message)
    target_row = "(%s::bigint, %s::varchar, %s::boolean, %s::boolean, %s::boolean, %s::boolean, %s::boolean, %s::jsonb)"
    cursor.execute(
        f"WITH target ({_TARGET_COLUMNS}) AS (VALUES {', '.join([target_row] * len(local))}), "
        f"box AS (SELECT id, owner_id FROM {folder} WHERE (owner_id, name) IN (SELECT owner_id, name FROM target) "
        f"  ORDER BY id FOR UPDATE), "
        f"owner AS (SELECT id, quota, used_bytes FROM {account} WHERE id IN (SELECT owner_id FROM box) "
        f"  ORDER BY id FOR UPDATE), "
        f"room AS (SELECT COALESCE(bool_and(quota = 0 OR used_bytes + %s <= quota), TRUE) AS ok FROM owner), "
        f"new_blob AS (INSERT INTO {table(Blob)} ({_blob_columns()}) "
        f"  VALUES ({placeholders(len(_BLOB_FIELDS))}) ON CONFLICT (sha256) DO NOTHING), "
        f"inbox AS (UPDATE {folder} SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1 "
        f"  WHERE id IN (SELECT id FROM box) AND (SELECT ok FROM room) "
        f"  RETURNING id, owner_id, uidnext - 1 AS uid, highestmodseq AS modseq), "
        f"charged AS (UPDATE {account} SET used_bytes = used_bytes + %s WHERE id IN (SELECT owner_id FROM inbox)), "
        f"stored AS (INSERT INTO {message} ({_MESSAGE_COLUMNS}) SELECT inbox.id, uid, modseq, "
        f"  {_FLAGS}, keywords, %s::timestamptz, %s::bigint, %s::varchar "
        f"  FROM inbox JOIN target ON target.owner_id = inbox.owner_id) "
        f"SELECT room.ok, inbox.id, inbox.owner_id, inbox.uid FROM room LEFT JOIN inbox ON TRUE",
        [*(v for t in local for v in t.row()), size, *_blob_params(blob), size, when, size, blob.sha256])
    rows = cursor.fetchall()
    if not rows[0][0]:
        _refuse(cursor, size, [t.owner for t in local])
    return [(folder_id, owner, uid) for _ok, folder_id, owner, uid in rows if folder_id is not None]


def _store_local_steps(cursor, blob: PreparedBlob, local: list[Target], size: int,  # type: ignore[no-untyped-def]
                       when: object) -> list[tuple[int, int, int]]:
    """SQLite (no data-modifying WITH): the same writes as four statements in
    the caller's transaction; SQLite has one writer at a time, so no row locks."""
    folder, account, message = table(Folder), table(Account), table(Message)
    _insert_blob(blob)
    cursor.execute(
        f"UPDATE {folder} SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1 "
        f"WHERE (owner_id, name) IN (VALUES {', '.join(['(%s, %s)'] * len(local))}) "
        f"RETURNING id, owner_id, uidnext - 1, highestmodseq", [v for t in local for v in (t.owner, t.folder)])
    inboxes = cursor.fetchall()
    if not inboxes:
        return []
    owners = [row[1] for row in inboxes]
    cursor.execute(
        f"UPDATE {account} SET used_bytes = used_bytes + %s "
        f"WHERE id IN ({placeholders(len(owners))}) AND (quota = 0 OR used_bytes + %s <= quota) "
        f"RETURNING id", [size, *owners, size])
    if len(cursor.fetchall()) < len(owners):
        _refuse(cursor, size, owners)
    by_owner = {t.owner: t for t in local}
    cursor.execute(f"INSERT INTO {message} ({_MESSAGE_COLUMNS}) VALUES "
                   + ", ".join([f"({placeholders(12)})"] * len(inboxes)),
                   [v for folder_id, owner, uid, modseq in inboxes
                    for v in (folder_id, uid, modseq, *by_owner[owner].system, by_owner[owner].keywords, when, size,
                              blob.sha256)])
    return [(folder_id, owner, uid) for folder_id, owner, uid, _modseq in inboxes]


def _refuse(cursor, size: int, account_ids: list[int]) -> None:  # type: ignore[no-untyped-def]
    """Raise for an account that had no room (in a transaction, it is undone)."""
    cursor.execute(f"SELECT quota, used_bytes FROM {table(Account)} WHERE id IN ({placeholders(len(account_ids))})",
                   account_ids)
    if accounts.quota_verdict(cursor.fetchall(), size) == "never":
        raise TooBigForQuota("the message is larger than the mailbox quota")
    raise OverQuota("the mailbox is full")


# --- the outbound queue -----------------------------------------------------

def _enqueue(sha: str, mail_from: str, recipients: list[str], sender_account_id: int | None,
             dkim_domain: str, parameters: EnvelopeParameters) -> None:
    message = OutboundMessage.objects.create(blob_id=sha, mail_from=mail_from, sender_id=sender_account_id,
                                             dkim_domain=dkim_domain, dsn_ret=parameters.ret,
                                             dsn_envid=parameters.envid, require_tls=parameters.require_tls,
                                             binarymime=parameters.binarymime)
    OutboundRecipient.objects.bulk_create(
        OutboundRecipient(message=message, address=r, domain=domain_of(r), dsn_notify=parameters.notify.get(r, ""),
                          dsn_orcpt=parameters.orcpt.get(r, "")) for r in recipients)
    transaction.on_commit(lambda: _kick_relay(message.pk))


def _kick_relay(message_id: int) -> None:
    """Tell whoever relays (protocols.relay, via the signal) there is work; the
    relay also sweeps the queue on a schedule, so a lost kick delays, never loses."""
    try:
        outbound_queued.send(sender=OutboundMessage, message_id=message_id)
    except Exception as exc:
        log.warning("could not schedule relay of outbound message %s: %s", message_id, exc)
