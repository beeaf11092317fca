"""How a command handler ends: a completion, or a refusal with its code.

Handlers return :class:`Done` (or None for a plain OK) and raise
:class:`Refusal` for NO/BAD. Store errors are not caught in handlers unless
the code differs from the default mapping in :mod:`.state` (TRYCREATE for
an APPEND/COPY/MOVE target, RFC 3501 6.3.11).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

__all__ = ["Done", "Refusal", "SessionEnd", "bad", "no"]


@dataclass(frozen=True)
class Done:
    """The tagged OK: an optional response code and text."""

    code: str | bytes | None = None
    text: str = ""
    #: The handler already sent the tagged response (STARTTLS must, before the handshake).
    answered: bool = False


class Refusal(Exception):
    """A tagged NO or BAD. ``text`` is a fixed phrase, safe for the wire."""

    def __init__(self, status: Literal["NO", "BAD"], code: str | bytes | None, text: str) -> None:
        super().__init__(status, code, text)
        self.status = status
        self.code = code
        self.text = text


def no(code: str | bytes | None, text: str) -> Refusal:
    return Refusal("NO", code, text)


def bad(text: str, code: str | None = None) -> Refusal:
    return Refusal("BAD", code, text)


class SessionEnd(Exception):
    """The session is over (LOGOUT, BYE sent, connection lost)."""
