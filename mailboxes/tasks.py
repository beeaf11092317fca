"""Periodic upkeep on Celery beat (CELERY_BEAT_SCHEDULE in settings): quota
usage recounted with one warning per threshold, old Trash and Junk
emptied, finished outbound queue entries past their retention dropped,
message bytes nothing refers to any more deleted, and failed-login audit
rows past their retention deleted. The account jobs go account by account,
one store call each (which owns its transactions: the quota check takes a
second one only to warn), so one bad account does not stop the rest; the
blob collector goes batch by batch."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

from django.conf import settings

from mailhost.celery import app

from . import store
from .transfer import tasks as transfer_tasks  # noqa: F401  (registers the IMAP import job)

log = logging.getLogger("mailboxes.tasks")


def _each_account(func, label: str) -> int:  # type: ignore[no-untyped-def]
    total = 0
    for account_id in store.maintained_account_ids():
        try:
            total += func(account_id)
        except store.NoSuchAccount:
            continue  # deleted meanwhile
        except store.Unavailable:
            raise  # try the whole run again next time
        except Exception:
            log.exception("%s failed for account %s", label, account_id)
    return total


@app.task(name="mailboxes.tasks.recalculate_quotas", ignore_result=True)
def recalculate_quotas() -> int:
    """Recount every account's usage; returns how many warnings went out."""
    return _each_account(lambda account_id: 1 if store.check_quota(account_id) else 0, "quota check")


@app.task(name="mailboxes.tasks.cleanup_trash", ignore_result=True)
def cleanup_trash() -> int:
    """Empty Trash and Junk of messages past their domain's retention; returns how many."""
    return _each_account(store.purge_old_messages, "trash cleanup")


@app.task(name="mailboxes.tasks.collect_blobs", ignore_result=True)
def collect_blobs() -> int:
    """Drop finished outbound entries past MAIL_OUTBOUND_RETENTION_DAYS, then
    delete message bytes unreferenced for MAIL_BLOB_GC_GRACE (those entries'
    bytes among them, a grace period later); returns how many blob rows went."""
    purged = store.purge_finished_outbound()
    if purged:
        log.info("outbound retention: %d finished queue entries deleted", purged)
    result = store.run_blob_collection()
    log.info(
        "blob collector: freed %d blobs (%d bytes); %d newly unreferenced, %d waiting, %d batches skipped",
        result.freed,
        result.freed_bytes,
        result.marked,
        result.waiting,
        result.skipped,
    )
    return result.freed


@app.task(name="mailboxes.tasks.prune_login_failures", ignore_result=True)
def prune_login_failures() -> int:
    """Delete failed-login audit rows older than MAIL_LOGIN_AUDIT_RETENTION_DAYS
    (0 keeps them); returns how many went."""
    days = settings.MAIL_LOGIN_AUDIT_RETENTION_DAYS
    if not days:
        return 0
    deleted = store.prune_login_failures(older_than=timedelta(days=days))
    if deleted:
        log.info("login audit retention: %d failed-login rows older than %d days deleted", deleted, days)
    return deleted


@app.task(name="mailboxes.tasks.learn_filed", ignore_result=True)
def learn_filed(account_id: int, blobs: list[str], spam: bool) -> int:
    """Teach rspamd what a user filed into Junk (spam) or out of it (ham),
    each message once (store/learning.py); returns how many it learned."""
    from .spam import client

    learned = 0
    for sha in blobs:
        data = store.claim_lesson(account_id, sha, spam)
        if data is None:
            continue
        try:
            learned += client.learn(spam, data)
        except client.ScannerDown as exc:
            store.forget_lesson(sha, spam)
            log.warning("learning %s as %s failed: %s", sha[:12], "spam" if spam else "ham", exc)
    return learned


def on_spam_filed(sender: object, account_id: int, blobs: tuple[str, ...], spam: bool, **kwargs: object) -> None:
    """Receiver of mailboxes.signals.spam_filed (sent after commit): the task
    on the broker, or without one (the embedded default's eager tasks) on a
    thread of its own, so the command that filed the mail does not wait."""
    from django.conf import settings

    if settings.CELERY_TASK_ALWAYS_EAGER:
        threading.Thread(target=learn_filed, args=(account_id, list(blobs), spam), daemon=True).start()
    else:
        learn_filed.delay(account_id, list(blobs), spam)
