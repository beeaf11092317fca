"""axe-core, vendored under mailboxes/static/vendor/axe-core/ (MPL-2.0, its
licence beside it), run in the page the browser tests have open.

It goes in through Playwright's evaluate (the DevTools protocol), which a
page's Content-Security-Policy does not govern: our pages allow only their
own scripts and need not allow this one."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playwright.sync_api import Page

AXE = Path(__file__).resolve().parent.parent / "mailboxes" / "static" / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def serious_violations(page: Page) -> list[str]:
    """Every serious or critical axe violation on the page: rule, impact and
    the first offending elements, readable in an assertion message."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text())
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        f"{v['id']} ({v['impact']}): {v['help']}: " + ", ".join(str(n["target"]) for n in v["nodes"][:3])
        for v in results["violations"]
        if v["impact"] in SERIOUS
    ]
