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
   see placement.py) locked in id order, its next UID and modseq taken and
   the keywords its copy holds added to its set (Folder.keywords, the FLAGS
   a session lists): one UPDATE ... RETURNING, the same folder-first lock
   order as every other writer (DESIGN.md), so concurrent deliveries cannot
   deadlock;
3. the size charged to every account that still has room: one UPDATE ...
   RETURNING; an account that has none makes the whole delivery fail
   (OverQuota / TooBigForQuota) and nothing is kept;
4. the message rows, with each placement's initial flags: one multi-row INSERT.

The statements are plain SQL that PostgreSQL and SQLite (the embedded
default) both run; only the row lock (FOR UPDATE) is left out on SQLite,
which locks the whole database for a writer anyway.

IMAP APPEND is the same writes for one target folder with the client's
flags and internal date, so store.append comes through here too (file_copies):
one statement on PostgreSQL, the steps in a transaction on SQLite.

Routing (which accounts, which remote addresses) is decided before the
transaction: by `route()`, or by the checks SMTP already made at RCPT time
(store.check_recipient), which carry the accounts and whether any of them
has a Sieve script, so that the common case reads nothing more. Vacation
replies and forwarding are Sieve (sieve_delivery.py, sieve_after.py).
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import NamedTuple, TypeVar

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from mailhost import metrics

from ..models import Account, Blob, Folder, Message, OutboundMessage, OutboundRecipient
from ..signals import outbound_queued
from . import accounts, events, senders, sieve_after, sieve_delivery, srs
from ._db import atomic, no_transaction
from ._sql import FLAGS_SQL, MESSAGE_COLUMNS, MESSAGE_ROW, bound_cursor, keyword_list, placeholders, prepared, table
from .addresses import domain_of
from .blobs import BLOB_FIELDS, PreparedBlob, blob_columns, blob_params, insert_blob, prepare
from .errors import InvalidInput, RejectedByFilter
from .messages import MAX_FOLDER_KEYWORDS, _grown_keywords
from .placement import Placer, Target, targets
from .types import DeliveryReport, EnvelopeParameters, RecipientCheck

log = logging.getLogger("mailboxes.store")
R = TypeVar("R")


class Filed(NamedTuple):
    """One stored copy: its folder (with what APPEND reports and learning.filed
    needs), its owner and the UID it got."""

    folder_id: int
    owner: int
    uid: int
    uidvalidity: int
    special_use: str


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
        delivered = {copy.owner: copy.uid for copy in _store_local(stored, local)}
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


@no_transaction
def file_copies(blob: PreparedBlob, local: list[Target], internal_date: datetime | None = None) -> list[Filed]:
    """store.append's writes (messages.py): _store_local without a transaction
    of its own on PostgreSQL (one statement; inside a caller's, if any), in
    one on SQLite; a copy that would take its folder past MAX_FOLDER_KEYWORDS
    is refused (InvalidInput), as STORE refuses it."""
    copy = _store_local if connection.vendor == "postgresql" else _store_local_atomic
    return copy(blob, local, internal_date, refuse_keywords=True)


# --- the statements ---------------------------------------------------------

_TARGET_COLUMNS = f"owner_id, name, {FLAGS_SQL}, keywords"  # Target.row()


def _store_local(
    blob: PreparedBlob, local: list[Target], internal_date: datetime | None = None, *, refuse_keywords: bool = False
) -> list[Filed]:
    """One copy in each account's target folder (internal date: now unless
    given), the keywords it holds added to the folder's set; nothing at all
    if one of them has no room (OverQuota / TooBigForQuota). Accounts
    without that folder (deleted since routing or placement, or never there:
    APPEND's NoSuchFolder) get nothing.

    A folder's set stops growing at MAX_FOLDER_KEYWORDS. refuse_keywords
    (APPEND): a copy that would pass it is refused with nothing written
    (InvalidInput); without it (delivery) the copy is stored all the same
    and the folder's set is left as it is: mail is not refused for what a
    filter labelled it with, and a session learns such a keyword when it
    fetches the message (RFC 3501 7.2.6: FLAGS sent again)."""
    size, when = len(blob.raw), connection.ops.adapt_datetimefield_value(internal_date or timezone.now())
    if connection.vendor == "postgresql":
        with prepared(), bound_cursor() as cursor:
            copies = _store_local_statement(cursor, blob, local, size, when, refuse_keywords)
    else:
        with connection.cursor() as cursor:
            copies = _store_local_steps(cursor, blob, local, size, when, refuse_keywords)
    for copy in copies:
        events.publish_on_commit(copy.owner, copy.folder_id)
    return copies


_store_local_atomic = atomic(_store_local)


