"""Moving mail in and out (mailboxes.transfer): batch appends, what a folder
already holds (so an import run again copies only what is missing), and the
durable state of import jobs that a Celery worker runs.

append_many is the import's write path: bytes are hashed and parsed before
the transaction (no lock is held for CPU work, as in messages.append), then
one transaction per batch inserts the new blobs (COPY), charges the quota
once and allocates the batch's UIDs under one lock of the folder. A batch is
all or nothing: an interrupted import never leaves half a batch behind.
stage_blobs lets an import store (parse, index) the bytes of the next
batches on other connections meanwhile; append_many then finds them stored.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..models import Blob, Message, TransferJob
from ._db import atomic
from .admin import account_for, audit
from .admin_types import Actor
from .blobs import BLOB_FIELDS, PreparedBlob, blob_columns, blob_row, prepare
from .errors import InvalidInput, LimitExceeded, NotFound
from .folders import get_folder
from .messages import _insert, _split_flags, charge_quota
from .types import AppendResult

# A queued job no worker took within this long forgets its password and fails.
UNCLAIMED_FOR = timedelta(days=1)
ACTIVE = (TransferJob.State.QUEUED, TransferJob.State.RUNNING)
# (raw bytes, flags, internal date or None for now)
AppendItem = tuple[bytes, Iterable[str], "datetime | None"]


@dataclass(frozen=True)
class StoredKey:
    """What identifies a stored message for an import: its Message-ID field
    (as stored, unnormalised), its size and the SHA-256 of its bytes."""

    message_id: str
    size: int
    sha256: str


def append_many(account_id: int, folder_name: str, items: Sequence[AppendItem]) -> list[AppendResult]:
    """Append messages to one folder in one transaction, in order; all or none.

    Raises OverQuota (TooBigForQuota) when the batch does not fit, InvalidInput
    for a bad flag, NoSuchFolder; nothing is written then. Bytes stored
    already (by stage_blobs, or another copy) are not parsed again."""
    if not items:
        return []
    flags = [tuple(f) for _, f, _ in items]
    for item_flags in flags:
        _split_flags(item_flags)  # validate before any work under a lock
    raws = [raw for raw, _, _ in items]
    shas = [hashlib.sha256(raw).hexdigest() for raw in raws]
    known = _known(shas)
    parsed = {sha: prepare(raw) for sha, raw in zip(shas, raws) if sha not in known}
    return _append_many(account_id, folder_name, shas, raws, parsed, flags, [when for _, _, when in items])


@atomic
def _known(shas: list[str]) -> set[str]:
    return set(Blob.objects.filter(pk__in=list(set(shas))).values_list("pk", flat=True))


@atomic
def _append_many(
    account_id: int,
    folder_name: str,
    shas: list[str],
    raws: list[bytes],
    parsed: dict[str, PreparedBlob],
    flags: list[tuple[str, ...]],
    dates: list[datetime | None],
) -> list[AppendResult]:
    _store_blobs(dict(zip(shas, raws)), parsed)  # before the folder lock: deliveries need not wait on it
    folder = get_folder(account_id, folder_name, lock=True)
    charge_quota(account_id, sum(len(raw) for raw in raws))
    uids, _ = _insert(folder, [(sha, len(raw), f, d) for sha, raw, f, d in zip(shas, raws, flags, dates)])
    return [AppendResult(folder.pk, folder.uidvalidity, uid) for uid in uids]


def stage_blobs(raws: Sequence[bytes]) -> int:
    """Store message bytes and their parsed facts ahead of append_many, in a
    transaction of their own, so that an import can parse and index one batch
    while the previous one is appended. Blobs are content-addressed and
    immutable; one no message refers to yet is invisible (and is used by the
    next append of those bytes, as after an interrupted import). Returns how
    many were new."""
    unique = {hashlib.sha256(raw).hexdigest(): raw for raw in raws}
    known = _known(list(unique))
    parsed = {sha: prepare(raw) for sha, raw in unique.items() if sha not in known}
    return _stage(unique, parsed) if parsed else 0


@atomic
def _stage(raws: dict[str, bytes], parsed: dict[str, PreparedBlob]) -> int:
    return _store_blobs(raws, parsed)


def _store_blobs(raws: dict[str, bytes], parsed: dict[str, PreparedBlob]) -> int:
    """Inside a transaction: insert the blobs not there yet (parsing any the caller did not)."""
    missing = set(raws) - set(Blob.objects.filter(pk__in=list(raws)).values_list("pk", flat=True))
    _insert_blobs([blob_row(parsed.get(sha) or prepare(raws[sha])) for sha in sorted(missing)])
    return len(missing)


def _insert_blobs(rows: list[Blob]) -> None:
    """Insert new blob rows: COPY on PostgreSQL (several times cheaper than
    INSERT for the server to take in), in a savepoint so that a concurrent
    delivery of the same bytes (a unique violation) falls back to INSERT ...
    ON CONFLICT DO NOTHING."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        try:
            with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
                with cursor.cursor.copy(f"COPY {Blob._meta.db_table} ({blob_columns()}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row([f.get_db_prep_save(getattr(row, f.attname), connection) for f in BLOB_FIELDS])
            return
        except IntegrityError:
            pass
    Blob.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)


