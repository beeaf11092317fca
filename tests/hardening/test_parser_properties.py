"""Property tests for the POP3 and POP2 command parsers: whatever bytes a
client sends, the parser returns a command or raises its own ParseError,
whose message is a fixed phrase that never echoes the input; numbers it
returns have at most ten digits and text it returns holds no control character."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from protocols.pop2 import parser as pop2
from protocols.pop3 import parser as pop3

PARSERS = {"pop3": (pop3.parse_command, pop3.MAX_LINE), "pop2": (pop2.parse_command, pop2.MAX_LINE)}
KEYWORDS = {"pop3": [k.decode() for k in pop3._BUILDERS], "pop2": [k.decode() for k in pop2._BUILDERS]}
MARK = b"Qz7"  # in every generated argument: an error message must never contain it

# Arguments: digits (numbers, huge ones too), text, controls, NULs, invalid UTF-8, base64-ish.
ARG = st.one_of(
    st.from_regex(rb"\A[0-9]{1,30}\Z"),
    st.binary(max_size=40),
    st.text(max_size=20).map(lambda s: s.encode("utf-8", "surrogatepass")),
    st.sampled_from(
        [
            b"",
            b" ",
            b"\x00",
            b"\r",
            b"\n",
            b"\xff\xfe",
            b"=",
            b"*",
            b"-1",
            b"+1",
            b"0x1",
            b"1e9",
            b"\xc3",
            b"AAAA",
            b"====",
            b"\t",
        ]
    ),
)

pytestmark = pytest.mark.slow


def line_of(protocol: str) -> st.SearchStrategy[bytes]:
    """A keyword (any case) of the protocol, or junk, then arguments, maybe a line ending."""
    keyword = st.one_of(
        st.sampled_from(KEYWORDS[protocol])
        .flatmap(lambda k: st.sampled_from([k, k.lower(), k.title()]))
        .map(str.encode),
        st.binary(max_size=8),
    )
    args = st.lists(st.tuples(ARG, st.booleans()), max_size=4).map(
        lambda items: b"".join(b" " + (MARK + a if marked else a) for a, marked in items)
    )
    ending = st.sampled_from([b"", b"\r\n", b"\n", b"\r", b" \r\n", b"  "])
    return st.tuples(keyword, args, ending).map(lambda t: b"".join(t))


def check(protocol: str, line: bytes) -> None:
    parse, max_line = PARSERS[protocol]
    try:
        command = parse(line)
    except pop3.ParseError as exc:  # POP2's ParseError is POP3's (UnknownCommand included)
        message = str(exc)
        assert message and message.isascii() and len(message) < 80, message
        assert MARK.decode() not in message
        assert "\r" not in message and "\n" not in message
        return
    assert isinstance(command, pop3.Command), command
    assert len(line) <= max_line
    for f in dataclasses.fields(command):
        value = getattr(command, f.name)
        if isinstance(value, int) and not isinstance(value, bool):
            assert 0 <= value < 10**10, (f.name, value)  # ten digits at most: fits the store's bigint
        elif isinstance(value, str):
            assert not any(ord(c) < 0x20 or ord(c) == 0x7F for c in value), (f.name, value)


@pytest.mark.parametrize("protocol", PARSERS)
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_random_lines_give_a_command_or_the_parsers_own_error(protocol, data):
    check(protocol, data.draw(line_of(protocol)))


@pytest.mark.parametrize("protocol", PARSERS)
@settings(max_examples=1000, deadline=None)
@given(raw=st.binary(max_size=2000))
@example(raw=b"")
@example(raw=b"\r\n")
@example(raw=b"READ " + b"9" * 1000)
@example(raw=b"READ 9999999999")
@example(raw=b"RETR 01000000000")
@example(raw=b"TOP 1 " + b"9" * 1000)
def test_pure_random_bytes_give_a_command_or_the_parsers_own_error(protocol, raw):
    check(protocol, raw)


@pytest.mark.parametrize("protocol", PARSERS)
@given(st.integers(min_value=0, max_value=2000))
def test_a_line_longer_than_the_limit_is_refused_before_it_is_looked_at(protocol, extra):
    parse, max_line = PARSERS[protocol]
    with pytest.raises(pop3.ParseError, match="line too long"):
        parse(b"QUIT " + b"x" * (max_line + extra))


@given(n=st.integers(min_value=0, max_value=pop3.MAX_NUMBER), lines=st.integers(min_value=0, max_value=pop3.MAX_NUMBER))
def test_well_formed_pop3_numbers_parse_to_themselves(n, lines):
    assert pop3.parse_command(b"RETR %d\r\n" % n) == pop3.Retr(n)
    assert pop3.parse_command(b"top %d %d" % (n, lines)) == pop3.Top(n, lines)
