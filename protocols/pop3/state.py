"""Session state shared by the POP3 handlers (no I/O here)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from mailboxes import store
from protocols.lines import Closed  # noqa: F401  (handlers raise it)

READ_AHEAD_MESSAGES = 16
READ_AHEAD_BYTES = 256 * 1024


class State(enum.Enum):
    AUTHORIZATION = "AUTHORIZATION"
    TRANSACTION = "TRANSACTION"
    # UPDATE (RFC 1939 6) is entered by QUIT in TRANSACTION and ends the session.


@dataclass
class Maildrop:
    """The session's view: the store's snapshot plus what this session did to it."""

    account_id: int
    snapshot: store.Maildrop
    deleted: set[int] = field(default_factory=set)  # message numbers (1-based)
    retrieved: set[int] = field(default_factory=set)  # marked \\Seen at UPDATE
    ahead: dict[int, bytes] = field(default_factory=dict)  # read ahead, by message number
    last_read: int = 0

    def get(self, msg: int) -> store.PopMessage | None:
        """The message numbered msg, if it exists and is not marked deleted."""
        if 1 <= msg <= len(self.snapshot.messages) and msg not in self.deleted:
            return self.snapshot.messages[msg - 1]
        return None

    def live(self) -> list[tuple[int, store.PopMessage]]:
        return [(n, m) for n, m in enumerate(self.snapshot.messages, 1) if n not in self.deleted]

    def to_read(self, msg: int) -> list[int]:
        """The messages to fetch to answer RETR/TOP msg: msg itself and, when
        the client reads in order (as fetchmail, getmail and mpop do), the
        next ones, up to READ_AHEAD_MESSAGES and READ_AHEAD_BYTES in all."""
        batch = [msg]
        if self.last_read != msg - 1:
            return batch
        budget = READ_AHEAD_BYTES - self.snapshot.messages[msg - 1].size
        for n in range(msg + 1, len(self.snapshot.messages) + 1):
            message = self.get(n)
            if message is None:
                continue
            if len(batch) >= READ_AHEAD_MESSAGES or message.size > budget:
                break
            budget -= message.size
            batch.append(n)
        return batch
