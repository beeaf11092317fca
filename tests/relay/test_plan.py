"""The relay's pure decisions and the DSN composer, table-driven."""

from __future__ import annotations

import email
import random
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from email.utils import getaddresses

import pytest

from mailboxes.notices import Failure, build_dsn, status_from_reply
from protocols.relay import plan


@pytest.mark.parametrize(
    "text, expected",
    [
        ("example.net=127.0.0.1:2526", {"example.net": [plan.Target("127.0.0.1", "127.0.0.1", 2526)]}),
        (
            " Example.NET.=127.0.0.1:2526 , b.test=[::1]:25,b.test=mx.b.test",
            {
                "example.net": [plan.Target("127.0.0.1", "127.0.0.1", 2526)],
                "b.test": [plan.Target("::1", "::1", 25), plan.Target("mx.b.test", "mx.b.test", 25)],
            },
        ),
        ("c.test=MX.C.test.@127.0.0.1:2526", {"c.test": [plan.Target("mx.c.test", "127.0.0.1", 2526)]}),
        ("", {}),
    ],
)
def test_mx_override_is_parsed_into_addresses_per_domain(text, expected):
    assert plan.parse_mx_override(text) == expected


@pytest.mark.parametrize(
    "text", ["example.net", "=1.2.3.4:25", "a.test=1.2.3.4:0", "a.test=1.2.3.4:x", "a.test=@1.2.3.4:25"]
)
def test_a_malformed_mx_override_is_refused(text):
    with pytest.raises(plan.PlanError):
        plan.parse_mx_override(text)


@pytest.mark.parametrize(
    "records, expected",
    [
        ([(20, "b.example."), (10, "a.example.")], ["a.example", "b.example"]),
        ([(10, "A.Example."), (10, "a.example.")], ["a.example"]),
        ([(0, ".")], None),  # RFC 7505 null MX
    ],
)
def test_mx_records_are_ordered_by_preference_and_a_null_mx_means_no_mail(records, expected):
    assert plan.order_mx(records, shuffle=False) == expected


@pytest.mark.parametrize(
    "code, text, status",
    [
        (550, "5.1.1 No such user", "5.1.1"),
        (452, "4.2.2 Mailbox full", "4.2.2"),
        (550, "No such user", "5.0.0"),
        (451, "5.1.1 mismatched class", "4.0.0"),
    ],
)
def test_the_status_code_comes_from_the_reply(code, text, status):
    assert status_from_reply(code, text) == status


@pytest.mark.parametrize(
    "code, outcome",
    [(250, "sent"), (251, "sent"), (421, "temporary"), (451, "temporary"), (550, "permanent"), (554, "permanent")],
)
def test_replies_map_to_outcomes(code, outcome):
    assert plan.outcome_of(code) == outcome


@pytest.mark.parametrize(
    "data, wire",
    [
        (b"a\r\nb", b"a\r\nb\r\n.\r\n"),
        (b".a\n.\nb\r\n", b"..a\r\n..\r\nb\r\n.\r\n"),
        (b"bare\rcr", b"bare\r\ncr\r\n.\r\n"),
    ],
)
def test_data_is_dot_stuffed_with_crlf_line_ends(data, wire):
    assert plan.dot_stuff(data) == wire


@pytest.mark.parametrize(
    "headers, domain",
    [
        (b"From: Alice <alice@Example.TEST>\r\n\r\n", "example.test"),
        (b"From: a@x.test, b@y.test\r\n\r\n", None),
        (b"From: a@x.test\r\nFrom: b@x.test\r\n\r\n", None),
        (b"Subject: none\r\n\r\n", None),
    ],
)
def test_the_author_domain_needs_exactly_one_from_address(headers, domain):
    assert plan.author_domain(headers) == domain


def test_the_author_domain_is_read_from_the_header_section_as_the_whole_message_would_give():
    """author_domain parses only the header section (plan.header_section): on
    messages with every kind of line end, it finds what a parse of the whole
    message finds (a From: after the first empty line is body, not a field)."""
    parts = [b"From: a@b.test", b"from:<c@d.test>", b"To: q@r.test", b" x", b"\tx", b"", b"X", b"From x", b": bad"]
    ends = [b"\r\n", b"\n", b"\r", b"\r\r\n", b"\n\r"]
    rng = random.Random(7)
    for _ in range(20_000):
        data = b"".join(rng.choice(parts) + rng.choice(ends) for _ in range(rng.randint(0, 8)))
        values = BytesHeaderParser().parsebytes(data).get_all("From") or []
        addresses = [a for _, a in getaddresses([str(values[0])]) if a] if len(values) == 1 else []
        whole = addresses[0].rsplit("@", 1)[1].lower() if len(addresses) == 1 and "@" in addresses[0] else None
        assert plan.author_domain(data) == whole, data


def test_a_dsn_is_a_delivery_status_report_with_the_original_headers():
    when = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    raw = build_dsn(
        hostname="mx.example.test",
        mail_from="alice@example.test",
        original_headers=b"From: alice@example.test\r\nSubject: Hi\r\n\r\n",
        failures=[Failure("x@remote.test", "5.1.1", "smtp; 550 5.1.1 unknown\r\nInjected: yes", "mx.remote.test")],
        arrival=when,
        now=when,
    )
    message = email.message_from_bytes(raw)
    assert message.get_content_type() == "multipart/report"
    text, status, headers = message.get_payload()
    assert status.get_content_type() == "message/delivery-status"
    per_message, per_recipient = status.get_payload()
    assert per_message["Reporting-MTA"] == "dns; mx.example.test"
    assert per_recipient["Final-Recipient"] == "rfc822; x@remote.test"
    assert per_recipient["Action"] == "failed" and per_recipient["Status"] == "5.1.1"
    assert per_recipient["Remote-MTA"] == "dns; mx.remote.test"
    assert per_recipient["Injected"] is None
    assert headers.get_content_type() == "text/rfc822-headers"
    assert b"Subject: Hi" in headers.get_payload(decode=True)
    assert message["Auto-Submitted"] == "auto-replied"


@pytest.mark.parametrize(
    "data, expected",
    [
        (b"short\r\nlines\r\n", b"short\r\nlines\r\n"),
        (b"a" * 1000 + b"\r\nb\r\n", b"a" * 998 + b"\r\n aa\r\nb\r\n"),
        (b"x" * 2000, b"x" * 998 + b"\r\n " + b"x" * 997 + b"\r\n " + b"x" * 5),
    ],
)
def test_lines_past_998_octets_are_folded_before_sending(data, expected):
    assert plan.fold_long_lines(data) == expected
    assert all(len(line) <= 998 for line in plan.fold_long_lines(data).split(b"\r\n"))
