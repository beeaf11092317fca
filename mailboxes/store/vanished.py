"""The UIDs expunged from a folder since a modseq (QRESYNC, RFC 7162 3.2).

Every removal leaves a tombstone (``Expunged``: folder, UID, the modseq of
the expunge), and tombstones live as long as their folder, so the answer is
exact: a client resynchronising from any modseq of this UIDVALIDITY learns
every UID that went away since, and none that did not.
"""

from __future__ import annotations

from django.db import connection

from ..models import Expunged, Folder
from . import _sql
from ._db import no_transaction
from .types import UidRanges

__all__ = ["vanished_since"]


@no_transaction
def vanished_since(account_id: int, folder_id: int, modseq: int, ranges: UidRanges) -> list[int]:
    """UIDs within ``ranges`` expunged at a modseq above ``modseq``, ascending.

    One statement on the tombstones' (folder, modseq) index; a folder that
    is not the account's has none. (``uid`` is the tombstone's: folders have no such column.)
    """
    uids, params = _sql.uids_where(ranges)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.uid FROM {_sql.table(Expunged)} e JOIN {_sql.table(Folder)} f ON f.id = e.folder_id"
            f" WHERE e.folder_id = %s AND f.owner_id = %s AND e.modseq > %s AND {uids}"
            f" ORDER BY e.uid",
            [folder_id, account_id, modseq, *params],
        )
        return [row[0] for row in cursor.fetchall()]
