"""Hand queued mail to the relay: a Celery task through the broker, or, in the
embedded default (CELERY_TASK_ALWAYS_EAGER, no broker), the same code on a
background thread of this process, so the caller (an SMTP DATA reply, a
webmail send) never waits on remote servers and never sees a relay failure.
runmailserver also stands in for `celery beat` there: start_sweeper() runs
every entry of CELERY_BEAT_SCHEDULE (the queue sweep, the quota recount, the
Trash cleanup, the blob collector with the outbound retention before it) on
its interval, in this process.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from django.db import close_old_connections, connections

log = logging.getLogger("protocols.relay")
_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_beat_started = False


def _eager() -> bool:
    from mailhost.celery import app

    return bool(app.conf.task_always_eager)


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="relay")
        return _executor


def drain() -> None:
    """Wait for the relay runs handed to this process's threads to end (the
    embedded default at shutdown, a test at its end); the next kick starts a
    new pool."""
    global _executor
    while True:  # a run may queue more (a DSN), on a new pool
        with _lock:
            executor, _executor = _executor, None
        if executor is None:
            return
        executor.shutdown(wait=True)


def _guarded(func: Callable[..., Any], *args: Any) -> None:
    close_old_connections()
    try:
        func(*args)
    except Exception:
        log.exception("%s failed (it runs again next time)", getattr(func, "__name__", func))
    finally:
        # This thread's connections are closed, not kept: a run is seconds
        # apart from the next, and an idle SQLite connection holding the
        # shared cache's table locks would block the other threads' writers.
        connections.close_all()


def on_outbound_queued(sender: object, message_id: int, **kwargs: Any) -> None:
    """Receiver of mailboxes.signals.outbound_queued (sent after commit)."""
    try:
        from .tasks import relay_message

        if _eager():
            _pool().submit(_guarded, relay_message.run, message_id)
        else:
            relay_message.delay(message_id)
    except Exception:  # the message is committed; the sweep will find it
        log.exception("relay: could not schedule delivery of outbound message %s", message_id)


def start_sweeper() -> None:
    """In the embedded default (no broker, so no beat), run beat's schedule
    here: each CELERY_BEAT_SCHEDULE entry on a thread of its own, first one
    interval after start and then every interval, as beat does; one slow job
    (a blob collection backlog) does not hold up the queue sweep. With a
    broker, `celery beat` schedules them and this does nothing."""
    global _beat_started
    if not _eager():
        return
    with _lock:
        if _beat_started:
            return
        _beat_started = True
    from django.conf import settings

    from mailhost.celery import app

    app.loader.import_default_modules()  # registers every app's tasks, as a worker does
    for name, entry in settings.CELERY_BEAT_SCHEDULE.items():
        task = app.tasks[entry["task"]]
        seconds = _seconds(entry["schedule"])
        threading.Thread(target=_every, args=(seconds, task.run), name=f"beat-{name}", daemon=True).start()


def _seconds(schedule: float | timedelta) -> float:
    return schedule.total_seconds() if isinstance(schedule, timedelta) else float(schedule)


def _every(seconds: float, func: Callable[[], Any]) -> None:
    stop = threading.Event()  # never set: the thread ends with the process
    while not stop.wait(seconds):
        _guarded(func)
