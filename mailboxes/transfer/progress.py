"""Progress of a long import or export, the way people expect it.

On a terminal: a bar for the current folder and one for the whole run
(messages, bytes, rate, time left), redrawn in place at most ten times a
second. Anywhere else (a log, a pipe, cron): one plain line every `interval`
seconds and one per folder. Either way a summary at the end: how many
copied, skipped (already there) and failed, with the reasons. A listener
(the Celery job) gets a JSON-able snapshot now and then.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, TextIO

BAR = 24
SHOWN_FAILURES = 20


def human_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if abs(n) < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TB"  # pragma: no cover


def human_time(seconds: float) -> str:
    seconds = int(seconds)
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@dataclass
class Tally:
    total: int = 0  # messages expected (an estimate)
    total_bytes: int = 0
    done: int = 0
    skipped: int = 0
    failed: int = 0
    bytes: int = 0  # octets processed, whatever became of them

    @property
    def processed(self) -> int:
        return self.done + self.skipped + self.failed

    def fraction(self) -> float:
        if self.total_bytes:
            return min(1.0, self.bytes / self.total_bytes)
        return min(1.0, self.processed / self.total) if self.total else 1.0


@dataclass
class Failure:
    folder: str
    ref: str
    reason: str


@dataclass
class Summary:
    verb: str
    done: int
    skipped: int
    failed: int
    bytes: int
    seconds: float
    failures: list[Failure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped: str = ""  # why the run ended early ("" = it finished)

    def lines(self) -> list[str]:
        rate = self.processed / self.seconds if self.seconds > 0 else 0.0
        head = "stopped" if self.stopped else "finished"
        out = [
            f"{head} after {self.seconds:.1f} s: {self.done} {self.verb}, {self.skipped} skipped "
            f"(already there), {self.failed} failed; {human_bytes(self.bytes)}, {rate:.0f} messages/s"
        ]
        if self.stopped:
            out.append(f"  why: {self.stopped}")
        if self.failures:
            out.append(f"failed ({self.failed}):")
            out += [f"  {f.folder}: {f.ref}: {f.reason}" for f in self.failures[:SHOWN_FAILURES]]
            if len(self.failures) > SHOWN_FAILURES:
                reasons = Counter(f.reason for f in self.failures[SHOWN_FAILURES:])
                more = "; ".join(f"{reason} ({n})" for reason, n in reasons.most_common(5))
                out.append(f"  ... and {len(self.failures) - SHOWN_FAILURES} more: {more}")
        if self.notes:
            out.append("notes:")
            out += [f"  {note}" for note in self.notes]
        return out

    @property
    def processed(self) -> int:
        return self.done + self.skipped + self.failed

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["failures"] = data["failures"][:200]
        return data


class Progress:
    """Counts what happens and shows it; `out=None` shows nothing (a job)."""

    def __init__(
        self,
        out: TextIO | None,
        *,
        tty: bool | None = None,
        interval: float = 5.0,
        verb: str = "copied",
        listener: Callable[[dict[str, Any]], None] | None = None,
        listen_interval: float = 1.0,
    ) -> None:
        self.out = out
        self.tty = bool(out is not None and (out.isatty() if tty is None else tty))
        self.interval = interval
        self.verb = verb
        self.listener = listener
        self.listen_interval = listen_interval
        self.overall = Tally()
        self.current = Tally()
        self.folder_name = ""
        self.folders_total = 0
        self.folders_done = 0
        self.failures: list[Failure] = []
        self.notes: list[str] = []
        self.started = time.monotonic()
        self._last_draw = 0.0
        self._last_line = self.started
        self._last_listen = 0.0
        self._drawn = False
        self._lock = threading.RLock()  # the import's writer thread counts too

    # --- what happened -----------------------------------------------------

    def start(self, description: str, folders: list[tuple[str, int, int]]) -> None:
        self.started = self._last_line = time.monotonic()
        self.folders_total = len(folders)
        self.overall.total = sum(count for _, count, _ in folders)
        self.overall.total_bytes = sum(size for _, _, size in folders)
        self._print(
            f"{description}: {len(folders)} folders, about {self.overall.total} messages, "
            f"{human_bytes(self.overall.total_bytes)}"
        )
        self._update(force=True)

    def begin_folder(self, name: str, count: int, size: int) -> None:
        self.folder_name = name
        self.current = Tally(total=count, total_bytes=size)
        self._update(force=True)

    def done(self, n: int = 1, size: int = 0) -> None:
        self._count("done", n, size)

    def skipped(self, n: int = 1, size: int = 0) -> None:
        self._count("skipped", n, size)

    def failed(self, ref: str, reason: str, size: int = 0) -> None:
        with self._lock:
            self.failures.append(Failure(self.folder_name, ref, reason))
            self._count("failed", 1, size)

    def note(self, text: str) -> None:
        with self._lock:
            if text not in self.notes:
                self.notes.append(text)

    def end_folder(self) -> None:
        self.folders_done += 1
        c = self.current
        line = f"{self.folder_name}: {c.done} {self.verb}, {c.skipped} skipped, {c.failed} failed"
        if self.tty and self._drawn:
            self.out.write("\r\x1b[1A" + line + "\x1b[K\n\x1b[K")  # type: ignore[union-attr]
            self._drawn = False
            self.out.flush()  # type: ignore[union-attr]
        else:
            self._print(line)
        self._update(force=True, draw=False)  # the next folder's bars come with it

    def finish(self, stopped: str = "") -> Summary:
        summary = Summary(
            self.verb,
            self.overall.done,
            self.overall.skipped,
            self.overall.failed,
            self.overall.bytes,
            time.monotonic() - self.started,
            list(self.failures),
            list(self.notes),
            stopped,
        )
        if self.tty and self._drawn:
            self.out.write("\r\x1b[1A\x1b[K\n\x1b[K\r\x1b[1A")  # type: ignore[union-attr]
            self._drawn = False
        for line in summary.lines():
            self._print(line)
        if self.listener:
            self.listener(self.snapshot(summary))
        return summary

    def _count(self, what: str, n: int, size: int) -> None:
        with self._lock:
            for tally in (self.current, self.overall):
                setattr(tally, what, getattr(tally, what) + n)
                tally.bytes += size
                tally.total = max(tally.total, tally.processed)  # the totals were estimates
                tally.total_bytes = max(tally.total_bytes, tally.bytes)
            self._update()

    # --- showing it ----------------------------------------------------------

    def rates(self) -> tuple[float, float, float | None]:
        """(messages/s, bytes/s, seconds left or None)."""
        elapsed = max(time.monotonic() - self.started, 1e-6)
        o = self.overall
        msg_rate, byte_rate = o.processed / elapsed, o.bytes / elapsed
        left: float | None = None
        if o.total_bytes and byte_rate > 0:
            left = max(0, o.total_bytes - o.bytes) / byte_rate
        elif o.total and msg_rate > 0:
            left = max(0, o.total - o.processed) / msg_rate
        return msg_rate, byte_rate, left

    def snapshot(self, summary: Summary | None = None) -> dict[str, Any]:
        msg_rate, byte_rate, left = self.rates()
        data: dict[str, Any] = {
            "folder": self.folder_name,
            "folders_done": self.folders_done,
            "folders_total": self.folders_total,
            "overall": asdict(self.overall),
            "current": asdict(self.current),
            "percent": round(100 * self.overall.fraction(), 1),
            "rate": round(msg_rate, 1),
            "byte_rate": round(byte_rate),
            "seconds_left": None if left is None else round(left),
        }
        if summary is not None:
            data["summary"] = summary.as_dict()
            data["summary_lines"] = summary.lines()
        return data

    def _update(self, force: bool = False, draw: bool = True) -> None:
        now = time.monotonic()
        if self.listener and (force or now - self._last_listen >= self.listen_interval):
            self._last_listen = now
            self.listener(self.snapshot())
        if self.out is None:
            return
        if self.tty:
            if draw and self.folder_name and (force or now - self._last_draw >= 0.1):
                self._last_draw = now
                self._draw()
        elif now - self._last_line >= self.interval:
            self._last_line = now
            self._print(self._plain_line())

    def _bar(self, label: str, tally: Tally) -> str:
        fraction = tally.fraction()
        filled = int(BAR * fraction)
        return (
            f"{label[:20]:<20} [{'#' * filled}{'.' * (BAR - filled)}] {100 * fraction:3.0f}% "
            f"{tally.processed}/{tally.total} msgs {human_bytes(tally.bytes)}/{human_bytes(tally.total_bytes)}"
        )

    def _draw(self) -> None:
        msg_rate, byte_rate, left = self.rates()
        eta = human_time(left) if left is not None else "?"
        folder = self._bar(self.folder_name or "-", self.current)
        overall = (
            self._bar(f"all ({self.folders_done}/{self.folders_total})", self.overall)
            + f" {msg_rate:.0f} msg/s {human_bytes(byte_rate)}/s ETA {eta}"
        )
        prefix = "\r\x1b[1A" if self._drawn else ""
        self.out.write(f"{prefix}{folder}\x1b[K\n{overall}\x1b[K")  # type: ignore[union-attr]
        self.out.flush()  # type: ignore[union-attr]
        self._drawn = True

    def _plain_line(self) -> str:
        msg_rate, byte_rate, left = self.rates()
        o, c = self.overall, self.current
        eta = f", about {human_time(left)} left" if left is not None else ""
        return (
            f"progress: {self.folder_name} {100 * c.fraction():.0f}% ({c.processed}/{c.total}); "
            f"all {100 * o.fraction():.0f}% ({o.processed}/{o.total} messages, "
            f"{human_bytes(o.bytes)} of {human_bytes(o.total_bytes)}), {msg_rate:.0f} msg/s, "
            f"{human_bytes(byte_rate)}/s{eta}"
        )

    def _print(self, line: str) -> None:
        if self.out is not None:
            self.out.write(line + "\n")
            self.out.flush()
