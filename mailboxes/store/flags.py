"""STORE: a message's flags and keywords changed (set, add, remove), with
CONDSTORE's UNCHANGEDSINCE (RFC 7162 3.1.3).

On PostgreSQL one statement (:func:`_set_flags_statement`, run by
``messages._one_statement``); on SQLite the same writes step by step in a
transaction (:func:`_set_flags_steps`). Either way only rows whose flags
really change get the folder's next modseq (RFC 7162 3.2), and the folder's
keyword set grows with the keywords set (``messages.note_keywords``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Sequence

from django.db import connection

from ..models import Folder, Message
from . import _sql, events
from ._db import atomic, no_transaction
from .errors import InvalidInput, NoSuchFolder
from .messages import _LOCKED_FOLDER, MAX_FOLDER_KEYWORDS, _one_statement, _split_flags, note_keywords
from .types import FLAG_COLUMNS, FlagChange, FlagOp, StoreFlagsResult, UidRanges


@no_transaction
def set_flags(
    account_id: int,
    folder_id: int,
    ranges: UidRanges,
    op: FlagOp,
    flags: Iterable[str],
    unchangedsince: int | None = None,
) -> StoreFlagsResult:
    """op: 'set' (replace), 'add' or 'remove'. Only rows whose flags really
    change get the new modseq (RFC 7162 3.2). UNCHANGEDSINCE refuses rows
    changed after that modseq and reports them as conflicts.

    On PostgreSQL one statement (_set_flags_statement, _one_statement); on
    SQLite the same writes step by step in a transaction (_set_flags_steps)."""
    if op not in ("set", "add", "remove"):
        raise InvalidInput(f"bad flag operation {op}")
    system, keywords = _split_flags(flags)
    if connection.vendor != "postgresql":
        return _set_flags_steps(account_id, folder_id, ranges, op, system, keywords, unchangedsince)
    result = _one_statement(
        functools.partial(_set_flags_statement, account_id, folder_id, ranges, op, system, keywords, unchangedsince),
        account_id,
        folder_id,
    )
    if result.changed:
        # With its modseq: the session that made the change knows it already (state.Session._changed).
        events.publish_on_commit(account_id, folder_id, result.modseq)
    return result


@atomic
def _set_flags_steps(
    account_id: int,
    folder_id: int,
    ranges: UidRanges,
    op: FlagOp,
    system: dict[str, bool],
    keywords: list[str],
    unchangedsince: int | None,
) -> StoreFlagsResult:
    """SQLite: the folder row read (and locked, on PostgreSQL), the rows changed,
    the folder's modseq raised if any did. Adding or
    removing system flags only (STORE +FLAGS (\\Seen), FETCH BODY[]) is one
    set-based UPDATE ... RETURNING; keywords and replacing are read, worked
    out here and written with one UPDATE per resulting set of flags."""
    message = _sql.table(Message)
    with connection.cursor() as cursor:
        modseq = _sql.highestmodseq_locked(cursor, account_id, folder_id) + 1
        uids, params = _sql.uids_where(ranges)
        where, params = f"folder_id = %s AND {uids}", [folder_id, *params]
        conflicts: list[int] = []
        if unchangedsince is not None:
            cursor.execute(
                f"SELECT uid FROM {message} WHERE {where} AND modseq > %s ORDER BY uid", [*params, unchangedsince]
            )
            conflicts = [uid for (uid,) in cursor.fetchall()]
            where, params = f"{where} AND modseq <= %s", [*params, unchangedsince]
        if op != "set" and not keywords:
            changed = _switch_flags(cursor, where, params, {column: op == "add" for column in system}, modseq)
        else:
            changed = _rewrite_flags(cursor, where, params, op, system, keywords, modseq)
        if changed and op != "remove":
            note_keywords(cursor, folder_id, keywords)
        if not changed:
            return StoreFlagsResult([], modseq - 1, conflicts)
        cursor.execute(f"UPDATE {_sql.table(Folder)} SET highestmodseq = %s WHERE id = %s", [modseq, folder_id])
    events.publish_on_commit(account_id, folder_id, modseq)
    return StoreFlagsResult(changed, modseq, conflicts)


#: Each keyword of a JSON list (parameter) that `within` does not hold, in the list's order, as a JSON list.
_MISSING_KEYWORDS = (
    "(SELECT COALESCE(jsonb_agg(k ORDER BY n), '[]') FROM jsonb_array_elements({given}) WITH ORDINALITY AS t (k, n) "
    "WHERE NOT {within} @> jsonb_build_array(k))"
)


def _set_flags_statement(  # type: ignore[no-untyped-def]
    account_id: int,
    folder_id: int,
    ranges: UidRanges,
    op: FlagOp,
    system: dict[str, bool],
    keywords: list[str],
    unchangedsince: int | None,
    cursor,
) -> StoreFlagsResult | None:
    """PostgreSQL: any STORE as one statement (one round trip, atomic without
    BEGIN/COMMIT); None, with nothing written, when the folder changed
    between the statement's snapshot and its lock (_LOCKED_FOLDER).

    Each row's new flags are worked out in SQL from the ones it has (keywords
    compared as sets: containment both ways; added ones after those it
    holds, in the order given); only rows whose flags differ, and that
    UNCHANGEDSINCE does not refuse, are written, at the folder's next modseq.
    The folder's keyword set grows as note_keywords grows it, past
    MAX_FOLDER_KEYWORDS refused (InvalidInput) with nothing written; its
    modseq is raised only if a row changed."""
    folder, message = _sql.table(Folder), _sql.table(Message)
    uids, uid_params = _sql.uids_where(ranges)
    given = json.dumps(keywords)
    columns = list(FLAG_COLUMNS.values())
    params: list[object] = [folder_id, account_id]
    if op == "set":
        new = ["TRUE" if column in system else "FALSE" for column in columns]
        new_keywords, params = "%s::jsonb", [*params, given]
    else:
        new = [("TRUE" if op == "add" else "FALSE") if column in system else f"m.{column}" for column in columns]
        new_keywords = "m.keywords"
        if keywords and op == "add":
            missing = _MISSING_KEYWORDS.format(given="%s::jsonb", within="m.keywords")
            new_keywords, params = f"m.keywords || {missing}", [*params, given]
        elif keywords:
            kept = _MISSING_KEYWORDS.format(given="m.keywords", within="%s::jsonb")
            new_keywords, params = kept, [*params, given]
    conflict = "FALSE"
    if unchangedsince is not None:
        conflict, params = "m.modseq > %s", [*params, unchangedsince]
    params += uid_params
    grown = "verdict.keywords"
    if keywords and op != "remove":
        missing = _MISSING_KEYWORDS.format(given="%s::jsonb", within="verdict.keywords")
        grown, params = f"verdict.keywords || {missing}", [*params, given]
    params.append(MAX_FOLDER_KEYWORDS)
    cursor.execute(
        f"WITH {_LOCKED_FOLDER.format(folder=folder)}, "
        f"cur AS MATERIALIZED (SELECT m.id, m.uid, {', '.join(f'm.{column} AS old_{column}' for column in columns)}, "
        f"  m.keywords AS old_keywords, "
        f"  {', '.join(f'{value} AS new_{column}' for value, column in zip(new, columns, strict=True))}, "
        f"  {new_keywords} AS new_keywords, {conflict} AS conflict "
        f"  FROM {message} m WHERE m.folder_id = (SELECT id FROM box) AND {uids}), "
        f"diff AS (SELECT *, ({', '.join(f'old_{column}' for column in columns)}) "
        f"  IS DISTINCT FROM ({', '.join(f'new_{column}' for column in columns)}) "
        f"  OR NOT (new_keywords @> old_keywords AND old_keywords @> new_keywords) AS differs FROM cur), "
        f"grown AS MATERIALIZED (SELECT verdict.*, {grown} AS grown, "
        f"  EXISTS (SELECT 1 FROM diff WHERE differs AND NOT conflict) AS changing FROM verdict), "
        f"plan AS (SELECT *, changing AND jsonb_array_length(grown) > GREATEST(%s, jsonb_array_length(keywords)) "
        f"  AS too_many FROM grown), "
        f"changed AS (UPDATE {message} m SET {', '.join(f'{column} = diff.new_{column}' for column in columns)}, "
        f"  keywords = diff.new_keywords, modseq = plan.modseq FROM diff, plan "
        f"  WHERE m.id = diff.id AND diff.differs AND NOT diff.conflict AND NOT plan.stale AND NOT plan.too_many "
        f"  RETURNING m.uid, {', '.join(f'm.{column}' for column in columns)}, m.keywords), "
        f"bump AS (UPDATE {folder} f SET highestmodseq = plan.modseq, keywords = plan.grown FROM plan "
        f"  WHERE f.id = plan.id AND EXISTS (SELECT 1 FROM changed)) "
        f"SELECT 0, modseq, stale, too_many, {', '.join(['NULL::boolean'] * (len(columns) - 2))}, NULL::jsonb FROM plan "
        f"UNION ALL SELECT 1, uid, {_sql.FLAGS_SQL}, keywords FROM changed "
        f"UNION ALL SELECT 2, uid, {', '.join(['NULL::boolean'] * len(columns))}, NULL::jsonb FROM diff WHERE conflict "
        f"ORDER BY 1, 2",
        params,
    )
    rows = cursor.fetchall()
    if not rows or rows[0][0] != 0:  # the first row, the folder's, tagged 0
        raise NoSuchFolder("that folder no longer exists")
    _kind, modseq, stale, too_many, *_nothing = rows[0]
    if stale:
        return None
    if too_many:
        raise InvalidInput("too many keywords in this folder")
    changed = [FlagChange(uid, _sql.flag_set(flags, kws), modseq) for kind, uid, *flags, kws in rows if kind == 1]
    conflicts = [uid for kind, uid, *_flags in rows if kind == 2]
    if not changed:
        return StoreFlagsResult([], modseq - 1, conflicts)
    return StoreFlagsResult(changed, modseq, conflicts)


_SET_ALL_FLAGS = ", ".join(f"{column} = %s" for column in FLAG_COLUMNS.values())


def _switch_flags(  # type: ignore[no-untyped-def]
    cursor,
    where: str,
    params: Sequence[object],
    values: dict[str, bool],
    modseq: int,
) -> list[FlagChange]:
    """Set the given flag columns where any of them differs: one UPDATE ... RETURNING."""
    if not values:
        return []
    sets = ", ".join(f"{column} = %s" for column in values)
    differs = " OR ".join(f"{column} <> %s" for column in values)
    cursor.execute(
        f"UPDATE {_sql.table(Message)} SET {sets}, modseq = %s WHERE {where} AND ({differs}) "
        f"RETURNING uid, {_sql.FLAGS_SQL}, keywords",
        [*values.values(), modseq, *params, *values.values()],
    )
    return sorted(
        (FlagChange(uid, _sql.flag_set(columns, kws), modseq) for uid, *columns, kws in cursor.fetchall()),
        key=lambda change: change.uid,
    )


def _rewrite_flags(  # type: ignore[no-untyped-def]
    cursor,
    where: str,
    params: Sequence[object],
    op: FlagOp,
    system: dict[str, bool],
    keywords: list[str],
    modseq: int,
) -> list[FlagChange]:
    """Any flag operation, worked out row by row; rows ending with the same
    flags are written by one UPDATE."""
    message = _sql.table(Message)
    cursor.execute(f"SELECT id, uid, {_sql.FLAGS_SQL}, keywords FROM {message} WHERE {where} ORDER BY uid", params)
    changed: list[FlagChange] = []
    groups: dict[tuple[tuple[bool, ...], tuple[str, ...]], list[int]] = {}
    for row_id, uid, *columns, raw in cursor.fetchall():
        before = dict(zip(FLAG_COLUMNS.values(), map(bool, columns)))
        kws = _sql.keyword_list(raw)
        if op == "set":
            after, new = {column: system.get(column, False) for column in before}, list(keywords)
        elif op == "add":
            after, new = {**before, **system}, kws + [k for k in keywords if k not in kws]
        else:
            after, new = {c: on and c not in system for c, on in before.items()}, [k for k in kws if k not in keywords]
        flags = _sql.flag_set(after.values(), new)
        if flags != _sql.flag_set(before.values(), kws):
            changed.append(FlagChange(uid, flags, modseq))
            groups.setdefault((tuple(after.values()), tuple(new)), []).append(row_id)
    field = Message._meta.get_field("keywords")
    for (columns, state), ids in groups.items():
        for start in range(0, len(ids), 1000):
            chunk = ids[start : start + 1000]
            cursor.execute(
                f"UPDATE {message} SET {_SET_ALL_FLAGS}, keywords = %s, modseq = %s "
                f"WHERE id IN ({_sql.placeholders(len(chunk))})",
                [*columns, field.get_db_prep_save(list(state), connection), modseq, *chunk],
            )
    return changed
