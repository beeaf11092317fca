"""A worker's log sink that stops reading must not stop its event loop
(the cause of the stall the live fuzz harness found after 60 s)."""

from __future__ import annotations

import logging
import logging.handlers
import os
import threading
import time

import pytest

from protocols import logqueue

pytestmark = pytest.mark.slow


def test_logging_goes_on_while_the_sink_reads_nothing_and_the_drops_are_reported_after():
    read_end, write_end = os.pipe()  # a pipe holds 64 KiB: far less than what is logged here
    sink = os.fdopen(write_end, "w")
    logger = logging.getLogger("tests.logqueue")
    logger.propagate, logger.level = False, logging.INFO
    logger.addHandler(logging.StreamHandler(sink))
    logqueue.start(logger)
    records = logqueue.QUEUE_SIZE * 3
    done = threading.Event()

    def flood() -> None:
        for n in range(records):
            logger.info("record %d %s", n, "x" * 100)
        done.set()

    threading.Thread(target=flood, daemon=True).start()
    received = bytearray()

    def drain() -> None:
        while chunk := os.read(read_end, 1 << 20):
            received.extend(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    try:
        # Nobody reads the pipe: the logging thread is stuck in write(), and
        # the caller still gets through every record.
        assert done.wait(120), "logging blocked on a sink that does not read"
        reader.start()  # the sink reads again
        queued = logger.handlers[0]
        assert isinstance(queued, logging.handlers.QueueHandler)
        while queued.queue.full():
            time.sleep(0.01)
        logger.info("after the drain")
    finally:
        logqueue.stop(logger)  # writes out what is queued
        for handler in list(logger.handlers):
            logger.removeHandler(handler)
        sink.close()
        if reader.ident is not None:
            reader.join(60)  # EOF: the sink is closed
        os.close(read_end)
    text = received.decode()
    assert "record 0 " in text and "after the drain" in text
    assert "log records dropped: the log sink was not reading" in text
