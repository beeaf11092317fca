"""SEARCH, UID SEARCH (RFC 3501 6.4.4), ESEARCH return options (RFC 4731),
SAVE and ``$`` (RFC 5182 SEARCHRES), MODSEQ (RFC 7162 3.1.5) and SORT
(RFC 5256), answered by the database.

The parser's search tree is translated to the store's criteria; message
numbers become UID ranges through the session's view, and every search is
limited to the UIDs the client has been told about. Plain SEARCH results
are read and written in pages, so a match on every message of a huge
folder never sits in memory as one response.

SORT reads the sort facts of every match in one query and orders them in
Python (:mod:`.sorting`), since the base subject of RFC 5256 is not
something the database can index; with ``RETURN (...)`` (ESORT, RFC 5267)
it answers with one ESEARCH response instead.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, TypeVar

from mailboxes import store
from mailboxes.store import search as criteria

from . import cmd_context
from . import commands as c
from . import search as keys
from .encoder import esearch_response
from .objectid import sha256_of_email_id
from .replies import Done
from .sequence import Saved, SequenceSet
from .sorting import sort_uids
from .view import MailboxView

if TYPE_CHECKING:
    from .state import Session

R = TypeVar("R")

#: UIDs per store call for a plain SEARCH.
PAGE: Final = 50_000
#: Numbers per write while streaming a SEARCH response line.
WRITE_CHUNK: Final = 5_000


def translate(key: keys.SearchKey, view: MailboxView) -> criteria.Criterion:
    """The store's criterion for one search key (recursively)."""
    if isinstance(key, keys.All):
        return criteria.All()
    if isinstance(key, keys.Flag):
        if key.flag.lower() == "\\recent":
            # Session state, not stored (RFC 3501 2.3.2): the view knows its own.
            recent = criteria.Uids(tuple(view.recent))
            return recent if key.present else criteria.Not(recent)
        return criteria.Flag(key.flag, key.present)
    if isinstance(key, keys.Header):
        return criteria.Header(key.field, key.value)
    if isinstance(key, keys.Body):
        return criteria.Text(key.value, "body")
    if isinstance(key, keys.Text):
        return criteria.Text(key.value, "text")
    if isinstance(key, keys.Date):
        return criteria.Date("sent" if key.sent else "internal", key.op, key.date)
    if isinstance(key, keys.Size):
        return criteria.Size(key.op, key.size)
    if isinstance(key, keys.Sequence):
        if isinstance(key.set, Saved):
            # RFC 5182 2.1: "$" is the saved messages in SEARCH and UID SEARCH alike.
            return criteria.Uids(tuple(view.saved))
        if key.uid:
            return criteria.Uids(tuple(view.uid_ranges_for_uids(key.set)))
        # In SEARCH, numbers past the end just match nothing.
        ranges = [(lo, min(hi, view.exists)) for lo, hi in key.set.resolve(view.exists) if lo <= view.exists]
        return criteria.Uids(tuple((view.uids[lo - 1], view.uids[hi - 1]) for lo, hi in ranges if lo >= 1))
    if isinstance(key, keys.ModSeq):
        return criteria.ModSeq(key.modseq)
    if isinstance(key, keys.ObjectId):
        sha = sha256_of_email_id(key.value) if key.kind == "EMAILID" else None
        # RFC 8474 6. THREADID is NIL for every message here, and an id not of
        # our form names no message: both match none (no bytes hash to "").
        return criteria.Content(sha or "")
    if isinstance(key, keys.Not):
        return criteria.Not(translate(key.key, view))
    if isinstance(key, keys.Or):
        return criteria.Or(translate(key.left, view), translate(key.right, view))
    if isinstance(key, keys.And):
        return criteria.And(tuple(translate(k, view) for k in key.keys))
    raise TypeError(f"unknown search key {key!r}")


