"""Shared helpers for the IMAP parser tests (no Django needed)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from protocols.imap.commands import Command
from protocols.imap.grammar import DEFAULT_MAX_LINE, Framer
from protocols.imap.parser import Incomplete, NeedContinuation, parse_command

MAX_LITERAL = 1 << 20


def parse_split_everywhere(data: bytes, **options: Any) -> tuple[Command, int]:
    """Parse ``data`` and every prefix of it, as if it arrived byte by byte.

    Every proper prefix must ask for more input (never a ParseError or a
    command); a synchronizing literal asks for a continuation exactly when
    the prefix ends at its CRLF. The whole, and the whole followed by the
    next command, parse to the same result; so does one framer kept across
    all the prefixes, as a connection keeps it, having searched each byte
    for a line end at most once.
    """
    options.setdefault("max_literal", MAX_LITERAL)
    framer = Framer(max_line=options.get("max_line", DEFAULT_MAX_LINE), literal_plus=options.get("literal_plus", True))
    for cut in range(len(data)):
        for kept in (None, framer):
            with pytest.raises(Incomplete) as info:
                parse_command(data[:cut], **options, framer=kept)
            # (No case here has "{n}" CRLF inside literal data.)
            at_sync_literal = re.search(rb"\{[0-9]+\}\r\n\Z", data[:cut]) is not None
            assert isinstance(info.value, NeedContinuation) is at_sync_literal
    command, used = parse_command(data, **options)
    assert used == len(data)
    assert parse_command(data, **options, framer=framer) == (command, used)
    assert framer.examined <= len(data)
    assert parse_command(data + b"b NOOP\r\n", **options) == (command, used)
    return command, used
