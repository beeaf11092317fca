"""Sieve at final delivery, end to end: mail sent to the MX over SMTP
(smtplib), the result read over IMAP (imaplib): folder and flags; rejects at
DATA, redirects and vacation replies on the outbound queue, a runtime error
keeping the message in INBOX and telling the owner once."""

from __future__ import annotations

import imaplib
import re
import smtplib
from collections.abc import Iterator

import pytest

from conftest import PASSWORDS, sample_message
from mailboxes import store
from mailboxes.models import Domain, OutboundRecipient
from tests.servers import InProcessServer

ALICE = "alice@example.test"


@pytest.fixture(scope="module")
def servers() -> Iterator[InProcessServer]:
    with InProcessServer(["smtp", "imap"]) as server:
        yield server


def send(servers: InProcessServer, raw: bytes, to: list[str], sender: str = "dora@far.test") -> None:
    with smtplib.SMTP("127.0.0.1", servers.ports["smtp"]) as smtp:
        smtp.sendmail(sender, to, raw)


def folder(servers: InProcessServer, name: str, address: str = ALICE) -> list[tuple[str, set[str]]]:
    """(subject, flags but \\Recent) of every message in the folder, over IMAP; [] if it does not exist."""
    imap = imaplib.IMAP4("127.0.0.1", servers.ports["imap"])
    try:
        imap.login(address, PASSWORDS[address])
        status, exists = imap.select(f'"{name}"', readonly=True)
        if status != "OK" or exists[0] == b"0":
            return []
        _, data = imap.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
        out = []
        for item in data:
            if isinstance(item, tuple):
                flags = set(re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split())  # type: ignore[union-attr]
                flags.discard("\\Recent")
                out.append((item[1].decode().partition(":")[2].strip(), flags))
        return out
    finally:
        imap.logout()


def activate(account: store.AccountInfo, text: str) -> None:
    store.put_script(account.id, "main", text)
    store.activate_script(account.id, "main")


def queued_to(address: str) -> int:
    return OutboundRecipient.objects.filter(address=address).count()


@pytest.fixture
def external_forwards(users):  # type: ignore[no-untyped-def]
    """example.test lets its users forward to other hosts (it does not by default)."""
    Domain.objects.filter(name="example.test").update(allow_external_forwards=True)


def test_fileinto_create_files_matching_mail_and_keeps_the_rest(servers, alice):
    activate(
        alice, 'require ["fileinto", "mailbox"];\nif header :contains "subject" "bank" { fileinto :create "Finance"; }'
    )
    send(servers, sample_message(subject="Your bank statement"), [ALICE])
    send(servers, sample_message(subject="Lunch?"), [ALICE])
    assert folder(servers, "Finance") == [("Your bank statement", set())]
    assert folder(servers, "INBOX") == [("Lunch?", set())]


def test_fileinto_a_missing_folder_without_create_keeps_the_message_in_inbox(servers, alice):
    activate(alice, 'require "fileinto";\nfileinto "Nowhere";')
    send(servers, sample_message(subject="kept"), [ALICE])
    assert [s for s, _ in folder(servers, "INBOX")] == ["kept"]
    assert folder(servers, "Nowhere") == []


def test_addflag_marks_the_kept_copy_seen_and_flagged(servers, alice):
    activate(alice, 'require "imap4flags";\nif header :contains "from" "bob" { addflag ["\\\\Seen", "\\\\Flagged"]; }')
    send(servers, sample_message(subject="from bob"), [ALICE])
    [(subject, flags)] = folder(servers, "INBOX")
    assert {"\\Seen", "\\Flagged"} <= flags


def test_fileinto_with_flags_and_a_keyword_into_an_existing_folder(servers, alice):
    activate(alice, 'require ["fileinto", "imap4flags"];\nfileinto :flags ["\\\\Seen", "lists"] "Archive";')
    send(servers, sample_message(subject="archived"), [ALICE])
    [(subject, flags)] = folder(servers, "Archive")
    assert subject == "archived" and {"\\Seen", "lists"} <= flags


