"""Two fixed costs of the IMAP command path, measured in this process
(docs/PERFORMANCE.md, "IMAP command path, third round"):

* the hop to a store thread: CPU per ``protocols.dbcall.call`` of a function
  that does nothing, 10 tasks calling at once;
* FETCH rendering: CPU per message of ``(UID ENVELOPE BODYSTRUCTURE BODY)``
  for 100 messages (the first of ``--mbox``, imaptest's mbox for instance,
  or bench/imap.py's messages), every message rendered and then once each
  has been rendered before.

Run it in two checkouts (before and after a change) to compare them; it
needs no database (any DATABASE_URL, or none, will do).

    .venv/bin/python bench/imap_hot.py [--calls 3000] [--mbox FILE]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import mailbox
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
from imap import message  # noqa: E402  (bench/imap.py)


@dataclass(frozen=True)
class Facts:
    """One message's facts as the store hands them to FETCH (decoded JSON)."""

    uid: int
    envelope: dict[str, Any]
    structure: dict[str, Any]
    header_bytes: int
    size: int
    blob: str
    modseq: int = 1
    flags: frozenset[str] = frozenset()
    internal_date: Any = None
    preview: str | None = None
    data: bytes | None = None


def hop(calls: int) -> float:
    """µs of CPU per store call of a function that does nothing."""
    from protocols import dbcall

    def nothing(value: int) -> int:
        return value

    async def client() -> None:
        for i in range(calls):
            await dbcall.call(nothing, i)

    async def main() -> float:
        await dbcall.call(nothing, 0)  # the pool started
        start = time.process_time()
        await asyncio.gather(*(client() for _ in range(10)))
        return 1e6 * (time.process_time() - start) / (10 * calls)

    return asyncio.run(main())


def raw_messages(mbox: str | None) -> list[bytes]:
    if mbox is None:
        return [message(i) for i in range(100)]
    out = []
    for item in mailbox.mbox(mbox):
        out.append(item.as_bytes().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"))
        if len(out) == 100:
            break
    return out


def render(mbox: str | None, rounds: int = 50) -> tuple[float, float]:
    """µs of CPU per message: every message rendered, then each rendered before."""
    from mailboxes import mime
    from protocols.imap import fetch_items
    from protocols.imap.parser import parse_command

    facts = []
    for uid, raw in enumerate(raw_messages(mbox), 1):
        parsed = mime.analyze(raw)
        facts.append(
            Facts(
                uid=uid,
                envelope=json.loads(json.dumps(parsed.envelope)),
                structure=json.loads(json.dumps(parsed.structure)),
                header_bytes=parsed.header_bytes,
                size=len(raw),
                blob=hashlib.sha256(raw).hexdigest(),
            )
        )
    command, _ = parse_command(b"a FETCH 1:100 (UID ENVELOPE BODYSTRUCTURE BODY)\r\n", max_literal=1 << 20)
    attributes = command.attributes  # type: ignore[attr-defined]
    kept = getattr(fetch_items, "_RENDERED", None)  # absent before the third round

    def once(cold: bool) -> None:
        if cold and kept is not None:
            kept.clear()
        for seq, msg in enumerate(facts, 1):
            fetch_items.render_message(seq, attributes, msg)

    results = []
    for cold in (True, False):
        once(False)
        start = time.process_time()
        for _ in range(rounds):
            once(cold)
        results.append(1e6 * (time.process_time() - start) / (rounds * len(facts)))
    return results[0], results[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=3000, help="calls per task for the hop (10 tasks)")
    parser.add_argument("--mbox", help="render this mbox's first 100 messages (default: bench/imap.py's)")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailhost.settings")
    import django

    django.setup()
    print(f"store call hop: {hop(args.calls):.1f} µs of CPU per call")
    cold, warm = render(args.mbox)
    print(f"FETCH (UID ENVELOPE BODYSTRUCTURE BODY): {cold:.1f} µs of CPU per message, {warm:.1f} once rendered before")


if __name__ == "__main__":
    main()
