"""The pure parts: POP3 and POP2 command parsers, POP3 wire helpers, the
bounded line reader, the POP form of a message, read-ahead. No database."""

from __future__ import annotations

import asyncio
import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailboxes import store
from mailboxes.store import PopMessage
from mailboxes.store.pop import pop_form, pop_size, uid_ranges
from protocols.lines import LineReader, LineTooLong
from protocols.pop2 import parser as p2
from protocols.pop3 import parser as p3
from protocols.pop3 import wire
from protocols.pop3.state import Maildrop

POP3_OK = [
    (b"USER alice@example.test\r\n", p3.User("alice@example.test")),
    (b"user alice\n", p3.User("alice")),
    (b"PASS secret with spaces\r\n", p3.Pass("secret with spaces")),
    (b"APOP mrose c4c9334bac560ecc979e58001b3e22fb\r\n", p3.Apop("mrose", "c4c9334bac560ecc979e58001b3e22fb")),
    (b"APOP mrose C4C9334BAC560ECC979E58001B3E22FB\r\n", p3.Apop("mrose", "c4c9334bac560ecc979e58001b3e22fb")),
    (b"AUTH\r\n", p3.Auth()),
    (b"AUTH plain\r\n", p3.Auth("PLAIN")),
    (b"AUTH PLAIN AGEAYg==\r\n", p3.Auth("PLAIN", b"\0a\0b")),
    (b"AUTH PLAIN =\r\n", p3.Auth("PLAIN", b"")),
    (b"STAT\r\n", p3.Stat()),
    (b"LIST\r\n", p3.List()),
    (b"LIST 2\r\n", p3.List(2)),
    (b"RETR 1\r\n", p3.Retr(1)),
    (b"DELE 12\r\n", p3.Dele(12)),
    (b"NOOP\r\n", p3.Noop()),
    (b"RSET\r\n", p3.Rset()),
    (b"QUIT\r\n", p3.Quit()),
    (b"TOP 1 0\r\n", p3.Top(1, 0)),
    (b"top 3 10\r\n", p3.Top(3, 10)),
    (b"UIDL\r\n", p3.Uidl()),
    (b"UIDL 7\r\n", p3.Uidl(7)),
    (b"CAPA\r\n", p3.Capa()),
    (b"STLS\r\n", p3.Stls()),
]

POP3_BAD = [
    (b"HELO\r\n", "unknown command"),
    (b"\r\n", "unknown command"),
    (b"USER\r\n", "wrong number of arguments"),
    (b"USER a b\r\n", "wrong number of arguments"),
    (b"PASS\r\n", "wrong number of arguments"),
    (b"APOP mrose nothex\r\n", "invalid digest"),
    (b"APOP mrose\r\n", "wrong number of arguments"),
    (b"AUTH PLAIN !!!\r\n", "invalid base64"),
    (b"STAT 1\r\n", "wrong number of arguments"),
    (b"LIST x\r\n", "invalid number"),
    (b"LIST -1\r\n", "invalid number"),
    (b"RETR\r\n", "wrong number of arguments"),
    (b"RETR 99999999999\r\n", "invalid number"),
    (b"TOP 1\r\n", "wrong number of arguments"),
    (b"USER a\x01b\r\n", "invalid characters in argument"),
    (b"NOOP " + b"x" * 2000 + b"\r\n", "line too long"),
]


@pytest.mark.parametrize(
    ("message", "parts"),
    [
        (b"\0alice\0pw", ("", "alice", "pw")),
        (b"alice\0alice\0p w", ("alice", "alice", "p w")),
    ],
)
def test_sasl_plain_messages_split_into_three_parts(message, parts):
    assert p3.decode_plain(message) == parts


@pytest.mark.parametrize("message", [b"alice\0pw", b"\0\0pw", b"\0alice\0", b"\0a\0b\0c", b"\0\xff\0pw"])
def test_malformed_sasl_plain_messages_are_refused(message):
    with pytest.raises(p3.ParseError):
        p3.decode_plain(message)


def test_sasl_responses_decode_and_a_star_cancels():
    assert p3.decode_base64(base64.b64encode(b"\0a\0b") + b"\r\n") == b"\0a\0b"
    assert p3.is_cancel(b"*\r\n") and not p3.is_cancel(b"Kg==\r\n")


POP2_OK = [
    (b"HELO alice@example.test secret\r\n", p2.Helo("alice@example.test", "secret")),
    (b"helo alice pass word\r\n", p2.Helo("alice", "pass word")),
    (b"FOLD INBOX\r\n", p2.Fold("INBOX")),
    (b"FOLD Old Mail/2024\r\n", p2.Fold("Old Mail/2024")),
    (b"READ\r\n", p2.Read()),
    (b"READ 3\r\n", p2.Read(3)),
    (b"RETR\r\n", p2.Retr()),
    (b"ACKS\r\n", p2.Acks()),
    (b"ACKD\r\n", p2.Ackd()),
    (b"NACK\r\n", p2.Nack()),
    (b"QUIT\r\n", p2.Quit()),
]

POP2_BAD = [
    (b"USER alice\r\n", "unknown command"),
    (b"HELO alice\r\n", "HELO needs a user name and a password"),
    (b"FOLD\r\n", "FOLD needs a folder name"),
    (b"READ x\r\n", "READ takes a message number"),
    (b"RETR 1\r\n", "RETR takes no argument"),
    (b"QUIT now\r\n", "QUIT takes no argument"),
    (b"FOLD a\x00b\r\n", "invalid characters in argument"),
]


