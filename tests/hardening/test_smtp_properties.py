"""Property tests for the SMTP side: the pure pieces never raise and never let
client text break a header, and a live server answers any sequence of
keyword-shaped or random command lines with well-formed replies, then still
delivers a normal message."""

from __future__ import annotations

import ipaddress
import re
import smtplib
import socket
from email.parser import BytesHeaderParser

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from mailboxes import store
from protocols.smtp import policy, replies, trace
from tests.servers import InProcessServer

text_no_newline = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), max_size=300)
ips = st.one_of(st.ip_addresses(v=4), st.ip_addresses(v=6)).map(str)


@given(
    helo=st.one_of(st.none(), text_no_newline),
    peer_ip=ips,
    recipients=st.lists(text_no_newline, max_size=3),
    trace_id=st.from_regex(r"\A[A-Za-z0-9]{1,20}\Z"),
)
def test_a_received_header_is_one_parseable_field_whatever_the_client_said(helo, peer_ip, recipients, trace_id):
    field = trace.received(
        helo=helo,
        peer_ip=peer_ip,
        hostname="mx.example.test",
        protocol="ESMTPS",
        trace_id=trace_id,
        recipients=recipients,
    )
    assert not policy.has_bare_line_ending(field)
    parsed = BytesHeaderParser().parsebytes(field + b"\r\n")
    assert parsed.keys() == ["Received"]
    address = ipaddress.ip_address(peer_ip)
    mapped = getattr(address, "ipv4_mapped", None)  # ::ffff:a.b.c.d is written as the IPv4 it is
    assert f"[{mapped or address}]" in field.decode() or (not mapped and "IPv6:" in field.decode())


@given(st.binary(max_size=200))
def test_bare_line_endings_are_found_exactly(data):
    reference = re.search(rb"\r(?!\n)|(?<!\r)\n", data) is not None
    assert policy.has_bare_line_ending(data) == reference


@given(st.lists(text_no_newline, max_size=5))
def test_declared_size_is_a_non_negative_number_or_zero(options):
    assert policy.declared_size(options) >= 0


@given(code=st.integers(200, 599), text=text_no_newline)
def test_every_reply_keeps_its_code_after_enhancement(code, text):
    assert replies.enhance(f"{code} {text}").startswith(str(code))


# --- a live server --------------------------------------------------------

KEYWORDS = [
    "HELO",
    "EHLO",
    "MAIL FROM:",
    "RCPT TO:",
    "DATA",
    "RSET",
    "NOOP",
    "VRFY",
    "EXPN",
    "HELP",
    "AUTH PLAIN",
    "AUTH LOGIN",
    "AUTH CRAM-MD5",
    "STARTTLS",
    "BDAT",
    "QUIT",
    "XYZZY",
]
arguments = st.one_of(
    text_no_newline,
    st.sampled_from(
        ["<>", "<alice@example.test>", "<a@remote.test>", "<@x,@y:a@b>", "<" + "a" * 300 + "@b>", "SIZE=99999999999"]
    ),
)
command_lines = st.one_of(
    st.builds(lambda k, a: f"{k} {a}", st.sampled_from(KEYWORDS), arguments),
    text_no_newline,
).map(lambda line: line.encode("utf-8", "surrogateescape")[:2000])

pytestmark = pytest.mark.slow
REPLY = re.compile(rb"^[2-5]\d\d[ -]")


def _read_reply(f) -> list[bytes]:  # type: ignore[no-untyped-def]
    lines = []
    while True:
        line = f.readline()
        if not line:
            return lines
        lines.append(line)
        if len(line) < 4 or line[3:4] != b"-":
            return lines


def _bdat_size(line: bytes) -> int:
    """The chunk size of a BDAT line as the server reads it, else 0."""
    command, _, arg = line.rstrip(b"\r\n").partition(b" ")
    parsed = policy.parse_bdat(arg.strip().decode("utf-8", "surrogateescape")) if command.upper() == b"BDAT" else None
    return parsed[0] if parsed else 0


@pytest.fixture(scope="module")
def smtp_server():  # type: ignore[no-untyped-def]
    with InProcessServer(["smtp", "submission"]) as server:
        yield server


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(command_lines, min_size=1, max_size=6), door=st.sampled_from(["smtp", "submission"]))
def test_any_command_sequence_gets_well_formed_replies(users, smtp_server, lines, door):
    chunks = [_bdat_size(line) for line in lines]
    assume(all(size <= 4096 for size in chunks))  # a BDAT's chunk follows its line (RFC 3030)
    with socket.create_connection(("127.0.0.1", smtp_server.ports[door]), timeout=20) as sock:
        f = sock.makefile("rb")
        greeting = _read_reply(f)
        assert greeting and greeting[-1].startswith(b"220")
        for line, size in zip(lines, chunks):
            sock.sendall(line + b"\r\n" + b"x" * size)
            reply = _read_reply(f)
            if not reply:
                break  # the server may hang up (QUIT, budget); it must not answer garbage
            for reply_line in reply:
                assert REPLY.match(reply_line) or reply_line.startswith(b"334") or reply_line.startswith(b"354"), reply
                assert b"Traceback" not in reply_line and b"Error(" not in reply_line
            code = reply[-1][:3]
            if code == b"354":  # finish the DATA the random sequence opened
                sock.sendall(b"Subject: fuzz\r\n\r\nbody\r\n.\r\n")
                assert REPLY.match(_read_reply(f)[-1])
            elif code == b"334":
                sock.sendall(b"*\r\n")  # cancel the exchange (RFC 4954 4)
                assert REPLY.match(_read_reply(f)[-1])
            elif code in (b"221", b"421") or (code == b"220" and line.upper().startswith(b"STARTTLS")):
                break  # hung up, or the next bytes must be a TLS handshake


def test_after_the_random_sessions_a_normal_message_is_delivered(users, smtp_server):
    with smtplib.SMTP("127.0.0.1", smtp_server.ports["smtp"], timeout=20) as client:
        client.sendmail("bob@remote.test", ["alice@example.test"], b"Subject: still here\r\n\r\nhello\r\n")
    account = users["alice@example.test"]
    view = store.select_folder(account.id, "INBOX")
    infos = store.fetch_messages(account.id, view.id, [(1, 2**32)], envelope=True, structure=True)
    assert [i.envelope["subject"] for i in infos] == ["still here"]