def uses_modseq(key: keys.SearchKey) -> bool:
    if isinstance(key, keys.ModSeq):
        return True
    if isinstance(key, keys.Not):
        return uses_modseq(key.key)
    if isinstance(key, keys.Or):
        return uses_modseq(key.left) or uses_modseq(key.right)
    if isinstance(key, keys.And):
        return any(uses_modseq(k) for k in key.keys)
    return False


def bounded(key: keys.SearchKey, view: MailboxView) -> criteria.Criterion:
    """Only messages in the view: none above its highest UID (see view.py)."""
    return criteria.And((criteria.Uids(((1, view.max_uid),)), translate(key, view)))


def _numbers(uids: list[int], view: MailboxView, by_uid: bool) -> list[int]:
    if by_uid:
        return uids
    return [seq for seq in map(view.seq_of, uids) if seq is not None]


async def _stream(s: Session, head: bytes, numbers: list[int]) -> None:
    for start in range(0, len(numbers), WRITE_CHUNK):
        chunk = numbers[start : start + WRITE_CHUNK]
        await s.io.send(head + b"".join(b" %d" % n for n in chunk))
        head = b""
    if head:
        await s.io.send(head)


async def search(s: Session, cmd: c.Search) -> Done:
    view = s.selected
    with_modseq = uses_modseq(cmd.criteria)
    if with_modseq:
        s.enable_condstore()
    if s.rev2 and cmd.returns is None:
        # RFC 9051 6.4.4: a rev2 SEARCH with no RETURN is RETURN (ALL), answered by ESEARCH.
        cmd = dataclasses.replace(cmd, returns=frozenset({"ALL"}))
    if cmd.returns is not None:
        query = bounded(cmd.criteria, view)  # reads the old "$" first: SEARCH RETURN (SAVE) $ ...
        if "SAVE" in cmd.returns:
            view.saved = []  # RFC 5182 2.1: stays empty if this SEARCH fails
        return await _esearch(s, cmd, view, query, with_modseq) or Done()
    highest = 0
    after = 0
    head = b"* SEARCH"
    while view.exists:
        criterion = bounded(cmd.criteria, view)
        if cmd.uid and not with_modseq:  # the UIDs as the store writes them
            text = await s.call(
                store.search_uid_text, s.account_id, view.folder_id, criterion, after_uid=after, limit=PAGE
            )
            await s.io.send(head + text.text)
            count, last = text.count, text.last
        else:
            page = await s.call(
                store.search_uids,
                s.account_id,
                view.folder_id,
                criterion,
                after_uid=after,
                limit=PAGE,
                modseq=with_modseq,
            )
            await _stream(s, head, _numbers(page.uids, view, cmd.uid))
            highest = max(highest, page.highest_modseq)
            count, last = len(page.uids), page.uids[-1] if page.uids else 0
        head = b""
        if count < PAGE:
            break
        after = last
    tail = b" (MODSEQ %d)" % highest if with_modseq and highest else b""
    await s.io.send(head + tail + b"\r\n")
    return Done()


