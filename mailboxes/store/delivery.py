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
has a Sieve script, so that the common case reads nothing more. Vacation
replies and forwarding are Sieve (sieve_delivery.py, sieve_after.py).
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
from . import accounts, events, senders, sieve_after, sieve_delivery, srs
from ._db import atomic, no_transaction
from ._sql import FLAGS_SQL, MESSAGE_COLUMNS, MESSAGE_ROW, bound_cursor, placeholders, table
from .addresses import domain_of
from .blobs import BLOB_FIELDS, PreparedBlob, blob_columns, blob_params, insert_blob, prepare
from .errors import RejectedByFilter
from .placement import Placer, Target, targets
from .types import DeliveryReport, EnvelopeParameters, RecipientCheck

log = logging.getLogger("mailboxes.store")
R = TypeVar("R")


def deliver(
    raw: bytes,
    recipients: list[str],
    mail_from: str = "",
    *,
    local_headers: bytes = b"",
    sender_account_id: int | None = None,
    checks: Sequence[RecipientCheck | None] = (),
    place: Placer | None = None,
    refuse_rejected: bool = False,
    parameters: EnvelopeParameters | None = None,
) -> DeliveryReport:
    """Deliver one message to every recipient: local accounts (after alias and
    catch-all expansion) get one copy each, in INBOX or where place(account
    id) says (placement.py), or where their Sieve scripts say (sieve_delivery.py);
    remote addresses, external forwards and Sieve redirects go on the
    outbound queue. All in one transaction: when this returns, every copy is
    committed; if it raises, nothing is (OverQuota, TooBigForQuota, Unavailable).

    local_headers go before the local copies only (return_path(mail_from),
    which final delivery adds (RFC 5321 4.4), and SMTP's
    Authentication-Results and spam fields; the queued copy is raw alone). checks: check_recipient()'s answers for the
    recipients, by position (None where there is none); they are not looked
    up again. refuse_rejected: raise RejectedByFilter when every local
    recipient's script rejected the message and nobody else gets it (SMTP
    refuses it at DATA); otherwise the sender gets a rejection notice."""
    account_ids, remote = route(recipients, checks)
    filtered = sieve_delivery.run_filters(local_headers + raw, account_ids, recipients, mail_from, checks)
    rejected = filtered.rejections()
    if refuse_rejected and rejected and not remote and set(rejected) == set(account_ids):
        raise RejectedByFilter(next(iter(rejected.values())))  # RFC 5429 2.1: refused at DATA
    account_ids, remote = filtered.kept(account_ids), remote + filtered.redirects()
    local = targets(account_ids, filtered.placer(place))
    stored: PreparedBlob | None
    relay: PreparedBlob | None
    if not local_headers:
        stored = relay = prepare(raw)
    else:  # two messages: parse each only if someone gets it
        stored = prepare(local_headers + raw) if local else None
        relay = prepare(raw) if remote else None
    if not remote:  # the common case: one statement on PostgreSQL, no transaction round trips
        delivered = with_retry(deliver_local, stored, local) if stored is not None else {}
    else:
        delivered = with_retry(_store, stored, local, relay, remote, mail_from, sender_account_id, parameters)
    blob = stored or relay
    report = DeliveryReport(blob.sha256 if blob else "", delivered, tuple(remote))
    sieve_after.carry_out(
        filtered, local_headers + raw, mail_from, junk=frozenset(t.owner for t in local if t.junk), relayed=raw
    )
    return report


