"""Log records leave the event loop through a bounded queue.

A worker's log sink (a terminal, a pipe to a supervisor, journald) can stop
reading. A StreamHandler called on the event loop then blocks in write() and
every session of the worker stalls with it: the live fuzz harness found this
(docs/SECURITY.md, "the 60 s stall"). Here the root logger's handlers run on
one background thread; the loop only puts records on a bounded queue, and when
the sink is so far behind that the queue is full, records are dropped and
counted (one line says how many once the sink drains) rather than waiting.
"""

from __future__ import annotations

import logging
import logging.handlers
import queue
import threading

QUEUE_SIZE = 10_000


class _Records(queue.SimpleQueue):
    """The bounded queue between the loop and the log thread: the standard
    library's C queue (queue.Queue's Python lock and condition were most of
    a log line's cost on the event loop), with queue.Queue's bound."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize

    def put_nowait(self, item: object) -> None:
        if self.qsize() >= self.maxsize:
            raise queue.Full
        super().put_nowait(item)

    def full(self) -> bool:
        return self.qsize() >= self.maxsize


class _DroppingQueueHandler(logging.handlers.QueueHandler):
    def __init__(self, records: _Records) -> None:
        super().__init__(records)
        self.records = records
        self.dropped = 0
        self._lock = threading.Lock()

    def prepare(self, record: logging.LogRecord) -> logging.LogRecord:
        # The stdlib formats the record here and copies it, for other handlers
        # of the logger; this is its only handler, and a record without a
        # traceback only needs its arguments merged before it crosses threads.
        if record.exc_info or record.stack_info:
            return super().prepare(record)
        record.message = record.msg = record.getMessage()
        record.args = None
        return record

    def enqueue(self, record: logging.LogRecord) -> None:
        with self._lock:
            if self.dropped and not self.records.full():
                note = logging.makeLogRecord(
                    {
                        "name": __name__,
                        "levelno": logging.WARNING,
                        "levelname": "WARNING",
                        "msg": "%d log records dropped: the log sink was not reading",
                        "args": (self.dropped,),
                    }
                )
                self.dropped = 0
                self.records.put_nowait(note)
            try:
                self.records.put_nowait(record)
            except queue.Full:
                self.dropped += 1


_listeners: dict[str, logging.handlers.QueueListener] = {}


def start(logger: logging.Logger | None = None) -> None:
    """Move the logger's handlers (the root logger's by default) behind the
    queue, once per process."""
    logger = logger or logging.getLogger()
    if logger.name in _listeners or not logger.handlers:
        return
    handlers = list(logger.handlers)
    _record_only_what_is_written(handlers)
    records = _Records(QUEUE_SIZE)
    listener = logging.handlers.QueueListener(records, *handlers, respect_handler_level=True)
    for handler in handlers:
        logger.removeHandler(handler)
    logger.addHandler(_DroppingQueueHandler(records))
    _listeners[logger.name] = listener
    listener.start()


_CALLER_FIELDS = (
    "%(pathname",
    "%(filename",
    "%(module",
    "%(funcName",
    "%(lineno",
    "{pathname",
    "{filename",
    "{module",
    "{funcName",
    "{lineno",
)


def _record_only_what_is_written(handlers: list[logging.Handler]) -> None:
    """Each log record looks up its caller's frame, thread and process unless
    told not to (the logging HOWTO's "Optimization"): not when no handler's
    format writes them (settings.LOGGING's does not), which saves a good
    part of a record's cost on the event loop."""
    formats = [getattr(getattr(h.formatter, "_style", None), "_fmt", None) or "" for h in handlers]
    if not any(field in fmt for fmt in formats for field in _CALLER_FIELDS):
        logging._srcfile = None
    if not any("thread" in fmt for fmt in formats):
        logging.logThreads = False
    if not any("process" in fmt.lower() for fmt in formats):
        logging.logProcesses = False
        logging.logMultiprocessing = False


def stop(logger: logging.Logger | None = None) -> None:
    """Write out what is queued and put the handlers back (at exit)."""
    logger = logger or logging.getLogger()
    listener = _listeners.pop(logger.name, None)
    if listener is None:
        return
    for handler in list(logger.handlers):
        if isinstance(handler, _DroppingQueueHandler):
            logger.removeHandler(handler)
    listener.stop()
    for handler in listener.handlers:
        logger.addHandler(handler)
