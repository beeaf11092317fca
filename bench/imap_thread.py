"""THREAD's linking on shapes a large folder can take: how long the store's
pure threading (mailboxes/store/threading.py) takes for N messages. No
database: the rows are made up, as store.thread_rows would return them.

1. pairs: N messages, no references, subjects in pairs (gathered by subject);
2. chain: each message replies to the one before (one thread N deep);
3. lists: replies to one of 50 roots each, References up to 10 ids deep;
4. ORDEREDSUBJECT on the chain.

    .venv/bin/python bench/imap_thread.py [--messages 20000]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailhost.settings")

import django  # noqa: E402

django.setup()

from mailboxes.store.threading import ThreadRow, thread  # noqa: E402


def _rows(n: int, shape: str) -> list[ThreadRow]:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = []
    for i in range(1, n + 1):
        if shape == "pairs":
            refs: tuple[str, ...] = ()
            subject = f"subject {i // 2}"
        elif shape == "chain":
            refs, subject = ((f"m{i - 1}",) if i > 1 else ()), f"s{i}"
        else:
            root = i % 50 + 1
            refs = (f"m{root}",) + tuple(f"m{k}" for k in range(max(root + 1, i - 9), i) if k % 50 + 1 == root)
            subject = f"topic {root}" if i <= 50 else f"Re: topic {root}"
        rows.append(
            ThreadRow(i, f"m{i}", refs if i > 50 or shape != "lists" else (), subject, start + timedelta(minutes=i))
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=20_000)
    n = parser.parse_args().messages
    for shape, algorithm in (
        ("pairs", "REFERENCES"),
        ("chain", "REFERENCES"),
        ("lists", "REFERENCES"),
        ("chain", "ORDEREDSUBJECT"),
    ):
        rows = _rows(n, shape)
        started = time.perf_counter()
        threads = thread(rows, algorithm)  # type: ignore[arg-type]
        print(f"{shape:6} {algorithm:14} {n} messages: {len(threads)} threads in {time.perf_counter() - started:.2f} s")


if __name__ == "__main__":
    main()
