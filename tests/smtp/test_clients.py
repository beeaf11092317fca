"""Real SMTP clients against the real listeners: Python's smtplib (STARTTLS,
AUTH PLAIN and LOGIN, SMTPS) and swaks from Debian, with the generated
certificate as the only trusted CA; and a 2 MB message stored byte for byte."""

from __future__ import annotations

import base64
import os
import quopri
import shutil
import smtplib
import ssl
import subprocess

import pytest

from conftest import PASSWORDS

from .conftest import body_after_trace, inbox

pytestmark = pytest.mark.slow

ALICE = "alice@example.test"
BOB = "bob@example.test"


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_smtplib_starttls_and_auth_on_submission(smtp_ports, client_tls, alice, bob, mechanism):
    with smtplib.SMTP("127.0.0.1", smtp_ports["submission"], timeout=30) as smtp:
        smtp.ehlo("client.test")
        assert smtp.has_extn("starttls")
        smtp.starttls(context=client_tls)
        smtp.ehlo("client.test")
        assert not smtp.has_extn("starttls")
        assert smtp.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        smtp.user, smtp.password = ALICE, PASSWORDS[ALICE]
        code, _ = smtp.auth(mechanism, getattr(smtp, f"auth_{mechanism.lower()}"), initial_response_ok=False)
        assert code == 235
        refused = smtp.sendmail(ALICE, [BOB], b"Subject: via smtplib\r\n\r\nhello\r\n")
        assert refused == {}
        with pytest.raises(smtplib.SMTPSenderRefused) as info:
            smtp.sendmail(BOB, [ALICE], b"Subject: forged\r\n\r\n")
        assert info.value.smtp_code == 553
    [stored] = inbox(bob.id)
    assert body_after_trace(stored) == b"Subject: via smtplib\r\n\r\nhello\r\n"
    assert b" with ESMTPSA id " in stored
    assert inbox(alice.id) == []


def test_smtps_speaks_tls_from_the_first_byte_and_wants_auth(smtp_ports, client_tls, bob):
    with smtplib.SMTP_SSL("127.0.0.1", smtp_ports["smtps"], context=client_tls, timeout=30) as smtp:
        smtp.ehlo("client.test")
        assert not smtp.has_extn("starttls")
        assert smtp.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
        with pytest.raises(smtplib.SMTPSenderRefused) as info:
            smtp.sendmail(BOB, [BOB], b"Subject: no auth\r\n\r\n")
        assert info.value.smtp_code == 530
        smtp.login(BOB, PASSWORDS[BOB])
        smtp.sendmail(BOB, [BOB, "friend@remote.test"], b"Subject: over smtps\r\n\r\nhi\r\n")
        assert smtp.docmd("STARTTLS") == (503, b"5.5.1 TLS already active")
    [stored] = inbox(bob.id)
    assert b" with ESMTPSA id " in stored and b"\tby " in stored
    assert body_after_trace(stored) == b"Subject: over smtps\r\n\r\nhi\r\n"


def test_a_client_that_does_not_trust_the_certificate_cannot_start_tls(smtp_ports):
    with smtplib.SMTP("127.0.0.1", smtp_ports["submission"], timeout=30) as smtp:
        smtp.ehlo("client.test")
        with pytest.raises(ssl.SSLCertVerificationError):
            smtp.starttls(context=ssl.create_default_context())


