"""Summarise py-spy's collapsed stacks (`py-spy record --format raw`): the
functions where the samples are, by own time and by inclusive time.

    .venv/bin/python bench/stacks.py var/profile/smtp-1234.txt [--top 25] [--match mailboxes,protocols]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path


def summarise(path: Path, top: int, match: tuple[str, ...]) -> str:
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        samples = int(count)
        frames = [f for f in stack.split(";") if not f.startswith(("process ", "thread "))]
        if not frames or frames[-1].startswith(("select (selectors", "_worker (concurrent", "wait (threading")):
            continue  # an idle thread waiting for work is not where the time goes
        total += samples
        own[frames[-1]] += samples
        for frame in set(frames):
            if not match or any(m in frame for m in match):
                inclusive[frame] += samples
    lines = [f"{path.name}: {total} busy samples", "own time:"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in own.most_common(top)]
    lines += ["inclusive" + (f" (frames matching {','.join(match)})" if match else "") + ":"]
    lines += [f"  {100 * n / total:5.1f}%  {frame}" for frame, n in inclusive.most_common(top)]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", type=Path)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--match", default="", help="comma-separated substrings for the inclusive list")
    args = parser.parse_args()
    match = tuple(m for m in args.match.split(",") if m)
    for path in args.files:
        print(summarise(path, args.top, match))


if __name__ == "__main__":
    main()
