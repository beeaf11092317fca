"""The store's threading algorithms (RFC 5256 THREAD), pure and table-driven.

Each case gives messages as (uid, Message-ID, References, Subject, day of
month) and the threads expected, written as IMAP writes them (UIDs here),
so a case reads like the RFC's examples.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mailboxes.store.threading import ThreadNode, ThreadRow, message_ids, subject_base, thread
from protocols.imap.cmd_thread import thread_response

Case = tuple[int, str, str, str, int]


def _rows(cases: list[Case]) -> list[ThreadRow]:
    return [
        ThreadRow(uid, mid, tuple(message_ids(refs)), subject, datetime(2026, 1, day, tzinfo=UTC))
        for uid, mid, refs, subject, day in cases
    ]


def _written(threads: list[ThreadNode]) -> str:
    return thread_response(threads, lambda uid: uid).decode()[len("* THREAD ") : -2]


REFERENCES_CASES: list[tuple[str, list[Case], str]] = [
    ("a reply goes under its parent", [(1, "a", "", "hi", 1), (2, "b", "<a>", "Re: hi", 2)], "(1 2)"),
    (
        "two replies are siblings in date order",
        [(1, "a", "", "hi", 1), (2, "b", "<a>", "Re: hi", 3), (3, "c", "<a>", "Re: hi", 2)],
        "(1 (3)(2))",
    ),
    (
        "unrelated messages are threads of their own, oldest first",
        [(1, "a", "", "one", 2), (2, "b", "", "two", 1)],
        "(2)(1)",
    ),
    (
        "a missing parent with two replies stays as a placeholder at the root",
        [(1, "b", "<gone>", "x", 1), (2, "c", "<gone>", "y", 2)],
        "((1)(2))",
    ),
    ("a missing parent with one reply is dropped", [(1, "b", "<gone>", "x", 1)], "(1)"),
    (
        "a missing parent inside a thread gives its replies to the grandparent",
        [(1, "a", "", "x", 1), (2, "c", "<a> <gone>", "y", 2), (3, "d", "<a> <gone>", "z", 3)],
        "(1 (2)(3))",
    ),
    (
        "the chain of References links even messages not in the folder",
        [(1, "a", "", "p", 1), (2, "c", "<a> <b>", "q", 2), (3, "d", "<a> <b> <c>", "r", 3)],
        "(1 2 3)",
    ),
    (
        "a reply arriving before its parent is linked all the same",
        [(1, "b", "<a>", "Re: x", 2), (2, "a", "", "x", 1)],
        "(2 1)",
    ),
    (
        "a link that would close a loop is not made: the first one stands",
        [(1, "a", "<b>", "x", 1), (2, "b", "<a>", "y", 2)],
        "(2 1)",
    ),
    ("a message referring to itself is not its own parent", [(1, "a", "<a>", "x", 1)], "(1)"),
    (
        "a duplicate Message-ID names only the first message",
        [(1, "a", "", "x", 1), (2, "a", "", "y", 2), (3, "c", "<a>", "z", 3)],
        "(1 3)(2)",
    ),
    (
        "roots with the same base subject are gathered, a reply under the original",
        [(1, "a", "", "hello", 1), (2, "b", "", "Re: hello", 2)],
        "(1 2)",
    ),
    (
        "roots with the same subject, neither a reply, go under a placeholder",
        [(1, "a", "", "hello", 1), (2, "b", "", "HELLO", 2)],
        "((1)(2))",
    ),
    ("empty subjects are not gathered", [(1, "a", "", "", 1), (2, "b", "", "", 2)], "(1)(2)"),
]


@pytest.mark.parametrize(("cases", "expected"), [pytest.param(c, e, id=name) for name, c, e in REFERENCES_CASES])
def test_references_threads_like_rfc_5256(cases: list[Case], expected: str) -> None:
    assert _written(thread(_rows(cases), "REFERENCES")) == expected


def test_references_ignores_the_order_rows_come_in() -> None:
    cases = [(1, "a", "", "x", 1), (2, "b", "<a>", "Re: x", 2), (3, "c", "<a> <b>", "Re: x", 3), (4, "d", "", "y", 4)]
    rows = _rows(cases)
    assert thread(rows, "REFERENCES") == thread(list(reversed(rows)), "REFERENCES")


ORDERED_CASES: list[tuple[str, list[Case], str]] = [
    (
        "one subject: the oldest is the root, the rest its children by date",
        [(1, "", "", "x", 3), (2, "", "", "Re: x", 1), (3, "", "", "x", 2)],
        "(2 (3)(1))",
    ),
    (
        "base subjects compare without case; threads by their first date",
        [(1, "", "", "b", 1), (2, "", "", "A", 3), (3, "", "", "Re: a", 4), (4, "", "", "B", 2)],
        "(1 4)(2 3)",
    ),
    ("equal dates keep UID order", [(2, "", "", "x", 1), (1, "", "", "y", 1)], "(1)(2)"),
]


@pytest.mark.parametrize(("cases", "expected"), [pytest.param(c, e, id=name) for name, c, e in ORDERED_CASES])
def test_orderedsubject_groups_by_base_subject(cases: list[Case], expected: str) -> None:
    assert _written(thread(_rows(cases), "ORDEREDSUBJECT")) == expected


def test_node_lists_its_messages_depth_first() -> None:
    tree = thread(_rows([(1, "a", "", "x", 1), (2, "b", "<a>", "y", 2), (3, "c", "<a> <b>", "z", 3)]), "REFERENCES")
    assert [node.uids() for node in tree] == [[1, 2, 3]]


@pytest.mark.parametrize(
    ("subject", "base", "reply"),
    [
        ("hello", "hello", False),
        ("Re: hello", "hello", True),
        ("hello (fwd)", "hello", True),
        ("[fwd: hello]", "hello", True),
        ("[list] hello", "hello", False),
    ],
)
def test_subject_base_says_whether_it_was_a_reply(subject: str, base: str, reply: bool) -> None:
    assert subject_base(subject) == (base, reply)


def test_an_unknown_algorithm_is_refused() -> None:
    with pytest.raises(ValueError):
        thread([], "NONE")  # type: ignore[arg-type]


def test_a_thread_thousands_of_replies_deep_needs_no_recursion() -> None:
    depth = 5000  # far past Python's recursion limit
    rows = [
        ThreadRow(
            n, f"m{n}", tuple(f"m{k}" for k in range(max(1, n - 10), n)), "deep", datetime(2026, 1, 1, tzinfo=UTC)
        )
        for n in range(1, depth + 1)
    ]
    threads = thread(rows, "REFERENCES")
    assert [node.uids() for node in threads] == [list(range(1, depth + 1))]
    assert _written(threads) == "(" + " ".join(map(str, range(1, depth + 1))) + ")"
