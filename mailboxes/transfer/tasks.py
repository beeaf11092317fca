"""The IMAP import job, run by a Celery worker (started from webmail settings
or by an administrator). Progress goes to the job's row about once a second;
the remote password is read from the row when the job starts and emptied
from it when the job ends, however it ends. A worker lost half way hands the
task to another (acks_late): the import resumes, copying only what is missing."""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings

from mailboxes import store
from mailhost.celery import app

from .imapsource import ImapSource, parse_imap_url
from .importer import run_import
from .progress import Progress
from .source import SourceError

log = logging.getLogger("mailboxes.transfer")


@app.task(name="mailboxes.transfer.imap_import", ignore_result=True)
def imap_import(job_id: int) -> None:
    run_job(job_id)


def run_job(job_id: int) -> None:
    claimed = store.claim_transfer_job(job_id)
    if claimed is None:
        return  # ended already (a redelivered task) or its password is gone
    job, password = claimed

    def record(snapshot: dict[str, Any]) -> None:
        store.record_transfer_progress(job_id, snapshot)

    try:
        try:
            source = ImapSource(
                parse_imap_url(job.source),
                password,
                settings.MAIL_MAX_MESSAGE_SIZE,
                verify=job.options.get("verify", True),
                allow_plaintext=job.options.get("allow_plaintext", False),
                public_only=True,
            )
        except SourceError as exc:
            store.finish_transfer_job(job_id, ok=False, error=str(exc))
            return
        finally:
            del password
        progress = Progress(None, listener=record)
        summary = run_import(job.account_id, source, progress)
        store.finish_transfer_job(
            job_id, ok=not summary.stopped, progress=progress.snapshot(summary), error=summary.stopped
        )
    except Exception:
        log.exception("import job %s failed", job_id)
        store.finish_transfer_job(job_id, ok=False, error="the import failed unexpectedly (see the worker's log)")
        raise
