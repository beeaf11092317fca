"""Session state shared by the POP3 handlers (no I/O here)."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field

from mailboxes import store

from .lines import Closed  # noqa: F401  (handlers raise it)


class State(enum.Enum):
    AUTHORIZATION = "AUTHORIZATION"
    TRANSACTION = "TRANSACTION"
    # UPDATE (RFC 1939 6) is entered by QUIT in TRANSACTION and ends the session.


@dataclass
class Maildrop:
    """The session's view: the store's snapshot plus what this session did to it."""

    account_id: int
    snapshot: store.Maildrop
    deleted: set[int] = field(default_factory=set)     # message numbers (1-based)
    retrieved: set[int] = field(default_factory=set)   # marked \\Seen at UPDATE

    def get(self, msg: int) -> store.PopMessage | None:
        """The message numbered msg, if it exists and is not marked deleted."""
        if 1 <= msg <= len(self.snapshot.messages) and msg not in self.deleted:
            return self.snapshot.messages[msg - 1]
        return None

    def live(self) -> list[tuple[int, store.PopMessage]]:
        return [(n, m) for n, m in enumerate(self.snapshot.messages, 1) if n not in self.deleted]
