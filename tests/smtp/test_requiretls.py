"""REQUIRETLS (RFC 8689) at MAIL: offered and taken only in a TLS session,
and kept with the queued message for the relay."""

from __future__ import annotations

from mailboxes.models import OutboundMessage

from .conftest import ALICE, AUTH_ALICE, EHLO_MX, EHLO_SUBMISSION, ehlo_advertising


def test_requiretls_without_tls_is_refused_with_5_7_10(mx):
    mx.run(
        EHLO_MX
        + """
        C: MAIL FROM:<sender@remote.test> REQUIRETLS
        S: 530 5.7.10 REQUIRETLS needs a TLS session (STARTTLS first)
        C: MAIL FROM:<sender@remote.test>
        S: 250 2.1.0 Sender ok
    """
    )


def test_after_starttls_requiretls_is_offered_and_kept_in_the_queue(submission, client_tls, alice):
    submission.run(EHLO_SUBMISSION + "C: STARTTLS\nS: 220 2.0.0 Ready to start TLS")
    submission.starttls(client_tls)
    submission.run(
        ehlo_advertising("ENHANCEDSTATUSCODES", "AUTH PLAIN LOGIN", "REQUIRETLS")
        + AUTH_ALICE
        + f"""
        C: MAIL FROM:<{ALICE}> REQUIRETLS
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<friend@remote.test>
        S: 250 2.1.5 Recipient ok
        C: DATA
        S: 354 {{{{.*}}}}
        C: Subject: secret
        C:
        C: only over verified TLS
        C: .
        S: 250 2.0.0 Ok: stored as {{{{[0-9a-f]+}}}}
        C: MAIL FROM:<{ALICE}>
        S: 250 2.1.0 Sender ok
        C: RCPT TO:<other@remote.test>
        S: 250 2.1.5 Recipient ok
        C: DATA
        S: 354 {{{{.*}}}}
        C: Subject: plain
        C: .
        S: 250 2.0.0 Ok: stored as {{{{[0-9a-f]+}}}}
    """
    )
    assert [m.require_tls for m in OutboundMessage.objects.order_by("pk")] == [True, False]
