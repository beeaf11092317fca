"""Every transcript in tests/imap/transcripts/, replayed against the real
server and PostgreSQL over a real socket."""
from __future__ import annotations

from pathlib import Path

import pytest

from .replay import Replay

TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.txt"))


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_transcript_replays_exactly(path: Path, imap_port: int) -> None:
    with Replay(imap_port) as replay:
        replay.run(path.read_text())