def test_a_keyword_sieve_files_with_is_in_the_folders_flags_at_select(servers, alice):
    # RFC 3501 7.2.6: FLAGS lists the flags defined in the mailbox; a keyword a
    # delivered message holds is one, before any FETCH shows it.
    activate(
        alice,
        'require ["fileinto", "imap4flags"];\n'
        'if header :contains "subject" "file" { fileinto :flags ["$Label3"] "Archive"; } else { addflag "Kept"; }',
    )
    send(servers, sample_message(subject="file me"), [ALICE])
    send(servers, sample_message(subject="keep me"), [ALICE])
    imap = imaplib.IMAP4("127.0.0.1", servers.ports["imap"])
    try:
        imap.login(ALICE, PASSWORDS[ALICE])
        defined = {}
        for name in ("Archive", "INBOX"):
            imap.select(f'"{name}"', readonly=True)
            _, [flags] = imap.response("FLAGS")
            defined[name] = set(flags.decode().strip("()").split())
    finally:
        imap.logout()
    assert "$Label3" in defined["Archive"] and "Kept" not in defined["Archive"]
    assert "Kept" in defined["INBOX"] and "$Label3" not in defined["INBOX"]


def test_discard_stores_nothing(servers, alice):
    activate(alice, 'if header :contains "subject" "spam" { discard; }')
    send(servers, sample_message(subject="spam spam"), [ALICE])
    assert folder(servers, "INBOX") == []


def test_reject_is_answered_at_data_with_550_and_the_reason(servers, alice):
    activate(alice, 'require "reject";\nreject "I do not want this.";')
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(servers, sample_message(subject="unwanted"), [ALICE])
    assert refused.value.smtp_code == 550
    assert refused.value.smtp_error == b"5.7.1 I do not want this."
    assert folder(servers, "INBOX") == []


def test_reject_by_one_of_two_recipients_delivers_to_the_other_and_bounces_a_dsn(servers, alice, bob):
    activate(alice, 'require "reject";\nreject "no thanks";')
    send(servers, sample_message(subject="to both"), [ALICE, bob.address])
    assert folder(servers, "INBOX") == []
    assert [s for s, _ in folder(servers, "INBOX", bob.address)] == ["to both"]
    assert queued_to("dora@far.test") == 1  # the DSN


def test_redirect_goes_on_the_outbound_queue_and_copy_keeps_one(servers, alice, external_forwards):
    activate(alice, 'require "copy";\nredirect :copy "elsewhere@far.test";')
    send(servers, sample_message(subject="forward me"), [ALICE])
    assert queued_to("elsewhere@far.test") == 1
    assert [s for s, _ in folder(servers, "INBOX")] == ["forward me"]


def test_a_users_redirect_to_another_host_follows_the_domains_external_forwards_policy(servers, alice):
    activate(alice, 'require "copy";\nredirect :copy "elsewhere@far.test";')  # as a ManageSieve client would
    send(servers, sample_message(subject="not allowed out"), [ALICE])
    assert queued_to("elsewhere@far.test") == 0
    subjects = [s for s, _ in folder(servers, "INBOX")]
    assert "not allowed out" in subjects and "Your mail filter failed" in subjects
    Domain.objects.filter(name="example.test").update(allow_external_forwards=True)
    send(servers, sample_message(subject="allowed out"), [ALICE])
    assert queued_to("elsewhere@far.test") == 1


def test_runtime_error_keeps_the_message_and_tells_the_owner_once(servers, alice, external_forwards):
    activate(alice, "".join(f'redirect "u{i}@far.test";' for i in range(5)))
    send(servers, sample_message(subject="first"), [ALICE])
    send(servers, sample_message(subject="second"), [ALICE])
    subjects = [s for s, _ in folder(servers, "INBOX")]
    assert subjects.count("Your mail filter failed") == 1
    assert "first" in subjects and "second" in subjects
    assert queued_to("u0@far.test") == 0


def test_vacation_replies_once_per_sender_per_period(servers, alice):
    activate(alice, 'require "vacation";\nvacation :days 7 :subject "Away" "Back on Monday.";')
    send(servers, sample_message(subject="one"), [ALICE])
    send(servers, sample_message(subject="two"), [ALICE])
    assert queued_to("dora@far.test") == 1
    assert len(folder(servers, "INBOX")) == 2


def test_subaddress_is_delivered_to_the_user_and_detail_is_seen_by_envelope(servers, alice):
    activate(
        alice,
        'require ["envelope", "subaddress", "fileinto", "mailbox"];\n'
        'if envelope :detail "to" "lists" { fileinto :create "Lists"; }',
    )
    send(servers, sample_message(subject="list mail"), ["alice+lists@example.test"])
    assert [s for s, _ in folder(servers, "Lists")] == ["list mail"]