def return_path(mail_from: str) -> bytes:
    """Return-Path: <reverse-path> (RFC 5321 4.4; '<>' for the null sender)."""
    path = "" if mail_from in ("", "<>") else mail_from
    return f"Return-Path: <{path}>\r\n".encode("utf-8", "surrogateescape")


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
def route(recipients: list[str], checks: Sequence[RecipientCheck | None] = ()) -> tuple[list[int], list[str]]:
    """Where a message goes: (local account ids, after alias and catch-all
    expansion, each once; remote addresses, recipients and aliases'
    external forwards).

    checks, when given, are RCPT-time answers for recipients (by position):
    those are not looked up again. Reads only, with the lookups' undecorated
    bodies: outside a transaction each statement runs on its own, inside one
    no savepoint is taken."""
    account_ids: dict[int, None] = {}
    remote: dict[str, None] = {}
    for index, address in enumerate(recipients):
        check = checks[index] if index < len(checks) else None
        if check is None:
            check = accounts.resolve_recipient(address)
        if check.kind == "remote":
            remote[check.address] = None
        elif check.kind == "local":
            account_ids.update(dict.fromkeys(check.account_ids))
            remote.update(dict.fromkeys(check.forwards))
        else:
            log.warning("deliver: dropping %s recipient %s (checked before, gone now)", check.kind, address)
    return sorted(account_ids), list(remote)


def store_copies(
    stored: PreparedBlob | None,
    local: list[Target],
    relay: PreparedBlob | None,
    remote: list[str],
    mail_from: str,
    sender_account_id: int | None,
    parameters: EnvelopeParameters | None = None,
) -> dict[int, int]:
    """For callers already inside a transaction (_store opens one): `stored` into
    the local targets, `relay` queued for the remote addresses (the same
    bytes, or the same without the local headers): {account id: uid}."""
    delivered: dict[int, int] = {}
    if local:
        assert stored is not None
        delivered = _store_local(stored, local)
    if remote:
        assert relay is not None
        if relay is not stored or not local:  # bytes _store_local did not store
            insert_blob(relay)
        _enqueue(
            relay.sha256,
            mail_from,
            remote,
            sender_account_id,
            senders.signing_domain(sender_account_id, relay.raw),
            parameters or EnvelopeParameters(),
        )
    transaction.on_commit(functools.partial(metrics.delivered, len(delivered), len(remote)))
    return delivered


_store = atomic(store_copies)  # the same, in a transaction of its own


@no_transaction
def deliver_local(blob: PreparedBlob, local: list[Target]) -> dict[int, int]:
    """The common case, local recipients only, without a transaction of its
    own when the copies are one statement (PostgreSQL): {account id: uid}."""
    copy = _store if connection.vendor != "postgresql" else store_copies
    return copy(blob, local, None, [], "", None)


# --- the statements ---------------------------------------------------------

_TARGET_COLUMNS = f"owner_id, name, {FLAGS_SQL}, keywords"  # Target.row()


def _store_local(blob: PreparedBlob, local: list[Target]) -> dict[int, int]:
    """One copy in each account's target folder: {account id: uid}; nothing at
    all if one of them has no room (OverQuota / TooBigForQuota). Accounts
    without that folder (deleted since routing or placement) get nothing."""
    size, when = len(blob.raw), connection.ops.adapt_datetimefield_value(timezone.now())
    if connection.vendor == "postgresql":
        with bound_cursor() as cursor:
            inboxes = _store_local_statement(cursor, blob, local, size, when)
    else:
        with connection.cursor() as cursor:
            inboxes = _store_local_steps(cursor, blob, local, size, when)
    for folder_id, owner, _uid in inboxes:
        events.publish_on_commit(owner, folder_id)
    return {owner: uid for _folder_id, owner, uid in inboxes}


def _store_local_statement(  # type: ignore[no-untyped-def]
    cursor,
    blob: PreparedBlob,
    local: list[Target],
    size: int,
    when: object,
) -> list[tuple[int, int, int]]:
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
        f"new_blob AS (INSERT INTO {table(Blob)} ({blob_columns()}) "
        f"  VALUES ({placeholders(len(BLOB_FIELDS))}) ON CONFLICT (sha256) DO NOTHING), "
        f"inbox AS (UPDATE {folder} SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1 "
        f"  WHERE id IN (SELECT id FROM box) AND (SELECT ok FROM room) "
        f"  RETURNING id, owner_id, uidnext - 1 AS uid, highestmodseq AS modseq), "
        f"charged AS (UPDATE {account} SET used_bytes = used_bytes + %s WHERE id IN (SELECT owner_id FROM inbox)), "
        f"stored AS (INSERT INTO {message} ({MESSAGE_COLUMNS}) SELECT inbox.id, uid, modseq, "
        f"  {FLAGS_SQL}, keywords, %s::timestamptz, %s::bigint, %s::varchar "
        f"  FROM inbox JOIN target ON target.owner_id = inbox.owner_id) "
        f"SELECT room.ok, inbox.id, inbox.owner_id, inbox.uid FROM room LEFT JOIN inbox ON TRUE",
        [*(v for t in local for v in t.row()), size, *blob_params(blob), size, when, size, blob.sha256],
    )
    rows = cursor.fetchall()
    if not rows[0][0]:
        accounts.refuse_charge([t.owner for t in local], size)
    return [(folder_id, owner, uid) for _ok, folder_id, owner, uid in rows if folder_id is not None]