async def _esearch(
    s: Session, cmd: c.Search, view: MailboxView, query: criteria.Criterion, with_modseq: bool
) -> Done | None:
    """RFC 4731 3.1: only the results asked for, in one ESEARCH response.

    SAVE (RFC 5182 2.1) keeps every match in ``view.saved``, except that with
    only MIN and/or MAX beside it it keeps just those; SAVE alone sends no
    ESEARCH response at all.
    """
    returns = cmd.returns or frozenset()
    reported = returns - {"SAVE"}
    saving = "SAVE" in returns
    save_all = saving and (not reported or bool(reported & {"ALL", "COUNT"}))
    count, lo, hi, highest = 0, None, None, 0
    everything: SequenceSet | None = None
    numbers: list[int] = []
    matches: list[int] = []
    if view.exists and ("ALL" in reported or save_all or cmd.partial or "UPDATE" in returns):
        page = await s.call(store.search_uids, s.account_id, view.folder_id, query, modseq=with_modseq)
        if saving:
            view.saved = SequenceSet.from_ints(page.uids).resolve(0)
        matches, numbers = page.uids, _numbers(page.uids, view, cmd.uid)
        everything, count, highest = SequenceSet.from_ints(numbers), len(numbers), page.highest_modseq
        if numbers:
            lo, hi = numbers[0], numbers[-1]
    elif view.exists:
        # COUNT, MIN and MAX need no list of matches: one aggregate query.
        stats = await s.call(store.search_stats, s.account_id, view.folder_id, query)
        count, lo, hi, highest = stats.count, stats.min_uid, stats.max_uid, stats.highest_modseq
        shown = {uid for uid, wanted in ((lo, "MIN" in reported), (hi, "MAX" in reported)) if wanted and uid}
        if with_modseq and shown and "COUNT" not in reported:
            # RFC 7162 3.1.5: MODSEQ is the highest of the messages returned,
            # here only the MIN and/or MAX one.
            page = await s.call(
                store.search_uids,
                s.account_id,
                view.folder_id,
                criteria.Uids(tuple((uid, uid) for uid in sorted(shown))),
                modseq=True,
            )
            highest = page.highest_modseq
        if saving:
            picked = {uid for uid, wanted in ((lo, "MIN" in reported), (hi, "MAX" in reported)) if wanted and uid}
            view.saved = [(uid, uid) for uid in sorted(picked)]
        if not cmd.uid:
            lo = view.seq_of(lo) if lo is not None else None
            hi = view.seq_of(hi) if hi is not None else None
    done = cmd_context.remember(s, cmd.tag, cmd.uid, cmd.criteria, None, matches) if "UPDATE" in returns else None
    if not reported:
        return done
    line = esearch_response(
        cmd.tag,
        uid=cmd.uid,
        min=lo if "MIN" in reported else None,
        max=hi if "MAX" in reported else None,
        count=count if "COUNT" in reported else None,
        all=everything if "ALL" in reported else None,
    )
    if cmd.partial:
        line = line[:-2] + cmd_context.partial_item(numbers, cmd.partial, ordered=False) + b"\r\n"
    if with_modseq and highest:
        line = line[:-2] + b" MODSEQ %d\r\n" % highest  # RFC 7162 3.1.5
    await s.io.send(line)
    return done


async def matching_rows(
    s: Session, read: Callable[[int, int, criteria.Criterion], list[R]], key: keys.SearchKey
) -> list[R]:
    """What ``read`` (a store call taking account, folder and criterion)
    gives for the selected mailbox's matches of ``key`` (SORT, THREAD)."""
    view = s.selected
    if uses_modseq(key):
        s.enable_condstore()
    if not view.exists:
        return []
    return await s.call(read, s.account_id, view.folder_id, bounded(key, view))


async def sort(s: Session, cmd: c.Sort) -> Done:
    view = s.selected
    rows: list[store.SortRow] = await matching_rows(s, store.sort_rows, cmd.criteria)
    uids = sort_uids(rows, cmd.keys)
    numbers = _numbers(uids, view, cmd.uid)
    if cmd.returns is not None:
        # RFC 5267 3.2 (ESORT): MIN and MAX are the first and last in sort
        # order, ALL lists the matches in sort order; 4.4: PARTIAL too.
        line = esearch_response(
            cmd.tag,
            uid=cmd.uid,
            min=numbers[0] if numbers and "MIN" in cmd.returns else None,
            max=numbers[-1] if numbers and "MAX" in cmd.returns else None,
            count=len(numbers) if "COUNT" in cmd.returns else None,
            all=SequenceSet.in_order(numbers) if "ALL" in cmd.returns else None,
        )
        if cmd.partial:
            line = line[:-2] + cmd_context.partial_item(numbers, cmd.partial, ordered=True) + b"\r\n"
        await s.io.send(line)
        if "UPDATE" in cmd.returns:
            return cmd_context.remember(s, cmd.tag, cmd.uid, cmd.criteria, cmd.keys, uids) or Done()
        return Done()
    await _stream(s, b"* SORT", numbers)
    await s.io.send(b"\r\n")
    return Done()
