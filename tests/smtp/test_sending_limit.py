"""The per-account sending limit (MAIL_SEND_LIMIT recipients an hour) on
submission: over it, MAIL and RCPT answer 450 4.7.0 and nothing is sent;
the MX, which has no account, is not limited."""

from __future__ import annotations

import pytest

from conftest import PASSWORDS
from mailboxes import store

from .conftest import ALICE, inbox, plain_credentials

AUTH_ALICE = f"C: AUTH PLAIN {plain_credentials(ALICE, PASSWORDS[ALICE])}\nS: 235 2.7.0 Authentication successful"
LIMITED = "450 4.7.0 Sending rate limit reached for this account, try again later"


@pytest.fixture
def limit_of_three(settings):  # type: ignore[no-untyped-def]
    settings.MAIL_SEND_LIMIT = 3  # the server runs in this process: it reads the setting per check


def send(recipients: list[str], sender: str = ALICE) -> str:
    lines = [f"C: RCPT TO:<{r}>\nS: 250 2.1.5 Recipient ok" for r in recipients]
    return "\n".join(
        [
            f"C: MAIL FROM:<{sender}>",
            "S: 250 2.1.0 Sender ok",
            *lines,
            "C: DATA",
            "S: 354 {{.*}}",
            "C: Subject: hi",
            "C:",
            "C: hello",
            "C: .",
            "S: 250 2.0.0 Ok: stored as {{\\w+}}",
        ]
    )


def test_submission_refuses_the_recipient_past_the_hourly_limit_and_then_any_mail(
    submission, limit_of_three, alice, bob, charlie
):
    submission.send_line("EHLO client.test")
    while not submission.read_line().startswith(b"250 "):
        pass
    submission.run(AUTH_ALICE)
    submission.run(send(["bob@example.test", "charlie@other.test"]))
    submission.run(f"""
        C: MAIL FROM:<alice@example.test>
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<bob@example.test>
        S: 250 2.1.5 Recipient ok
        C: RCPT TO:<charlie@other.test>
        S: {LIMITED}
        C: DATA
        S: 354 {{{{.*}}}}
        C: Subject: third
        C:
        C: hello
        C: .
        S: 250 2.0.0 Ok: stored as {{{{\\w+}}}}
        C: MAIL FROM:<alice@example.test>
        S: {LIMITED}
        C: QUIT
        S: 221 2.0.0 Bye
    """)
    assert len(inbox(bob.id)) == 2 and len(inbox(charlie.id)) == 1
    with pytest.raises(store.SendingLimited):
        store.check_sending(alice.id, 1)
    store.check_sending(bob.id, 3)  # another account's count is its own


def test_the_mx_is_not_limited_for_mail_from_other_hosts(mx, limit_of_three, alice):
    mx.run("C: EHLO other.test")
    while not mx.read_line().startswith(b"250 "):
        pass
    for _ in range(4):
        mx.run(send(["alice@example.test"], sender="someone@other.test"))
    assert len(inbox(alice.id)) == 4
