"""Hand queued mail to the relay: a Celery task through the broker, or, in the
embedded default (CELERY_TASK_ALWAYS_EAGER, no broker), the same code on a
background thread of this process, so the caller (an SMTP DATA reply, a
webmail send) never waits on remote servers and never sees a relay failure.
runmailserver also sweeps the queue here every MAIL_RELAY_SWEEP_INTERVAL seconds,
standing in for beat.
"""
from __future__ import annotations

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from django.db import close_old_connections

log = logging.getLogger("protocols.relay")
_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()
_sweeper: threading.Thread | None = None


def _eager() -> bool:
    from mailhost.celery import app
    return bool(app.conf.task_always_eager)


def _pool() -> ThreadPoolExecutor:
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="relay")
        return _executor


def _guarded(func: Callable[..., Any], *args: Any) -> None:
    close_old_connections()
    try:
        func(*args)
    except Exception:
        log.exception("relay: %s failed (the queue sweep will retry)", getattr(func, "__name__", func))
    finally:
        close_old_connections()


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
    """In the embedded default, sweep the queue every MAIL_RELAY_SWEEP_INTERVAL seconds
    in this process (with a broker, `celery beat` schedules the sweep)."""
    global _sweeper
    if not _eager():
        return
    with _lock:
        if _sweeper is not None:
            return
        _sweeper = threading.Thread(target=_sweep_forever, name="relay-sweeper", daemon=True)
    _sweeper.start()


def _sweep_forever() -> None:
    from .tasks import sweep
    stop = threading.Event()
    from django.conf import settings
    while not stop.wait(settings.MAIL_RELAY_SWEEP_INTERVAL):
        _guarded(sweep.run)
