"""Celery tasks of the outbound relay, registered on the mailhost app.

relay_message runs when a message is queued (the kick); sweep runs on the
beat schedule (CELERY_BEAT_SCHEDULE) and delivers whatever is due, so a lost
kick or a dead worker delays mail but never loses it. Both are idempotent:
they act only on recipients they claim, and only due ones can be claimed.
"""

from __future__ import annotations

import time

from mailhost.celery import app

from . import deliver

SWEEP_BUDGET = 50.0  # seconds: a sweep ends before the next one is scheduled
BATCH = 100


@app.task(name="protocols.relay.tasks.relay_message", ignore_result=True)
def relay_message(message_id: int) -> int:
    """Deliver the due recipients of one newly queued message."""
    return deliver.run(message_id=message_id, limit=BATCH, max_batches=10)


@app.task(name="protocols.relay.tasks.sweep", ignore_result=True)
def sweep() -> int:
    """Deliver everything due, batch by batch, for at most SWEEP_BUDGET seconds."""
    deadline = time.monotonic() + SWEEP_BUDGET
    total = 0
    while time.monotonic() < deadline:
        handled = deliver.run(limit=BATCH)
        if not handled:
            break
        total += handled
    return total
