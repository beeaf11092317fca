"""Modified UTF-7 mailbox names and sequence sets."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailboxes.mutf7 import MailboxNameError
from protocols.imap.parser import decode_mailbox, encode_mailbox
from protocols.imap.sequence import STAR, SequenceSet

ROUND_TRIPS = [
    ("INBOX", b"INBOX"),
    ("Entw\xfcrfe", b"Entw&APw-rfe"),
    ("&", b"&-"),
    ("Tom & Jerry", b"Tom &- Jerry"),
    ("~peter/mail/\u53f0\u5317/\u65e5\u672c\u8a9e", b"~peter/mail/&U,BTFw-/&ZeVnLIqe-"),
    ("\u00e9t\u00e9", b"&AOk-t&AOk-"),
    ("\U0001f4e7 mail", b"&2D3c5w- mail"),  # a surrogate pair
    ("tab\there", b"tab&AAk-here"),  # control characters are not printable
    ("", b""),
]


@pytest.mark.parametrize(("name", "wire"), ROUND_TRIPS)
def test_mailbox_name_round_trips_through_modified_utf7(name: str, wire: bytes) -> None:
    assert encode_mailbox(name) == wire
    assert decode_mailbox(wire) == name


@pytest.mark.parametrize(
    "wire",
    [
        b"&",  # no terminating "-"
        b"&U,BTFw",  # no terminating "-"
        b"&AGE-",  # base64 for "a", which must be sent as itself
        b"&2D0-",  # a lone high surrogate
        b"&U,BTF-",  # impossible length
        b"&U,BTFx-",  # non-zero padding bits
        b"&U/BTFw-",  # "/" is not modified base64
        b"caf\xc3\xa9",  # 8-bit
        b"a\tb",  # raw control character
    ],
)
def test_invalid_modified_utf7_is_rejected(wire: bytes) -> None:
    with pytest.raises(MailboxNameError):
        decode_mailbox(wire)


@given(st.text())
def test_every_name_round_trips(name: str) -> None:
    # Lone surrogates cannot be encoded in UTF-16; real names never have them.
    if any("\ud800" <= ch <= "\udfff" for ch in name):
        return
    wire = encode_mailbox(name)
    assert all(0x20 <= b <= 0x7E for b in wire)
    assert decode_mailbox(wire) == name


# -- sequence sets ---------------------------------------------------------------


def test_resolve_orders_merges_and_replaces_star() -> None:
    seq = SequenceSet(((7, STAR), (4, 2), (3, 3), (12, 12)))
    assert seq.resolve(10) == [(2, 4), (7, 10), (12, 12)]
    # RFC 3501 9: "*" is the largest number in use, even below the start.
    assert SequenceSet(((559, STAR),)).resolve(500) == [(500, 559)]


def test_huge_ranges_are_never_expanded() -> None:
    seq = SequenceSet(((1, 4294967295),))
    assert seq.resolve(10) == [(1, 4294967295)]
    assert seq.contains(4294967295, 10)
    assert seq.highest(10) == 4294967295
    assert next(seq.iter(10)) == 1


@pytest.mark.parametrize(
    ("value", "inside"), [(1, False), (2, True), (4, True), (5, False), (9, True), (10, True), (11, False)]
)
def test_membership_uses_the_concrete_maximum(value: int, inside: bool) -> None:
    seq = SequenceSet(((4, 2), (9, STAR)))
    assert seq.contains(value, 10) is inside


def test_from_ints_builds_the_compact_wire_form() -> None:
    seq = SequenceSet.from_ints([9, 1, 2, 3, 5, 7, 8, 3])
    assert seq.to_bytes() == b"1:3,5,7:9"
    assert SequenceSet.from_ints([]).to_bytes() == b""
    assert SequenceSet(((STAR, 4), (6, 6))).to_bytes() == b"*:4,6"
    assert list(SequenceSet(((3, 1), (2, 5))).iter(0)) == [1, 2, 3, 4, 5]


@given(
    st.one_of(
        st.binary(max_size=40),
        st.lists(st.sampled_from([b"&", b"-", b"A", b"Ok", b",", b"2D3c5w", b"x"])).map(b"".join),
    )
)
def test_decoding_either_fails_cleanly_or_yields_a_name_that_round_trips(wire: bytes) -> None:
    try:
        name = decode_mailbox(wire)
    except MailboxNameError:
        return
    assert decode_mailbox(encode_mailbox(name)) == name
