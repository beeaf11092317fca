"""The pure parts of SMTP, table-driven: reply codes, the listener table and
recipient decisions, trace fields; and the plaintext-AUTH rule for a client
that is not on loopback (the tests' sockets always are)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from mailboxes import store
from protocols.smtp import policy, replies, trace


@pytest.mark.parametrize(
    "raw, enhanced",
    [
        ("250 OK", "250 2.0.0 OK"),
        ("221 Bye", "221 2.0.0 Bye"),
        ("220 Ready to start TLS", "220 2.0.0 Ready to start TLS"),
        ("503 Error: need RCPT command", "503 5.5.1 Error: need RCPT command"),
        ("501 Syntax: RSET", "501 5.5.4 Syntax: RSET"),
        ("500 Error: bad syntax", "500 5.5.2 Error: bad syntax"),
        (
            "555 MAIL FROM parameters not recognized or not implemented",
            "555 5.5.4 MAIL FROM parameters not recognized or not implemented",
        ),
        ("552 Error: Too much mail data", replies.TOO_BIG),
        ("552 Error: message size exceeds fixed maximum message size", replies.TOO_BIG),
        ("530 5.7.0 Authentication required", "530 5.7.0 Authentication required"),
        ("421 4.7.0 AUTH sent too many times", "421 4.7.0 AUTH sent too many times"),
        ("354 End data with <CR><LF>.<CR><LF>", "354 End data with <CR><LF>.<CR><LF>"),
        ("334 ", "334 "),
        ("599 Odd", "599 5.0.0 Odd"),
        ("250", "250 2.0.0"),
    ],
)
def test_every_reply_gets_an_enhanced_status_code_except_intermediate_ones(raw, enhanced):
    assert replies.enhance(raw) == enhanced


def test_every_reply_constant_already_carries_a_matching_enhanced_code():
    constants = [v for k, v in vars(replies).items() if k.isupper() and isinstance(v, str)]
    for reply in constants:
        code, detail = reply.split(" ")[:2]
        assert detail.split(".")[0] == code[0], reply
        assert replies.enhance(reply) == reply


@pytest.mark.parametrize(
    "kind, quota, may_relay, reply",
    [
        ("local", "ok", False, replies.RECIPIENT_OK),
        ("local", "full", False, replies.MAILBOX_FULL),
        ("local", "never", True, replies.QUOTA_NEVER),
        ("unknown", "ok", True, replies.NO_SUCH_USER),
        ("inactive", "ok", True, replies.DISABLED),
        ("remote", "ok", False, replies.RELAY_DENIED),
        ("remote", "ok", True, replies.RECIPIENT_OK),
    ],
)
def test_recipient_replies_follow_the_store_verdict_and_relay_only_for_authenticated(kind, quota, may_relay, reply):
    assert policy.recipient_reply(kind, quota, may_relay=may_relay) == reply


def test_the_listener_table_has_auth_only_off_the_mx_and_implicit_tls_only_on_smtps():
    assert {n: (p.auth, p.auth_required, p.implicit_tls, p.starttls) for n, p in policy.PROFILES.items()} == {
        "smtp": (False, False, False, True),
        "submission": (True, True, False, True),
        "smtps": (True, True, True, False),
    }


@pytest.mark.parametrize(
    "options, size",
    [
        ([], 0),
        (["SIZE=1234"], 1234),
        (["BODY=8BITMIME", "SIZE=99"], 99),
        (["SIZE=abc"], 0),
        (["SMTPUTF8"], 0),
    ],
)
def test_declared_size_comes_from_the_size_parameter(options, size):
    assert policy.declared_size(options) == size


@pytest.mark.parametrize(
    "data, bare",
    [
        (b"", False),
        (b"a\r\nb\r\n", False),
        (b"a\nb\r\n", True),
        (b"a\rb\r\n", True),
        (b"a\r\n\r\n", False),
        (b"a\r\r\n", True),
        (b"a\n\r\n", True),
    ],
)
def test_bare_cr_and_lf_are_found_anywhere(data, bare):
    assert policy.has_bare_line_ending(data) is bare


@pytest.mark.parametrize(
    "esmtp, tls, auth, utf8, name",
    [
        (False, False, False, False, "SMTP"),
        (True, False, False, False, "ESMTP"),
        (True, True, False, False, "ESMTPS"),
        (True, False, True, False, "ESMTPA"),
        (True, True, True, False, "ESMTPSA"),
        (True, True, True, True, "UTF8SMTPSA"),
        (True, False, False, True, "UTF8SMTP"),
    ],
)
def test_with_protocol_names_follow_rfc3848_and_rfc6531(esmtp, tls, auth, utf8, name):
    assert trace.with_protocol(esmtp=esmtp, tls=tls, authenticated=auth, smtputf8=utf8) == name


WHEN = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "helo, ip, recipients, expected",
    [
        (
            "mx.remote.test",
            "192.0.2.1",
            ["a@example.test"],
            b"Received: from mx.remote.test ([192.0.2.1])\r\n\tby mail.example.test with ESMTP id abc\r\n"
            b"\tfor <a@example.test>; Mon, 30 Nov 2026 07:00:00 +0000\r\n",
        ),
        (
            "[192.0.2.1]",
            "2001:db8::1",
            ["a@example.test", "b@example.test"],
            b"Received: from [192.0.2.1] ([IPv6:2001:db8::1])\r\n\tby mail.example.test with ESMTP id abc;"
            b" Mon, 30 Nov 2026 07:00:00 +0000\r\n",
        ),
        (
            "bad name (with) stuff\r\nX-Injected: 1",
            "::ffff:192.0.2.7",
            [],
            b"Received: from [192.0.2.7] ([192.0.2.7])\r\n\tby mail.example.test with ESMTP id abc;"
            b" Mon, 30 Nov 2026 07:00:00 +0000\r\n",
        ),
        (
            None,
            "not-an-ip",
            [],
            b"Received: from [unknown] ([unknown])\r\n\tby mail.example.test with ESMTP id abc;"
            b" Mon, 30 Nov 2026 07:00:00 +0000\r\n",
        ),
    ],
)
def test_received_field_is_rfc5321_trace_syntax_whatever_the_client_said(helo, ip, recipients, expected):
    assert (
        trace.received(
            helo=helo,
            peer_ip=ip,
            hostname="mail.example.test",
            protocol="ESMTP",
            trace_id="abc",
            recipients=recipients,
            when=WHEN,
        )
        == expected
    )


@pytest.mark.parametrize(
    "mail_from, field",
    [
        ("", b"Return-Path: <>\r\n"),
        ("<>", b"Return-Path: <>\r\n"),
        ("bob@example.test", b"Return-Path: <bob@example.test>\r\n"),
        ("j\u00f6rg@example.test", "Return-Path: <j\u00f6rg@example.test>\r\n".encode()),
    ],
)
def test_return_path_holds_the_reverse_path(mail_from, field):
    assert store.return_path(mail_from) == field


@pytest.mark.parametrize(
    "topic, first",
    [
        (None, "214-2.0.0 Commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY AUTH"),
        ("data", "214 2.0.0 Syntax: DATA"),
        (
            "STARTTLS",
            "504 5.5.4 No help for that; commands: HELO EHLO MAIL RCPT DATA BDAT RSET NOOP QUIT HELP VRFY AUTH",
        ),
    ],
)
def test_help_lists_only_what_this_connection_may_use(topic, first):
    assert policy.help_reply(topic, starttls=False, auth=True)[0] == first


@pytest.mark.parametrize(
    "peer, tls, allow_setting, offered",
    [
        ("192.0.2.1", False, False, False),
        ("192.0.2.1", True, False, True),
        ("192.0.2.1", False, True, True),
        ("127.0.0.1", False, False, True),
        ("::1", False, False, True),
    ],
)
def test_auth_is_offered_only_under_tls_from_loopback_or_by_setting(settings, peer, tls, allow_setting, offered):
    from protocols.smtp.handlers import Handler
    from protocols.smtp.server import limits_from_settings
    from protocols.smtp.session import SMTPSession

    settings.MAIL_ALLOW_PLAINTEXT_AUTH = allow_setting
    loop = asyncio.new_event_loop()
    try:
        profile = policy.PROFILES["smtps" if tls else "submission"]
        session = SMTPSession(
            Handler(limits_from_settings()),
            profile=profile,
            limits=limits_from_settings(),
            tls_context=None,
            sessions=set(),
            loop=loop,
        )
        session.peer_ip = peer
        assert session.auth_offered is offered
        lines = policy.ehlo_lines("mx", size=1, starttls=False, auth=session.auth_offered)
        assert ("250 AUTH PLAIN LOGIN" in lines) is offered
    finally:
        loop.close()


@pytest.mark.parametrize(
    "data, count",
    [
        (b"", 0),
        (b"Received: a\r\nreceived : b\r\n\tfolded\r\nRECEIVED:c\r\nX-Received: d\r\n\r\nReceived: in the body\r\n", 3),
        (b"Subject: x\nReceived: bare LF header\n\nReceived: body\n", 1),
        (b"Subject: no body\r\nReceived: last\r\n", 1),
    ],
)
def test_received_fields_are_counted_in_the_header_only(data, count):
    assert policy.received_count(data) == count


@pytest.mark.parametrize(
    "text, control",
    [
        ("client.test", False),
        ("[192.0.2.1]", False),
        ("", False),
        (None, False),
        ("ünï.test", False),
        ("a\rb", True),
        ("a\x00", True),
        ("a\tb", True),
        ("a\x7f", True),
        ("a\x1b[0m", True),
        ("a\x85b", True),
        ("a\u2028b", True),
        ("\udc85", False),
    ],
)
def test_control_characters_are_found_anywhere(text, control):
    assert policy.has_control(text) is control
