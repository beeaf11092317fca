"""DSN parameters (RFC 3461) at MAIL and RCPT: their syntax (xtext, the
values each takes), table-driven, and the replies over a real socket."""

from __future__ import annotations

import pytest

from protocols.smtp import dsn

from .conftest import EHLO_MX


@pytest.mark.parametrize(
    "wire, text",
    [
        ("", ""),
        ("abc", "abc"),
        ("a+2Bb+3Dc", "a+b=c"),
        ("+20x+7E", " x~"),
        ("Q!*,<>~", "Q!*,<>~"),
    ],
)
def test_xtext_decodes_hex_escapes_and_encoding_gives_the_same_wire_back(wire, text):
    assert dsn.xtext_decode(wire) == text
    assert dsn.xtext_decode(dsn.xtext_encode(text)) == text


@pytest.mark.parametrize("wire", ["a+b", "a=b", "+2b", "+2", "a b", "é"])
def test_bad_xtext_is_a_syntax_error(wire):
    with pytest.raises(dsn.DsnSyntax):
        dsn.xtext_decode(wire)


@pytest.mark.parametrize(
    "params, rest, expected",
    [
        ([], [], dsn.MailDsn()),
        (["SIZE=10", "ret=hdrs", "ENVID=QQ+2B1"], ["SIZE=10"], dsn.MailDsn("HDRS", "QQ+1")),
        (["RET=FULL"], [], dsn.MailDsn("FULL", "")),
    ],
)
def test_mail_parameters_are_taken_out(params, rest, expected):
    assert dsn.take_mail(params) == (rest, expected)


@pytest.mark.parametrize(
    "params", [["RET=ALL"], ["RET=FULL", "RET=HDRS"], ["ENVID="], ["ENVID=" + "x" * 101], ["ENVID=a+0Ab"]]
)
def test_bad_mail_parameters_are_syntax_errors(params):
    with pytest.raises(dsn.DsnSyntax):
        dsn.take_mail(params)


@pytest.mark.parametrize(
    "params, expected",
    [
        (["NOTIFY=never"], dsn.RcptDsn(("NEVER",))),
        (
            ["NOTIFY=SUCCESS,DELAY", "ORCPT=rfc822;b+2Bx@example.test"],
            dsn.RcptDsn(("SUCCESS", "DELAY"), "rfc822;b+x@example.test"),
        ),
        (["ORCPT=RFC822;a@b.test"], dsn.RcptDsn((), "rfc822;a@b.test")),
    ],
)
def test_rcpt_parameters_are_taken_out_and_passed_on_as_given(params, expected):
    assert dsn.take_rcpt(params) == ([], expected)
    assert dsn.take_rcpt(dsn.rcpt_params(expected).split()) == ([], expected)


@pytest.mark.parametrize(
    "params",
    [
        ["NOTIFY=NEVER,SUCCESS"],
        ["NOTIFY=SOMETIMES"],
        ["NOTIFY=DELAY,DELAY"],
        ["ORCPT=a@b.test"],
        ["ORCPT=;a@b.test"],
        ["ORCPT=rfc822;a=b"],
        ["NOTIFY=NEVER", "NOTIFY=NEVER"],
    ],
)
def test_bad_rcpt_parameters_are_syntax_errors(params):
    with pytest.raises(dsn.DsnSyntax):
        dsn.take_rcpt(params)


def test_dsn_parameters_are_accepted_at_mail_and_rcpt_and_bad_ones_get_501(mx, alice):
    mx.run(
        EHLO_MX
        + """
        C: MAIL FROM:<sender@remote.test> RET=FULL ENVID=x+3Dy
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<alice@example.test> NOTIFY=NEVER,SUCCESS
        S: 501 5.5.4 Bad DSN parameter (RFC 3461: NOTIFY, ORCPT, RET, ENVID)
        C: RCPT TO:<alice@example.test> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;Alice+40example.test
        S: 250 2.1.5 Recipient ok
        C: RCPT TO:<bob@example.test> UNKNOWN=1
        S: 555 5.5.4 RCPT TO parameters not recognized or not implemented
        C: RSET
        S: 250 2.0.0 OK
        C: MAIL FROM:<sender@remote.test> ENVID=a=b
        S: 501 5.5.4 Bad DSN parameter (RFC 3461: NOTIFY, ORCPT, RET, ENVID)
    """
    )
