"""The README says what the code does (issue #17 item 7): its IMAP capability
list is the one the server announces, and its settings table names exactly
the environment variables mailhost/settings.py reads."""

from __future__ import annotations

import re

from protocols.imap.state import CAPABILITIES
from tests.servers import ROOT

README = (ROOT / "README.md").read_text("utf-8")


def section(title: str) -> str:
    return README.split(f"\n## {title}\n", 1)[1].split("\n## ", 1)[0]


def test_the_readme_lists_the_imap_capabilities_the_server_announces():
    listed = section("IMAP").split("```", 2)[1]
    assert listed.split() == CAPABILITIES.split()


def test_the_readme_settings_table_names_every_variable_the_settings_read_and_no_other():
    code = (ROOT / "mailhost" / "settings.py").read_text("utf-8")
    read = set(re.findall(r'\benv_\w+\(\s*"([A-Z][A-Z0-9_]*)"', code))
    rows = [line for line in section("Configuration").splitlines() if line.startswith("| `")]
    documented = {name for row in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", row.split("|")[1])}
    assert documented - read == set(), "documented, but settings.py does not read them"
    assert read - documented == set(), "read by settings.py, but not in the README's table"