def test_duplicate_message_id_is_discarded_the_second_time(servers, alice):
    activate(alice, 'require "duplicate";\nif duplicate { discard; }')
    raw = sample_message(subject="twice")
    send(servers, raw, [ALICE])
    send(servers, raw, [ALICE])
    assert [s for s, _ in folder(servers, "INBOX")] == ["twice"]


def test_domain_before_script_runs_ahead_of_the_users(servers, alice, bob):
    root = store.create_account("root@other.test", "root-secret", superuser=True)
    actor = store.admin_actor(root.id)
    assert actor is not None
    store.admin_set_domain_script(actor, "example.test", "before", 'require "imap4flags";\naddflag "\\\\Flagged";')
    activate(alice, 'require ["fileinto", "mailbox"];\nfileinto :create "Filed";')
    send(servers, sample_message(subject="both"), [ALICE, bob.address])
    [(_, alice_flags)] = folder(servers, "Filed")
    [(_, bob_flags)] = folder(servers, "INBOX", bob.address)
    assert "\\Flagged" in bob_flags  # the domain script's implicit keep flags
    assert "\\Flagged" not in alice_flags  # alice's explicit fileinto has its own (none)


def test_spamtest_reads_the_filters_score_only_when_a_spam_filter_is_configured(servers, alice, settings):
    activate(
        alice,
        'require ["spamtest", "fileinto", "relational", "comparator-i;ascii-numeric"];\n'
        'if spamtest :value "ge" :comparator "i;ascii-numeric" "6" { fileinto "Junk"; }',
    )
    send(servers, sample_message(subject="forged score", extra="X-Spam-Score: 14.00\r\n"), [ALICE])
    assert [s for s, _ in folder(servers, "INBOX")] == ["forged score"]  # no filter: the field is the sender's
    settings.MAIL_RSPAMD_URL = "http://127.0.0.1:9"
    raw = sample_message(subject="scored", extra="X-Spam-Score: 12.00\r\n")
    store.deliver(raw, [ALICE], "dora@far.test")  # as the MX stores it once rspamd has scored it
    assert [s for s, _ in folder(servers, "Junk")] == ["scored"]


def test_a_message_that_went_round_too_often_is_not_redirected_again(servers, alice, external_forwards):
    activate(alice, 'redirect "elsewhere@far.test";')
    hops = "".join(
        f"Received: from hop{i}.far.test by mx.far.test; Mon, 7 Dec 2026 10:00:00 +0000\r\n" for i in range(20)
    )
    send(servers, sample_message(subject="looping", extra=hops), [ALICE])
    assert queued_to("elsewhere@far.test") == 0
    assert "looping" in [s for s, _ in folder(servers, "INBOX")]


def test_redirects_count_against_the_daily_redirect_limit_and_not_the_hourly_send_limit(
    servers, alice, external_forwards, settings
):
    settings.MAIL_SEND_LIMIT = 1
    settings.MAIL_SIEVE_REDIRECT_DAILY_LIMIT = 3
    activate(alice, 'require "copy";\nredirect :copy "elsewhere@far.test";')
    for n in range(4):
        send(servers, sample_message(subject=f"daily {n}"), [ALICE])
    assert queued_to("elsewhere@far.test") == 3  # past one an hour; the fourth is over the day's three
    subjects = [s for s, _ in folder(servers, "INBOX")]
    assert [s for s in subjects if s.startswith("daily")] == [f"daily {n}" for n in range(4)]  # nothing lost
    assert subjects.count("Your mail filter failed") == 1
    store.check_sending(alice.id, 1)  # the redirects did not use the hour's budget for mail alice writes


def test_a_redirect_to_a_local_address_is_stored_with_the_original_return_path(servers, alice, bob):
    activate(alice, f'redirect "{bob.address}";')
    send(servers, sample_message(subject="passed on"), [ALICE])
    imap = imaplib.IMAP4("127.0.0.1", servers.ports["imap"])
    try:
        imap.login(bob.address, PASSWORDS[bob.address])
        imap.select("INBOX", readonly=True)
        _, data = imap.fetch("1", "(BODY.PEEK[])")
    finally:
        imap.logout()
    stored = data[0][1]  # type: ignore[index]
    # RFC 5321 4.4: final delivery puts the envelope sender first, once, above the redirect's Received field.
    assert stored.startswith(b"Return-Path: <dora@far.test>\r\nReceived: by ")
    assert b"(Sieve redirect) for <bob@example.test>" in stored
    assert stored.count(b"Return-Path:") == 1
    assert folder(servers, "INBOX") == []
