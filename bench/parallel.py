"""Time N clients working at once: each sets up (connects, logs in, builds
its payloads) before the clock starts, then all start together."""
from __future__ import annotations

import threading
import time
from typing import Callable

Work = Callable[[], int]


def timed_clients(count: int, prepare: Callable[[int], Work]) -> tuple[float, int]:
    """prepare(n) runs in client n's thread and returns its timed work, which
    returns how many items it handled. Returns (seconds, items in all); raises
    if any client failed."""
    handled = [0] * count
    errors: list[BaseException] = []
    start = threading.Barrier(count + 1)

    def client(n: int) -> None:
        try:
            work = prepare(n)
            start.wait()
            handled[n] = work()
        except BaseException as exc:  # reported below
            errors.append(exc)
            try:
                start.abort()
            except threading.BrokenBarrierError:
                pass

    threads = [threading.Thread(target=client, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    try:
        start.wait()
    except threading.BrokenBarrierError:
        pass
    began = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if errors:
        raise RuntimeError(f"{len(errors)} clients failed: {errors[0]!r}")
    return elapsed, sum(handled)
