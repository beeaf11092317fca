"""Object identifiers (RFC 8474 OBJECTID), derived from stored facts. Pure.

No identifier is stored for the purpose; each is made from what the store
already keeps, so the ids need no migration and mean the same in every
worker:

* MAILBOXID (4): ``F<folder id>-<uidvalidity>``. The folder row keeps both
  through RENAME, as 4.1 asks; a mailbox deleted and created again is a new
  row with a new UIDVALIDITY, so its id is new even where a database reuses
  row ids (SQLite without AUTOINCREMENT).
* EMAILID (5.1): ``M<SHA-256 of the message bytes>``. Messages are stored
  once by content, so COPY and MOVE keep the id (5.1 asks for that), and two
  messages share an id only when their octets are the same, which 5.1 allows
  ("identical ... contents").
* THREADID (5.2): NIL; the store keeps no threads, and 5.2 lets a server
  that does not thread answer NIL. ``SEARCH THREADID x`` matches nothing.

Every id is ``1*255(ALPHA / DIGIT / "_" / "-")`` (section 7, objectid).
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["email_id", "mailbox_id", "sha256_of_email_id", "render_objectid"]

_EMAIL_ID: Final = re.compile(r"M([0-9a-f]{64})")


def mailbox_id(folder_id: int, uidvalidity: int) -> str:
    return f"F{folder_id}-{uidvalidity}"


def email_id(sha256: str) -> str:
    return f"M{sha256}"


def sha256_of_email_id(value: str) -> str | None:
    """The blob an EMAILID names, or None when it cannot be one of ours.

    RFC 8474 5.1: EMAILIDs are case-sensitive, so ``m...`` names nothing."""
    match = _EMAIL_ID.fullmatch(value)
    return match.group(1) if match else None


def render_objectid(value: str | None) -> bytes:
    """``"(" objectid ")"`` or NIL (section 7: fetch-threadid-resp)."""
    return b"NIL" if value is None else b"(" + value.encode("ascii") + b")"
