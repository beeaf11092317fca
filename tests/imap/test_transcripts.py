"""Every transcript in tests/imap/transcripts/, replayed against the real
server and PostgreSQL over a real socket."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.markers import sqlite_gap
from tests.servers import InProcessServer

from .replay import Replay

TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.txt"))


# SQLite's LIKE folds ASCII case only, so SEARCH BODY "CAFÉ" finds no "café" there.
_SQLITE_GAPS = {"search": sqlite_gap("case-insensitive search folds ASCII letters only")}


@pytest.mark.parametrize("path", [pytest.param(p, id=p.stem, marks=_SQLITE_GAPS.get(p.stem, ())) for p in TRANSCRIPTS])
def test_transcript_replays_exactly(path: Path, imap_server: InProcessServer) -> None:
    with Replay(imap_server.ports["imap"], imap_server.loop) as replay:
        replay.run(path.read_text())
