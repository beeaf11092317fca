"""Rules of the house that a grep can keep (docs/DESIGN.md, STYLE.md)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for top in ("mailboxes", "protocols", "mailhost") for p in (ROOT / top).rglob("*.py")]


def test_no_code_reaches_past_a_store_decorator_to_dodge_its_transaction():
    # A store function decides whether it runs in a transaction (atomic or
    # no_transaction); a caller that wants none calls one that takes none.
    offenders = [str(p.relative_to(ROOT)) for p in SOURCES if "__wrapped__" in p.read_text("utf-8")]
    assert offenders == []


def test_the_mail_store_never_imports_the_protocols():
    offenders = [
        str(p.relative_to(ROOT))
        for p in (ROOT / "mailboxes").rglob("*.py")
        if any(line.startswith(("from protocols", "import protocols")) for line in p.read_text("utf-8").splitlines())
    ]
    assert offenders == []