PARSERS = {"pop3": p3, "pop2": p2}


@pytest.mark.parametrize(
    ("protocol", "line", "command"), [("pop3", *case) for case in POP3_OK] + [("pop2", *case) for case in POP2_OK]
)
def test_each_parser_reads_each_command(protocol, line, command):
    assert PARSERS[protocol].parse_command(line) == command


@pytest.mark.parametrize(
    ("protocol", "line", "message"), [("pop3", *case) for case in POP3_BAD] + [("pop2", *case) for case in POP2_BAD]
)
def test_each_parser_refuses_bad_lines_with_a_fixed_message(protocol, line, message):
    with pytest.raises(p3.ParseError) as info:
        PARSERS[protocol].parse_command(line)
    assert info.value.message == message


@pytest.mark.parametrize(
    ("data", "stuffed"),
    [
        (b"a\r\n.b\r\n", b"a\r\n..b\r\n"),
        (b".first\r\n", b"..first\r\n"),
        (b"a\r\n.\r\n", b"a\r\n..\r\n"),
        (b"no dots. here\r\n", b"no dots. here\r\n"),
        (b"", b""),
    ],
)
def test_dot_stuffing_doubles_a_leading_dot(data, stuffed):
    assert wire.dot_stuff(data) == stuffed


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (0, b"H: 1\r\nH: 2\r\n\r\n"),
        (2, b"H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\n"),
        (9, b"H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n"),
    ],
)
def test_top_keeps_the_header_and_n_body_lines(lines, expected):
    assert wire.top(b"H: 1\r\nH: 2\r\n\r\nb1\r\nb2\r\nb3\r\n", lines) == expected


def test_top_of_a_message_without_a_body_is_the_whole_message():
    assert wire.top(b"H: 1\r\nH: 2\r\n", 0) == b"H: 1\r\nH: 2\r\n"
    assert wire.top(b"\r\nbody\r\nmore\r\n", 1) == b"\r\nbody\r\n"


@pytest.mark.parametrize(
    ("raw", "form"),
    [
        (b"a\nb\n", b"a\r\nb\r\n"),
        (b"a\r\nb", b"a\r\nb\r\n"),
        (b"a\r\r\nb\r", b"a\r\r\nb\r\r\n"),
        (b"\n", b"\r\n"),
        (b"", b""),
    ],
)
def test_pop_form_makes_crlf_lines_and_a_final_crlf(raw, form):
    assert pop_form(raw) == form and pop_size(raw) == len(form)


@given(st.binary(max_size=300))
def test_pop_size_is_the_length_of_the_pop_form(raw):
    form = pop_form(raw)
    assert pop_size(raw) == len(form)
    assert form == b"" or form.endswith(b"\r\n")
    assert b"\n" not in form.replace(b"\r\n", b"")
    # Stuffed and terminated, the body can always be unstuffed again.
    stuffed = wire.dot_stuff(form)
    assert b"\r\n.\r\n" not in b"\r\n" + stuffed


def test_uid_ranges_collapse_runs():
    assert uid_ranges([7, 1, 2, 3, 3, 9, 10]) == [(1, 3), (7, 7), (9, 10)]


def _feed_bytewise(data: bytes, limit: int) -> list[bytes | str]:
    async def main() -> list[bytes | str]:
        stream = asyncio.StreamReader()
        for i in range(len(data)):
            stream.feed_data(data[i : i + 1])
        stream.feed_eof()
        reader = LineReader(stream, limit)
        out: list[bytes | str] = []
        while True:
            try:
                out.append(await reader.readline())
            except LineTooLong:
                out.append("too long")
            except EOFError:
                return out

    return asyncio.run(main())


def test_line_reader_splits_lines_fed_a_byte_at_a_time():
    assert _feed_bytewise(b"USER a\r\nPASS b\nQUIT\r\npartial", 64) == [b"USER a\r\n", b"PASS b\n", b"QUIT\r\n"]


def test_line_reader_drops_an_overlong_line_and_reads_on():
    data = b"NOOP\r\n" + b"x" * 10_000 + b"\r\nQUIT\r\n"
    assert _feed_bytewise(data, 100) == [b"NOOP\r\n", "too long", b"QUIT\r\n"]


def _session_drop(sizes: list[int]) -> Maildrop:
    messages = [PopMessage(uid, size, f"1.{uid}") for uid, size in enumerate(sizes, 1)]
    return Maildrop(1, store.Maildrop(1, "INBOX", 1, messages))


def test_read_ahead_starts_when_a_client_reads_in_order_and_stays_within_bounds():
    drop = _session_drop([1000] * 40)
    assert drop.to_read(1) == list(range(1, 17))  # from the start: in order
    drop.last_read = 16
    drop.deleted.add(18)
    assert drop.to_read(17) == [17] + list(range(19, 34))  # deleted ones are skipped
    assert drop.to_read(5) == [5]  # out of order: just the one asked for
    big = _session_drop([200_000, 50_000, 20_000, 5_000])
    assert big.to_read(1) == [1, 2]  # at most READ_AHEAD_BYTES in all
    assert _session_drop([300_000, 10]).to_read(1) == [1]