def two_megabyte_message(author: bytes = b"Bob <bob@example.test>") -> bytes:
    """multipart/mixed: 8-bit UTF-8 text, a base64 attachment, a quoted-printable
    part; lines that begin with a dot (dot-stuffing both ways), CRLF throughout."""
    text = "".join(f"{i:05d} Grüße aus Köln, 日本語のテキスト, ελληνικά — ünïcödé ✓\r\n" for i in range(6000))
    text += ".a line that starts with a dot\r\n..two dots\r\n"
    attachment = os.urandom(900_000)
    b64 = base64.encodebytes(attachment).replace(b"\n", b"\r\n")
    qp_source = ("Prix: 100 € = cent euros; tabulation\tfin; ligne très longue " * 40 + "\n.\n") * 120
    qp = quopri.encodestring(qp_source.encode("utf-8")).replace(b"\n", b"\r\n")
    boundary = b"==mailhost-boundary=="
    parts = [
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" + text.encode(),
        b"Content-Type: application/octet-stream; name=blob.bin\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=blob.bin\r\n\r\n" + b64,
        b"Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n" + qp,
    ]
    head = (
        b"From: " + author + b"\r\nTo: Alice <alice@example.test>\r\nSubject: =?utf-8?q?gro=C3=9F?=\r\n"
        b"Date: Mon, 30 Nov 2026 07:00:00 +0000\r\nMessage-ID: <big@example.test>\r\nMIME-Version: 1.0\r\n"
        b"Content-Type: multipart/mixed; boundary=\"" + boundary + b"\"\r\n\r\n"
    )
    body = b"".join(b"--" + boundary + b"\r\n" + part + b"\r\n" for part in parts) + b"--" + boundary + b"--\r\n"
    message = head + body
    assert 2_000_000 <= len(message) <= 2_300_000
    assert all(len(line) <= 998 for line in message.split(b"\r\n"))
    return message


@pytest.mark.parametrize("listener", ["smtp", "submission"])
def test_a_2mb_message_with_8bit_base64_and_qp_parts_is_stored_byte_exact(smtp_ports, client_tls, alice, listener):
    # On submission the author must be the login's own (issue #15 item 1).
    author = b"Alice <alice@example.test>" if listener == "submission" else b"Bob <bob@example.test>"
    message = two_megabyte_message(author)
    with smtplib.SMTP("127.0.0.1", smtp_ports[listener], timeout=60) as smtp:
        smtp.ehlo("client.test")
        if listener == "submission":
            smtp.starttls(context=client_tls)
            smtp.ehlo("client.test")
            smtp.login(ALICE, PASSWORDS[ALICE])
        smtp.sendmail(ALICE, [ALICE], message, mail_options=["BODY=8BITMIME", f"SIZE={len(message)}"])
    [stored] = inbox(alice.id)
    assert body_after_trace(stored) == message


SWAKS = shutil.which("swaks")


@pytest.mark.skipif(SWAKS is None, reason="swaks is not installed (make test installs it: APT_PACKAGES)")
def test_swaks_delivers_through_the_mx(smtp_ports, alice):
    result = subprocess.run(
        [
            SWAKS,
            "--server",
            "127.0.0.1",
            "--port",
            str(smtp_ports["smtp"]),
            "--helo",
            "swaks.test",
            "--from",
            "someone@remote.test",
            "--to",
            ALICE,
            "--header",
            "Subject: from swaks",
            "--body",
            "Sent by swaks.",
            "--pipeline",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "<-  250 2.0.0 Ok: stored as " in result.stdout
    [stored] = inbox(alice.id)
    assert b"Subject: from swaks" in stored and b"Sent by swaks." in stored
    assert b"Received: from swaks.test ([127.0.0.1])" in stored


@pytest.mark.skipif(SWAKS is None, reason="swaks is not installed (make test installs it: APT_PACKAGES)")
def test_swaks_starttls_and_auth_login_on_submission(smtp_ports, bob):
    from protocols.tls import certificate_paths

    result = subprocess.run(
        [
            SWAKS,
            "--server",
            "127.0.0.1",
            "--port",
            str(smtp_ports["submission"]),
            "--helo",
            "swaks.test",
            "--tls",
            "--tls-verify",
            "--tls-ca-path",
            str(certificate_paths()[0]),
            "--auth",
            "LOGIN",
            "--auth-user",
            BOB,
            "--auth-password",
            PASSWORDS[BOB],
            "--from",
            BOB,
            "--to",
            BOB,
            "--header",
            "Subject: swaks over tls",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "<~  235 2.7.0 Authentication successful" in result.stdout
    [stored] = inbox(bob.id)
    assert b"Subject: swaks over tls" in stored and b" with ESMTPSA id " in stored
