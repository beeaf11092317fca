"""THREAD and UID THREAD (RFC 5256 section 4).

The store reads the threading facts of every match in one query
(:func:`mailboxes.store.thread_rows`) and links them with the store's one
threading implementation (:func:`mailboxes.store.threading.thread`), which
the webmail's conversations share; this module only writes the tree in
IMAP's nested-parenthesis form.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from mailboxes import store
from mailboxes.store.threading import ThreadNode
from mailboxes.store.threading import thread as link_threads

from . import commands as c
from .cmd_search import matching_rows
from .replies import Done

if TYPE_CHECKING:
    from .state import Session

__all__ = ["thread", "thread_response"]


def _members(node: ThreadNode, number: Callable[[int], int]) -> bytes:
    """thread-members / thread-nested (RFC 5256 4): a message followed by
    its one reply inline, or by each of several replies in parentheses; a
    missing parent is just its replies, each in parentheses. Written with a
    stack, not recursion: a thread may be thousands of replies deep."""
    out: list[bytes] = []
    stack: list[ThreadNode | bytes] = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, bytes):
            out.append(item)
            continue
        if item.uid is not None:
            out.append(b"%d" % number(item.uid))
            if item.children:
                out.append(b" ")
        if item.uid is not None and len(item.children) == 1:
            stack.append(item.children[0])
            continue
        for child in reversed(item.children):
            stack.extend((b")", child, b"("))
    return b"".join(out)


def thread_response(threads: Sequence[ThreadNode], number: Callable[[int], int]) -> bytes:
    """``* THREAD (..)(..)`` with each UID written as ``number(uid)``."""
    return b"* THREAD " + b"".join(b"(" + _members(node, number) + b")" for node in threads) + b"\r\n"


async def thread(s: Session, cmd: c.Thread) -> Done:
    view = s.selected
    threads = link_threads(await matching_rows(s, store.thread_rows, cmd.criteria), cmd.algorithm)

    def number(uid: int) -> int:
        return uid if cmd.uid else view.seq_of(uid) or 0

    await s.io.send(thread_response(threads, number) if threads else b"* THREAD\r\n")
    return Done()