@atomic
def folder_keys(account_id: int, folder_name: str) -> list[StoredKey]:
    """Message-ID, size and SHA-256 of every message in the folder (idempotent imports)."""
    folder = get_folder(account_id, folder_name)
    rows = Message.objects.filter(folder=folder).order_by("uid").values_list("blob__message_id", "size", "blob_id")
    return [StoredKey(mid, size, sha) for mid, size, sha in rows.iterator(chunk_size=5000)]


# --- import jobs (Celery) ---------------------------------------------------


@dataclass(frozen=True)
class TransferJobInfo:
    id: int
    account_id: int
    account: str
    started_by_id: int | None
    source: str
    options: dict[str, Any]
    state: str
    progress: dict[str, Any]
    error: str
    created: datetime
    started: datetime | None
    finished: datetime | None

    @property
    def active(self) -> bool:
        return self.state in ACTIVE


def _cipher():  # type: ignore[no-untyped-def]
    """Fernet keyed from SECRET_KEY: every process of one installation shares it."""
    from cryptography.fernet import Fernet

    digest = hashlib.sha256(b"mailhost.transfer-job-secret:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def _job_info(job: TransferJob) -> TransferJobInfo:
    return TransferJobInfo(
        job.pk,
        job.account_id,
        job.account.address,
        job.started_by_id,
        job.source,
        dict(job.options),
        job.state,
        dict(job.progress),
        job.error,
        job.created,
        job.started,
        job.finished,
    )


def _job(job_id: int, account_id: int | None = None, *, lock: bool = False) -> TransferJob:
    qs = TransferJob.objects.select_related("account")
    if lock:
        qs = qs.select_for_update(of=("self",))
    if account_id is not None:
        qs = qs.filter(Q(account_id=account_id) | Q(started_by_id=account_id))
    job = qs.filter(pk=job_id).first()
    if job is None:
        raise NotFound("no such import job")
    return job


def _expire_unclaimed() -> None:
    """Jobs no worker took within UNCLAIMED_FOR fail and forget their password
    (run whenever jobs are created, listed or claimed: no schedule needed)."""
    TransferJob.objects.filter(state=TransferJob.State.QUEUED, created__lt=timezone.now() - UNCLAIMED_FOR).update(
        state=TransferJob.State.FAILED,
        secret=b"",
        finished=timezone.now(),
        error="no worker started the import within a day; its password was forgotten",
    )


@atomic
def create_transfer_job(
    account_id: int,
    source: str,
    secret: str,
    *,
    options: dict[str, Any] | None = None,
    started_by_id: int | None = None,
) -> TransferJobInfo:
    """A queued import job; `source` must not hold the password, `secret` does (encrypted at rest).

    An account takes part in at most MAIL_IMPORT_MAX_JOBS queued or running
    jobs, as their target or as who started them (LimitExceeded): a user
    cannot queue imports without end. The count takes no lock (an account
    row lock here would sit outside the lock order, docs/DESIGN.md): starts
    at the same instant may together pass it by one or two."""
    return _create_job(account_id, source, secret, options, started_by_id)


@atomic
def admin_create_transfer_job(
    actor: Actor, account_id: int, source: str, secret: str, *, options: dict[str, Any] | None = None
) -> TransferJobInfo:
    """An import an administrator starts for an account they may change (the
    rules of admin.py: not a superuser or another domain's admin, which a
    domain admin may only look at); written to the audit log."""
    account = account_for(actor, account_id, change=True)
    job = _create_job(account.id, source, secret, options, actor.id)
    audit(actor, "account.import", account.address, source=source)
    return job


def _create_job(
    account_id: int, source: str, secret: str, options: dict[str, Any] | None, started_by_id: int | None
) -> TransferJobInfo:
    if not source or len(source) > 600:
        raise InvalidInput("the source is empty or too long")
    _expire_unclaimed()
    involved = Q(account_id=account_id) | Q(started_by_id=started_by_id or account_id)
    limit = settings.MAIL_IMPORT_MAX_JOBS
    if TransferJob.objects.filter(involved, state__in=ACTIVE).count() >= limit:
        raise LimitExceeded(f"at most {limit} imports may run or wait at a time; wait for one to finish")
    job = TransferJob.objects.create(
        account_id=account_id,
        started_by_id=started_by_id,
        source=source,
        options=options or {},
        secret=_cipher().encrypt(secret.encode()),
    )
    return _job_info(TransferJob.objects.select_related("account").get(pk=job.pk))


@atomic
def transfer_job(job_id: int, account_id: int | None = None) -> TransferJobInfo:
    """A job, seen by its account or whoever started it (account_id), or by anyone (None)."""
    return _job_info(_job(job_id, account_id))


@atomic
def list_transfer_jobs(account_id: int, limit: int = 20) -> list[TransferJobInfo]:
    _expire_unclaimed()
    jobs = (
        TransferJob.objects.select_related("account")
        .filter(Q(account_id=account_id) | Q(started_by_id=account_id))
        .order_by("-pk")[:limit]
    )
    return [_job_info(j) for j in jobs]


@atomic
def claim_transfer_job(job_id: int) -> tuple[TransferJobInfo, str] | None:
    """Mark a job running and hand over its password; None when the job has
    ended already (a redelivered task) or its secret is gone."""
    _expire_unclaimed()
    job = _job(job_id, lock=True)
    if job.state not in ACTIVE or not job.secret:
        return None
    job.state = TransferJob.State.RUNNING
    job.started = job.started or timezone.now()
    job.save(update_fields=["state", "started"])
    return _job_info(job), _cipher().decrypt(bytes(job.secret)).decode()


@atomic
def record_transfer_progress(job_id: int, progress: dict[str, Any]) -> None:
    TransferJob.objects.filter(pk=job_id, state=TransferJob.State.RUNNING).update(progress=progress)


@atomic
def finish_transfer_job(job_id: int, *, ok: bool, progress: dict[str, Any] | None = None, error: str = "") -> None:
    """End a job and forget its password, whatever the outcome."""
    fields: dict[str, Any] = {
        "state": TransferJob.State.DONE if ok else TransferJob.State.FAILED,
        "secret": b"",
        "error": error[:2000],
        "finished": timezone.now(),
    }
    if progress is not None:
        fields["progress"] = progress
    TransferJob.objects.filter(pk=job_id).update(**fields)