def _store_local_statement(  # type: ignore[no-untyped-def]
    cursor,
    blob: PreparedBlob,
    local: list[Target],
    size: int,
    when: object,
    refuse_keywords: bool,
) -> list[Filed]:
    """PostgreSQL: the whole delivery as one statement (one round trip, atomic
    without BEGIN/COMMIT). The target folders are locked first, in id order,
    with their keyword sets grown by the copy's keywords (existing ones first,
    then the new ones in the order given; `fits`: within MAX_FOLDER_KEYWORDS,
    else left as they are), then their accounts; `room` says whether every
    account has room. The writes are conditional on it (and on every set
    fitting, with refuse_keywords), so a refusal leaves no copy behind (only
    the bytes, which store.collect_blobs frees). A folder's counters and
    keywords change in its one UPDATE."""
    folder, account, message = table(Folder), table(Account), table(Message)
    target_row = "(%s::bigint, %s::varchar, %s::boolean, %s::boolean, %s::boolean, %s::boolean, %s::boolean, %s::jsonb)"
    all_fit = " AND (SELECT ok FROM fits)" if refuse_keywords else ""
    cursor.execute(
        f"WITH target ({_TARGET_COLUMNS}) AS (VALUES {', '.join([target_row] * len(local))}), "
        f"box AS (SELECT f.id, f.owner_id, f.keywords AS had, f.keywords || COALESCE("
        f"  (SELECT jsonb_agg(k.word ORDER BY k.n) FROM jsonb_array_elements_text(t.keywords) WITH ORDINALITY k (word, n)"
        f"   WHERE NOT f.keywords ? k.word), '[]') AS grown "
        f"  FROM {folder} f JOIN target t ON f.owner_id = t.owner_id AND f.name = t.name "
        f"  ORDER BY f.id FOR UPDATE OF f), "
        f"fitting AS (SELECT id, jsonb_array_length(grown) = jsonb_array_length(had) "
        f"  OR jsonb_array_length(grown) <= %s AS fits, had, grown FROM box), "
        f"owner AS (SELECT id, quota, used_bytes FROM {account} WHERE id IN (SELECT owner_id FROM box) "
        f"  ORDER BY id FOR UPDATE), "
        f"room AS (SELECT COALESCE(bool_and(quota = 0 OR used_bytes + %s <= quota), TRUE) AS ok FROM owner), "
        f"fits AS (SELECT COALESCE(bool_and(fits), TRUE) AS ok FROM fitting), "
        f"new_blob AS (INSERT INTO {table(Blob)} ({blob_columns()}) "
        f"  VALUES ({placeholders(len(BLOB_FIELDS))}) ON CONFLICT (sha256) DO NOTHING), "
        f"inbox AS (UPDATE {folder} f SET uidnext = f.uidnext + 1, highestmodseq = f.highestmodseq + 1, "
        f"  keywords = CASE WHEN fitting.fits THEN fitting.grown ELSE fitting.had END "
        f"  FROM fitting WHERE f.id = fitting.id AND (SELECT ok FROM room){all_fit} "
        f"  RETURNING f.id, f.owner_id, f.uidnext - 1 AS uid, f.highestmodseq AS modseq, f.uidvalidity, f.special_use), "
        f"charged AS (UPDATE {account} SET used_bytes = used_bytes + %s WHERE id IN (SELECT owner_id FROM inbox)), "
        f"stored AS (INSERT INTO {message} ({MESSAGE_COLUMNS}) SELECT inbox.id, uid, modseq, "
        f"  {FLAGS_SQL}, keywords, %s::timestamptz, %s::bigint, %s::varchar "
        f"  FROM inbox JOIN target ON target.owner_id = inbox.owner_id) "
        f"SELECT room.ok, fits.ok, inbox.id, inbox.owner_id, inbox.uid, inbox.uidvalidity, inbox.special_use "
        f"FROM room CROSS JOIN fits LEFT JOIN inbox ON TRUE",
        [
            *(v for t in local for v in t.row()),
            MAX_FOLDER_KEYWORDS,
            size,
            *blob_params(blob),
            size,
            when,
            size,
            blob.sha256,
        ],
    )
    rows = cursor.fetchall()
    if not rows[0][0]:
        accounts.refuse_charge([t.owner for t in local], size)
    if refuse_keywords and not rows[0][1]:
        raise InvalidInput("too many keywords in this folder")
    return [Filed(*row[2:]) for row in rows if row[2] is not None]


def _store_local_steps(  # type: ignore[no-untyped-def]
    cursor,
    blob: PreparedBlob,
    local: list[Target],
    size: int,
    when: object,
    refuse_keywords: bool,
) -> list[Filed]:
    """SQLite (no data-modifying WITH): the same writes as four statements in
    the caller's transaction, and one more per folder whose keyword set
    grows; SQLite has one writer at a time, so no row locks. A refusal
    raises, and the caller's transaction undoes what was written."""
    folder, account, message = table(Folder), table(Account), table(Message)
    insert_blob(blob)
    cursor.execute(
        f"UPDATE {folder} SET uidnext = uidnext + 1, highestmodseq = highestmodseq + 1 "
        f"WHERE (owner_id, name) IN (VALUES {', '.join(['(%s, %s)'] * len(local))}) "
        f"RETURNING id, owner_id, uidnext - 1, highestmodseq, uidvalidity, special_use, keywords",
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
    for folder_id, owner, *_counters, have in inboxes:
        try:
            grown = _grown_keywords(keyword_list(have), json.loads(by_owner[owner].keywords))
        except InvalidInput:
            if refuse_keywords:
                raise
            continue  # delivery: stored all the same, the set left as it is (_store_local)
        if grown is not None:
            cursor.execute(f"UPDATE {folder} SET keywords = %s WHERE id = %s", [json.dumps(grown), folder_id])
    cursor.execute(
        f"INSERT INTO {message} ({MESSAGE_COLUMNS}) VALUES " + ", ".join([MESSAGE_ROW] * len(inboxes)),
        [
            v
            for folder_id, owner, uid, modseq, *_rest in inboxes
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
    return [Filed(folder_id, owner, uid, uidvalidity, use) for folder_id, owner, uid, _, uidvalidity, use, _ in inboxes]


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
