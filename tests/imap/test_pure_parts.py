"""The pure pieces behind FETCH, LIST, SORT and the mailbox view, table-driven."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import pytest

from mailboxes.mime import analyze
from mailboxes.store import Changes, FlagChange
from mailboxes.store.threading import base_subject
from protocols.imap.binary import binary_bytes
from protocols.imap.commands import SortKey
from protocols.imap.contexts import LiveContext, update_line
from protocols.imap.fetch import Section
from protocols.imap.mailbox_list import compile_pattern, list_entries, lsub_entries
from protocols.imap.search import All
from protocols.imap.sections import header_fields, partial, section_bytes
from protocols.imap.sequence import STAR, SequenceSet
from protocols.imap.sorting import sort_uids
from protocols.imap.view import BadSequence, MailboxView
from protocols.imap.wildcard import MAX_PATTERN, Pattern, PatternTooLong

# -- sections ------------------------------------------------------------------

HEADER = b"From: a@b\r\nSubject: hi\r\n there\r\nX-Tag: 1\r\nx-tag: 2\r\n\r\n"


@pytest.mark.parametrize(
    ("names", "exclude", "expected"),
    [
        (("subject",), False, b"Subject: hi\r\n there\r\n\r\n"),
        (("X-TAG",), False, b"X-Tag: 1\r\nx-tag: 2\r\n\r\n"),
        (("Nothing",), False, b"\r\n"),
        (("subject", "x-tag"), True, b"From: a@b\r\n\r\n"),
    ],
)
def test_header_fields_keep_order_continuations_and_the_blank_line(names, exclude, expected) -> None:  # type: ignore[no-untyped-def]
    assert header_fields(HEADER, names, exclude=exclude) == expected


NESTED = (
    b"Subject: outer\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n"
    b"--b\r\nContent-Type: text/plain\r\n\r\none\r\n"
    b"--b\r\nContent-Type: message/rfc822\r\n\r\nSubject: inner\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n"
    b"--c\r\n\r\ninner plain\r\n--c\r\nContent-Type: text/html\r\n\r\n<p>inner</p>\r\n--c--\r\n"
    b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8=\r\n--b--\r\n"
)
PARSED = analyze(NESTED)


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        (Section(), NESTED),
        (Section((), "HEADER"), NESTED[: PARSED.header_bytes]),
        (Section((), "TEXT"), NESTED[PARSED.header_bytes :]),
        (Section((1,)), b"one"),
        (Section((1,), "MIME"), b"Content-Type: text/plain\r\n\r\n"),
        (Section((2,), "HEADER"), b"Subject: inner\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n"),
        (Section((2,), "HEADER.FIELDS", ("subject",)), b"Subject: inner\r\n\r\n"),
        (Section((2, 1)), b"inner plain"),
        (Section((2, 2)), b"<p>inner</p>"),
        (Section((2, 2), "MIME"), b"Content-Type: text/html\r\n\r\n"),
        (Section((3,)), b"aGVsbG8="),
        (Section((4,)), None),
        (Section((1,), "TEXT"), None),
        (Section((2, 3)), None),
    ],
)
def test_sections_are_cut_from_the_stored_offsets(section: Section, expected: bytes | None) -> None:
    assert section_bytes(section, NESTED, PARSED.structure, PARSED.header_bytes) == expected


def test_binary_undoes_the_transfer_encoding_of_leaf_parts_only() -> None:
    assert binary_bytes((3,), NESTED, PARSED.structure) == b"hello"
    # Composite parts have identity encodings (RFC 2045 6.4): as BODY[n]; BINARY[] is the message.
    assert binary_bytes((2,), NESTED, PARSED.structure) == section_bytes(Section((2,)), NESTED, PARSED.structure, 0)
    assert binary_bytes((), NESTED, PARSED.structure) == NESTED
    assert binary_bytes((4,), NESTED, PARSED.structure) is None


@pytest.mark.parametrize(("window", "expected"), [(None, b"abcdef"), ((0, 3), b"abc"), ((4, 10), b"ef"), ((9, 2), b"")])
def test_partial_fetch_windows(window, expected) -> None:  # type: ignore[no-untyped-def]
    assert partial(b"abcdef", window) == expected


# -- LIST ------------------------------------------------------------------------


@dataclass
class Folder:
    name: str
    special_use: str = ""
    subscribed: bool = True


FOLDERS = [Folder("INBOX"), Folder("INBOX/Sub"), Folder("Sent", "\\Sent"), Folder("a/b/c", subscribed=False)]


@pytest.mark.parametrize(
    ("reference", "pattern", "names"),
    [
        ("", "*", ["INBOX", "INBOX/Sub", "Sent", "a", "a/b", "a/b/c"]),
        ("", "%", ["INBOX", "Sent", "a"]),
        ("", "inbox", ["INBOX"]),
        ("", "Inbox/%", ["INBOX/Sub"]),
        ("a/", "%", ["a/b"]),
        ("a", "/b/%", ["a/b/c"]),
        ("", "S*", ["Sent"]),
        ("", "s*", []),
    ],
)
def test_list_patterns_follow_rfc_3501(reference: str, pattern: str, names: list[str]) -> None:
    assert [e.name for e in list_entries(FOLDERS, reference, [pattern])] == names


def test_list_marks_levels_without_a_folder_noselect_and_children() -> None:
    entries = {e.name: e.attributes for e in list_entries(FOLDERS, "", ["*"], extended=True)}
    assert entries["a"] == ["\\NonExistent", "\\Noselect", "\\HasChildren"]
    assert entries["INBOX"] == ["\\HasChildren"]
    assert entries["Sent"] == ["\\HasNoChildren", "\\Sent"]


def test_lsub_lists_an_unsubscribed_parent_only_for_a_trailing_percent() -> None:
    folders = [Folder("x", subscribed=False), Folder("x/y")]
    assert [(e.name, e.attributes) for e in lsub_entries(folders, "", "%")] == [("x", ["\\Noselect"])]
    assert [e.name for e in lsub_entries(folders, "", "*")] == ["x/y"]


def test_pattern_wildcards_do_not_leak_into_regex_syntax() -> None:
    assert compile_pattern("", "a.b(c)%").matches("a.b(c)d")
    assert not compile_pattern("", "a.b").matches("axb")


def _reference_match(pattern: str, name: str) -> bool:
    """RFC 3501 6.3.8 by brute force: try every split of the name."""
    if not pattern:
        return not name
    head, rest = pattern[0], pattern[1:]
    if head == "*":
        return any(_reference_match(rest, name[i:]) for i in range(len(name) + 1))
    if head == "%":
        stop = name.find("/")
        return any(_reference_match(rest, name[i:]) for i in range((len(name) if stop < 0 else stop) + 1))
    return bool(name) and name[0] == head and _reference_match(rest, name[1:])


def test_the_linear_matcher_agrees_with_brute_force_on_every_short_pattern_and_name() -> None:
    alphabet = "a/*%"
    patterns = [""] + [p for n in range(1, 5) for p in map("".join, itertools.product(alphabet, repeat=n))]
    names = [""] + [m for n in range(1, 5) for m in map("".join, itertools.product("ab/", repeat=n))]
    for pattern in patterns:
        compiled = Pattern(pattern)
        for name in names:
            assert compiled.matches(name) == _reference_match(pattern, name), (pattern, name)


@pytest.mark.parametrize("wildcard", ["*", "%"])
def test_a_hundred_wildcards_match_a_thousand_character_name_in_one_step_per_character(wildcard: str) -> None:
    # Issue 15 item 4: steps are counted, not timed; a backtracking matcher
    # would take about len(name) ** 100 of them.
    for size in (1000, 2000):
        name = "a" * size
        miss, hit = Pattern((wildcard + "a") * 99 + wildcard + "b"), Pattern((wildcard + "a") * 100)
        assert not miss.matches(name) and hit.matches(name)
        assert miss.steps == hit.steps == size


def test_a_pattern_longer_than_the_limit_is_refused() -> None:
    Pattern("*" * MAX_PATTERN)
    with pytest.raises(PatternTooLong):
        Pattern("*" * (MAX_PATTERN + 1))
    with pytest.raises(PatternTooLong):
        list_entries(FOLDERS, "a" * MAX_PATTERN, ["%"])


# -- the view ------------------------------------------------------------------


def _view(uids: list[int]) -> MailboxView:
    return MailboxView.create(1, "INBOX", 7, max(uids, default=0) + 1, 10, uids, readonly=False)


def test_expunge_numbers_follow_the_rfc_3501_example() -> None:
    view = _view(list(range(1, 12)))
    assert view.expunge([3, 4, 7, 11]) == b"* 3 EXPUNGE\r\n* 3 EXPUNGE\r\n* 5 EXPUNGE\r\n* 8 EXPUNGE\r\n"
    assert list(view.uids) == [1, 2, 5, 6, 8, 9, 10]


def test_many_expunges_at_once_keep_the_order() -> None:
    view = _view(list(range(1, 101)))
    out = view.expunge(range(2, 101, 2))
    assert out.count(b"EXPUNGE") == 50 and list(view.uids) == list(range(1, 101, 2))


@pytest.mark.parametrize(
    ("ranges", "expected"),
    [
        (((1, 2),), [(10, 20)]),
        (((3, STAR),), [(30, 40)]),
        (((STAR, 1),), [(10, 40)]),
        (((2, 2), (4, 4)), [(20, 20), (40, 40)]),
    ],
)
def test_sequence_numbers_become_uid_ranges(ranges, expected) -> None:  # type: ignore[no-untyped-def]
    assert _view([10, 20, 30, 40]).uid_ranges_for_seqs(SequenceSet(ranges)) == expected


@pytest.mark.parametrize("ranges", [((5, 5),), ((0, 1),), ((1, STAR),)])
def test_numbers_past_the_end_are_bad(ranges) -> None:  # type: ignore[no-untyped-def]
    view = _view([10, 20, 30, 40]) if ranges != ((1, STAR),) else _view([])
    with pytest.raises(BadSequence):
        view.uid_ranges_for_seqs(SequenceSet(ranges))


def test_uid_sets_are_clipped_to_the_uids_the_client_knows() -> None:
    view = _view([10, 20, 30])
    assert view.uid_ranges_for_uids(SequenceSet(((25, STAR),))) == [(25, 30)]
    assert view.uid_ranges_for_uids(SequenceSet(((50, STAR),))) == [(30, 30)]
    assert view.uid_ranges_for_uids(SequenceSet(((40, 60),))) == []


def test_expunges_wait_while_new_messages_and_flags_are_reported() -> None:
    view = _view([1, 2, 3])
    changes = Changes(14, 5, [FlagChange(3, frozenset({"\\Seen"}), 12), FlagChange(4, frozenset(), 13)], [2])
    out = view.apply(changes, expunge_ok=False, condstore=True)
    assert out == b"* 3 FETCH (UID 3 FLAGS (\\Seen) MODSEQ (12))\r\n* 4 EXISTS\r\n"
    assert view.seq_of(2) == 2 and view.highestmodseq == 14
    assert view.apply(Changes(14, 5, [], []), expunge_ok=True, condstore=True) == b"* 2 EXPUNGE\r\n"
    assert list(view.uids) == [1, 3, 4]


def test_own_changes_are_not_reported_again() -> None:
    view = _view([1, 2])
    view.note_own_change(11, True)  # contiguous: the view just moves on
    assert view.highestmodseq == 11
    view.note_own_change(13, True)  # someone else has 12
    changes = Changes(
        13, 3, [FlagChange(1, frozenset({"\\Flagged"}), 12), FlagChange(2, frozenset({"\\Seen"}), 13)], []
    )
    assert view.apply(changes, expunge_ok=True, condstore=False) == b"* 1 FETCH (UID 1 FLAGS (\\Flagged))\r\n"
    assert view.own_modseqs == set()


# -- SORT ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("subject", "base"),
    [
        ("Re: hello", "hello"),
        ("RE: Re: re:hello", "hello"),
        ("Fwd: [list] Re: hello (fwd)", "hello"),
        ("[fwd: hello]", "hello"),
        ("[PATCH] hello", "hello"),
        ("[only a blob]", "[only a blob]"),
        ("Re:   spaced    out  ", "spaced out"),
        ("Fw[tag]: x", "x"),
        ("Reply: y", "Reply: y"),
    ],
)
def test_base_subject_follows_rfc_5256(subject: str, base: str) -> None:
    assert base_subject(subject) == base


@dataclass(frozen=True)
class Row:
    uid: int
    subject: str
    size: int
    from_: tuple[str | None, str | None, str | None] = (None, None, None)
    to: tuple[str | None, str | None, str | None] = (None, None, None)
    cc: tuple[str | None, str | None, str | None] = (None, None, None)
    sent_date: None = None
    internal_date: None = None


def test_sort_keys_combine_with_reverse_and_ties_keep_uid_order() -> None:
    rows = [
        Row(1, "b", 10, ("Zed", "zed", "x")),
        Row(2, "Re: a", 30, (None, "Amy", "x")),
        Row(3, "a", 30, ("amy", "amy", "x")),
        Row(4, "B", 20),
    ]
    assert sort_uids(rows, [SortKey("SUBJECT")]) == [2, 3, 1, 4]
    assert sort_uids(rows, [SortKey("SIZE", True), SortKey("SUBJECT")]) == [2, 3, 4, 1]
    assert sort_uids(rows, [SortKey("FROM")]) == [4, 2, 3, 1]
    assert sort_uids(rows, [SortKey("DISPLAYFROM")]) == [4, 3, 2, 1]  # "amy" < "amy@x"


def test_a_keyword_new_to_the_client_is_announced_before_the_flag_change() -> None:
    view = MailboxView.create(1, "INBOX", 7, 3, 10, [1, 2], readonly=False, keywords=["$Old"])
    changes = Changes(11, 3, [FlagChange(2, frozenset({"$New", "$Old"}), 11)], [])
    assert view.apply(changes, expunge_ok=True, condstore=False) == (
        b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Old $New)\r\n"
        b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Old $New \\*)] Flags permitted\r\n"
        b"* 2 FETCH (UID 2 FLAGS ($New $Old))\r\n"
    )
    assert view.learn_flags(["$Old", "\\Seen"]) == b""


# -- live contexts (RFC 5267 4.3) ---------------------------------------------------


def _context(uids: list[int], *, sort: bool, uid: bool = False) -> LiveContext:
    return LiveContext(b"t", uid, All(), (SortKey("ARRIVAL", True),) if sort else None, uids)


def test_a_sort_context_reports_each_run_at_its_position_removals_from_the_last() -> None:
    context = _context([9, 8, 7, 6, 5], sort=True, uid=True)
    line = update_line(context, [10, 9, 7, 5, 4], lambda uid: 0)
    assert line == b'* ESEARCH (TAG "t") UID REMOVEFROM (4 6) REMOVEFROM (2 8) ADDTO (1 10) ADDTO (5 4)\r\n'
    assert context.uids == [10, 9, 7, 5, 4]
    assert update_line(context, [10, 9, 7, 5, 4], lambda uid: 0) == b""


def test_a_search_context_reports_one_set_each_way_at_position_zero_by_number() -> None:
    context = _context([2, 4, 6], sort=False)
    line = update_line(context, [4, 5, 6, 7], lambda uid: uid * 10)
    assert line == b'* ESEARCH (TAG "t") REMOVEFROM (0 20) ADDTO (0 50,70)\r\n'


@pytest.mark.parametrize(
    "uids",
    [
        [2, 3, 5, 8, 9],  # every message of the view
        [1, 2, 4, 5, 9, 10],  # some not in it: below, between and above
        [9],
        [],
        [3, 4, 8],
    ],
)
def test_a_fetch_page_numbers_its_messages_in_one_walk_as_seq_of_would(uids: list[int]) -> None:
    view = MailboxView.create(1, "INBOX", 1, 11, 1, [2, 3, 5, 8, 9], readonly=False)
    assert list(view.seqs_of(uids)) == [view.seq_of(uid) for uid in uids]


def test_a_view_knows_the_changes_it_has_taken_in_and_no_others() -> None:
    view = MailboxView.create(1, "INBOX", 1, 3, 10, [1, 2], readonly=False)
    view.note_own_change(11, True)  # the next modseq: the view moves on to it
    view.note_own_change(14, True)  # another session's 12 and 13 came between
    assert view.highestmodseq == 11
    assert [m for m in range(9, 16) if view.has_taken_in(m)] == [9, 10, 11, 14]
    assert not view.has_taken_in(0)  # an event that names no modseq always wakes
