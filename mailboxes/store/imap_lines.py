"""FETCH of flags for many messages with its response lines built by PostgreSQL.

``FETCH 1:* (UID FLAGS)`` on a big folder is a few bytes per message, and
building each line in Python (a row, a flag set, a line) cost some 15 µs a
message. :func:`fetch_lines` has PostgreSQL render one page of them in one
statement, as ``protocols.imap`` would (RFC 3501 7.4.2: ``* n FETCH (UID u
FLAGS (...))``, the system flags in RFC order, ``\\Recent``, then the
keywords in code point order), and hands back the page as one byte string
with the count and the sum of the UIDs it holds, so that the caller can
check the page against its own numbering before sending it. No message
data is loaded and no transaction stays open: one statement per page.

PostgreSQL only (:func:`fetch_lines_supported`): SQLite keeps the general
path (``fetch_messages``), as do pages this cannot answer (None).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from django.db import connection

from ..models import Folder, Message
from . import _sql
from ._db import no_transaction

__all__ = ["LINE_ITEMS", "FetchLines", "fetch_lines", "fetch_lines_supported"]

#: The FETCH items the database renders (each maps to its SQL below).
LINE_ITEMS: Final = frozenset({"UID", "FLAGS", "MODSEQ", "RFC822.SIZE"})
#: At most this many \\Recent ranges within a page (else the general path).
MAX_RECENT_RANGES: Final = 50

_FLAGS: Final = (
    ("\\Answered", "answered"),
    ("\\Flagged", "flagged"),
    ("\\Deleted", "deleted"),
    ("\\Seen", "seen"),
    ("\\Draft", "draft"),
    ("\\Recent", None),  # the session's: the caller's ranges (RECENT below)
)
RECENT: Final = "__recent__"  # replaced by the condition on the \\Recent ranges
# Without keywords (most messages), the flags are one of 64 strings, picked by
# the flag columns as bits: the cheapest form per row found (docs/PERFORMANCE.md).
_FLAG_BITS: Final = " | ".join(
    f"(m.{column}::int << {bit})" if column else f"(CASE WHEN {RECENT} THEN {1 << bit} ELSE 0 END)"
    for bit, (_, column) in enumerate(_FLAGS)
)
_FLAG_STRINGS: Final = (
    "ARRAY["
    + ", ".join(
        "'" + " ".join(flag for bit, (flag, _) in enumerate(_FLAGS) if n >> bit & 1) + "'"
        for n in range(1 << len(_FLAGS))
    )
    + "]"
)
# With keywords: each flag followed by a space, the keywords in code point
# order (string_agg ... COLLATE "C": byte order, which is code point order in
# UTF-8), the trailing space trimmed.
_FLAGS_AND_KEYWORDS: Final = (
    "rtrim("
    + " || ".join(
        f"CASE WHEN {f'm.{column}' if column else RECENT} THEN '{flag} ' ELSE '' END" for flag, column in _FLAGS
    )
    + " || (SELECT string_agg(DISTINCT k COLLATE \"C\", ' ' ORDER BY k COLLATE \"C\")"
    " FROM jsonb_array_elements_text(m.keywords) k), ' ')"
)
_FLAGS_SQL: Final = (
    f"CASE WHEN m.keywords = '[]'::jsonb THEN ({_FLAG_STRINGS})[1 + ({_FLAG_BITS})] ELSE {_FLAGS_AND_KEYWORDS} END"
)


@dataclass(frozen=True)
class FetchLines:
    """A page of rendered FETCH responses: ``count`` messages whose UIDs sum to ``uid_sum``."""

    count: int
    uid_sum: int
    data: bytes


def fetch_lines_supported() -> bool:
    return connection.vendor == "postgresql"


def _item_sql(name: str, flags: str) -> str:
    if name == "UID":
        return "'UID ' || m.uid::text"
    if name == "FLAGS":
        return f"'FLAGS (' || {flags} || ')'"
    if name == "MODSEQ":
        return "'MODSEQ (' || m.modseq::text || ')'"  # RFC 7162 3.1.4.1
    if name == "RFC822.SIZE":
        return "'RFC822.SIZE ' || m.size::text"
    raise ValueError(f"not a FETCH item the database renders: {name}")


@no_transaction
def fetch_lines(
    account_id: int,
    folder_id: int,
    first_uid: int,
    last_uid: int,
    *,
    items: Sequence[str],
    first_seq: int,
    contiguous: bool,
    recent: Sequence[tuple[int, int]] = (),
    keywords: Sequence[str] = (),
) -> FetchLines | None:
    """``* n FETCH (...)`` for the folder's messages with UIDs from
    ``first_uid`` to ``last_uid``, numbered from ``first_seq`` up in UID
    order, the ``items`` (of :data:`LINE_ITEMS`) in the order given.

    ``contiguous``: the caller knows the UIDs to be consecutive, so a number
    is the UID plus a constant (no window function). ``recent``: inclusive
    UID ranges shown with ``\\Recent``. ``keywords``: those the client knows
    of; a page with another one is not rendered (None): the client must be
    sent FLAGS first (RFC 3501 7.2.6), which the general path does. None
    too with too many ``recent`` ranges, and on SQLite; a folder that is not
    the account's has no messages. The caller checks ``count`` and
    ``uid_sum`` against its numbering: the lines are right only for the
    messages it expected."""
    recent = [(lo, hi) for lo, hi in recent if hi >= first_uid and lo <= last_uid]
    if len(recent) > MAX_RECENT_RANGES or not fetch_lines_supported():
        return None
    # \\Recent: a condition on the UID, inlined (numbers only) since it appears twice.
    is_recent = " OR ".join(f"m.uid BETWEEN {int(lo)} AND {int(hi)}" for lo, hi in recent) or "false"
    line = " || ' ' || ".join(_item_sql(name, _FLAGS_SQL.replace(RECENT, f"({is_recent})")) for name in items)
    rows = (
        f"{_sql.table(Message)} m WHERE m.folder_id = %s AND m.uid BETWEEN %s AND %s"
        # The owner checked once (a one-time filter), not as the folder id: a
        # value the planner cannot see would make it scan the whole folder.
        f" AND EXISTS (SELECT 1 FROM {_sql.table(Folder)} WHERE id = %s AND owner_id = %s)"
    )
    # The lines are joined in UID order as the rows come: from the (folder,
    # UID) index, or the window's order. An ORDER BY inside string_agg would
    # sort the page again (PostgreSQL 15 does not see the input is sorted):
    # 14 ms of the 100 ms of FETCH 1:* (UID FLAGS) on 100,000 messages.
    if contiguous:  # the number is the UID plus a constant: no window function
        seq, rows = f"m.uid + {int(first_seq - first_uid)}", f"(SELECT * FROM {rows} ORDER BY m.uid) m"
    else:
        seq, rows = (
            "m.seq",
            f"(SELECT *, row_number() OVER (ORDER BY m.uid) + {int(first_seq - 1)} AS seq FROM {rows}"
            " ORDER BY m.uid) m",
        )
    with _sql.prepared(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), sum(m.uid),"
            " count(*) FILTER (WHERE m.keywords <> '[]'::jsonb AND NOT m.keywords <@ %s::jsonb),"
            f" string_agg('* ' || ({seq})::text || ' FETCH (' || {line} || E')\\r\\n', '')"
            f" FROM {rows}",
            [json.dumps(list(keywords)), folder_id, first_uid, last_uid, folder_id, account_id],
        )
        count, uid_sum, unknown_keywords, text = cursor.fetchone()
    if unknown_keywords:
        return None
    return FetchLines(count, int(uid_sum or 0), (text or "").encode())
