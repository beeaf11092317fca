"""Learning from what users file (docs/SPAM.md, "Learning").

A message filed into the Junk folder (IMAP COPY, MOVE or APPEND, the
webmail's Spam button, which moves) teaches rspamd spam; one filed out of
Junk into anywhere but Trash teaches ham. The store only notices: copy(),
move() and append() call filed() inside their transaction, which sends
mailboxes.signals.spam_filed after the commit; mailboxes.apps connects it
to the Celery task (mailboxes/tasks.py, learn_filed) that calls rspamd's
controller, so no protocol command waits on rspamd.

The task asks claim_lesson() first: one SpamLesson row per stored bytes
means a message is learned once per class, never twice; forget_lesson()
undoes the claim when rspamd could not be reached, so a later filing tries
again.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Sequence

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from ..models import Blob, Message, SpamLesson
from ..signals import spam_filed
from ._db import atomic

log = logging.getLogger("mailboxes.store")
JUNK, TRASH = "\\Junk", "\\Trash"


def lesson(source_use: str, dest_use: str) -> bool | None:
    """True: filing from a folder of source_use into one of dest_use teaches
    spam; False: ham; None: nothing (within Junk, Junk to Trash, elsewhere).
    APPEND has no source: its source_use is ""."""
    if dest_use == JUNK and source_use != JUNK:
        return True
    if source_use == JUNK and dest_use not in (JUNK, TRASH):
        return False
    return None


def filed(account_id: int, source_use: str, dest_use: str, blobs: Sequence[str]) -> None:
    """Inside a store transaction that filed these bytes: say so after commit."""
    spam = lesson(source_use, dest_use)
    if spam is None or not blobs or not settings.MAIL_RSPAMD_CONTROLLER_URL:
        return
    transaction.on_commit(functools.partial(_announce, account_id, tuple(dict.fromkeys(blobs)), spam))


def _announce(account_id: int, blobs: tuple[str, ...], spam: bool) -> None:
    try:
        spam_filed.send(sender=Message, account_id=account_id, blobs=blobs, spam=spam)
    except Exception as exc:  # learning is a bonus: the filing itself has committed
        log.warning("could not schedule spam learning for account %s: %s", account_id, exc)


@atomic
def claim_lesson(account_id: int, blob_sha: str, spam: bool) -> bytes | None:
    """The message's bytes if it is to be learned as spam (or ham) now; None
    when it was learned so already, or its bytes are gone."""
    current = SpamLesson.objects.select_for_update().filter(blob_sha=blob_sha).first()
    if current is not None and current.spam == spam:
        return None
    data = Blob.objects.filter(sha256=blob_sha).values_list("data", flat=True).first()
    if data is None:
        return None
    if current is None:
        try:
            with transaction.atomic():
                SpamLesson.objects.create(blob_sha=blob_sha, spam=spam, account_id=account_id)
        except IntegrityError:
            return None  # another worker claimed it this instant
    else:
        SpamLesson.objects.filter(pk=current.pk).update(spam=spam, account_id=account_id, learned_at=timezone.now())
    return bytes(data)


@atomic
def forget_lesson(blob_sha: str, spam: bool) -> None:
    """Undo claim_lesson() when rspamd could not be told."""
    SpamLesson.objects.filter(blob_sha=blob_sha, spam=spam).delete()