def _store_local_steps(  # type: ignore[no-untyped-def]
    cursor,
    blob: PreparedBlob,
    local: list[Target],
    size: int,
    when: object,
) -> list[tuple[int, int, int]]:
    """SQLite (no data-modifying WITH): the same writes as four statements in
    the caller's transaction; SQLite has one writer at a time, so no row locks."""
    folder, account, message = table(Folder), table(Account), table(Message)
    insert_blob(blob)
    cursor.execute(
        f"UPDATE {folder} SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1 "
        f"WHERE (owner_id, name) IN (VALUES {', '.join(['(%s, %s)'] * len(local))}) "
        f"RETURNING id, owner_id, uidnext - 1, highestmodseq",
        [v for t in local for v in (t.owner, t.folder)],
    )
    inboxes = cursor.fetchall()
    if not inboxes:
        return []
    owners = [row[1] for row in inboxes]
    cursor.execute(
        f"UPDATE {account} SET used_bytes = used_bytes + %s "
        f"WHERE id IN ({placeholders(len(owners))}) AND (quota = 0 OR used_bytes + %s <= quota) "
        f"RETURNING id",
        [size, *owners, size],
    )
    if len(cursor.fetchall()) < len(owners):
        accounts.refuse_charge(owners, size)
    by_owner = {t.owner: t for t in local}
    cursor.execute(
        f"INSERT INTO {message} ({MESSAGE_COLUMNS}) VALUES " + ", ".join([MESSAGE_ROW] * len(inboxes)),
        [
            v
            for folder_id, owner, uid, modseq in inboxes
            for v in (
                folder_id,
                uid,
                modseq,
                *by_owner[owner].system,
                by_owner[owner].keywords,
                when,
                size,
                blob.sha256,
            )
        ],
    )
    return [(folder_id, owner, uid) for folder_id, owner, uid, _modseq in inboxes]


# --- the outbound queue -----------------------------------------------------


def _enqueue(
    sha: str,
    mail_from: str,
    recipients: list[str],
    sender_account_id: int | None,
    dkim_domain: str,
    parameters: EnvelopeParameters,
) -> None:
    mail_from = srs.forward_sender(mail_from, sender_account_id)  # forwards survive SPF at the next hop
    message = OutboundMessage.objects.create(
        blob_id=sha,
        mail_from=mail_from,
        sender_id=sender_account_id,
        dkim_domain=dkim_domain,
        dsn_ret=parameters.ret,
        dsn_envid=parameters.envid,
        require_tls=parameters.require_tls,
        binarymime=parameters.binarymime,
    )
    OutboundRecipient.objects.bulk_create(
        OutboundRecipient(
            message=message,
            address=r,
            domain=domain_of(r),
            dsn_notify=parameters.notify.get(r, ""),
            dsn_orcpt=parameters.orcpt.get(r, ""),
        )
        for r in recipients
    )
    transaction.on_commit(lambda: _kick_relay(message.pk))


def _kick_relay(message_id: int) -> None:
    """Tell whoever relays (protocols.relay, via the signal) there is work; the
    relay also sweeps the queue on a schedule, so a lost kick delays, never loses."""
    try:
        outbound_queued.send(sender=OutboundMessage, message_id=message_id)
    except Exception as exc:
        log.warning("could not schedule relay of outbound message %s: %s", message_id, exc)
