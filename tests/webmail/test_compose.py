"""Writing mail: what compose sends is valid MIME, goes where SMTP submission
would send it, lands in Sent, and replies, forwards and drafts carry what
they should."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import sample_message
from mailboxes import compose, mime, store
from mailboxes.models import OutboundRecipient

from .helpers import deliver_to, folder_id, with_attachments


def parse(raw: bytes) -> EmailMessage:
    return email.message_from_bytes(raw, policy=policy.default)  # type: ignore[return-value]


def text(msg: EmailMessage) -> str:
    return msg.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]


def newest(account_id: int, name: str) -> tuple[int, bytes]:
    f = folder_id(account_id, name)
    item = store.message_page(account_id, f).items[0]
    return item.uid, store.message_bytes(account_id, f, item.uid)


def test_sending_delivers_locally_queues_remote_and_files_a_copy_with_bcc_in_sent(alice, bob, charlie, alice_client):
    store.save_preferences(alice.id, store.Preferences(display_name="Alice Ärger"))
    response = alice_client.post(
        "/mail/compose/",
        {
            "to": "Bob <bob@example.test>, dora@far.test",
            "cc": "",
            "bcc": "charlie@other.test",
            "subject": "Grüße aus Köln",
            "body": "Hällo Bob,\r\nsee the file.\r\n",
            "action": "send",
            "files": [SimpleUploadedFile("naïve plan.txt", b"step 1\n", content_type="text/plain")],
        },
    )
    assert response.status_code == 302
    _uid, delivered = newest(bob.id, "INBOX")
    assert delivered.isascii()  # 7-bit clean: RFC 2047 headers, quoted-printable or base64 bodies
    assert delivered.startswith(b"Return-Path: <alice@example.test>\r\n")  # RFC 5321 4.4, at final delivery
    msg = parse(delivered)
    assert msg["Subject"] == "Grüße aus Köln" and b"=?utf-8?" in delivered.split(b"\r\n\r\n")[0]
    assert msg["From"].addresses[0].display_name == "Alice Ärger" and msg["Bcc"] is None
    assert text(msg) == "Hällo Bob,\nsee the file.\n"
    [att] = list(msg.iter_attachments())
    assert att.get_filename() == "naïve plan.txt" and att.get_content() == "step 1\n"
    assert newest(charlie.id, "INBOX")[1] == delivered  # Bcc recipients get the same bytes
    assert list(OutboundRecipient.objects.values_list("address", flat=True)) == ["dora@far.test"]
    _uid, sent = newest(alice.id, "Sent")
    assert parse(sent)["Bcc"] == "charlie@other.test" and parse(sent)["Message-ID"] == msg["Message-ID"]
    assert "\\Seen" in store.message_page(alice.id, folder_id(alice.id, "Sent")).items[0].flags


def test_reply_quotes_threads_and_marks_the_original_answered(alice, bob, alice_client):
    store.save_preferences(alice.id, store.Preferences(signature="Alice"))
    raw = sample_message(
        subject="Lunch?",
        body="Pizza at noon?\r\n",
        extra="Reply-To: Bob Home <bob@example.test>\r\n"
        "References: <earlier@example.test>\r\nCc: alice@example.test, team@other.test\r\n",
    )
    inbox, uid = deliver_to(alice.address, raw)
    form = alice_client.get(f"/mail/compose/?mode=all&f={inbox}&u={uid}").content.decode()
    assert 'value="Bob Home &lt;bob@example.test&gt;"' in form and 'value="team@other.test"' in form
    assert 'value="Re: Lunch?"' in form and "&gt; Pizza at noon?" in form and "-- \nAlice" in form
    original = parse(raw)
    alice_client.post(
        "/mail/compose/",
        {
            "to": "bob@example.test",
            "subject": "Re: Lunch?",
            "body": "Yes!\r\n\r\n> Pizza at noon?",
            "mode": "reply",
            "f": inbox,
            "u": uid,
            "in_reply_to": original["Message-ID"],
            "references": f"<earlier@example.test> {original['Message-ID']}",
            "action": "send",
        },
    )
    reply = parse(newest(bob.id, "INBOX")[1])
    assert reply["In-Reply-To"] == original["Message-ID"]
    assert reply["References"] == f"<earlier@example.test> {original['Message-ID']}"
    assert "\\Answered" in store.open_message(alice.id, inbox, uid).flags


def test_forward_inline_keeps_the_attachments_and_forward_as_attachment_embeds_the_message(alice, bob, alice_client):
    inbox, uid = deliver_to(alice.address, with_attachments())
    form = alice_client.get(f"/mail/compose/?mode=forward&f={inbox}&u={uid}").content.decode()
    assert "Fwd: Report with attachments" in form and "---------- Forwarded message" in form
    assert 'name="keep" value="2" checked' in form and 'name="keep" value="3" checked' in form
    alice_client.post(
        "/mail/compose/",
        {
            "to": "bob@example.test",
            "subject": "Fwd: report",
            "body": "FYI",
            "mode": "forward",
            "f": inbox,
            "u": uid,
            "keep": ["2"],
            "action": "send",
        },
    )
    forwarded = parse(newest(bob.id, "INBOX")[1])
    assert [a.get_filename() for a in forwarded.iter_attachments()] == ["report.pdf"]
    assert next(forwarded.iter_attachments()).get_content().startswith(b"%PDF-1.4")
    alice_client.post(
        "/mail/compose/",
        {
            "to": "bob@example.test",
            "subject": "Fwd: whole",
            "body": "see",
            "mode": "attach",
            "f": inbox,
            "u": uid,
            "attach_original": "1",
            "action": "send",
        },
    )
    raw = newest(bob.id, "INBOX")[1]
    [embedded] = [p for p in mime.analyze(raw).structure["parts"] if p["type"] == "message"]
    assert embedded["subtype"] == "rfc822" and embedded["envelope"]["subject"] == "Report with attachments"


def test_a_draft_is_saved_resumed_replaced_and_removed_when_sent(alice, bob, alice_client):
    response = alice_client.post(
        "/mail/compose/",
        {
            "to": "bob@example.test",
            "bcc": "charlie@other.test",
            "subject": "Plan",
            "body": "first version",
            "action": "save",
            "files": [SimpleUploadedFile("a.txt", b"A")],
        },
    )
    drafts = folder_id(alice.id, "Drafts")
    first = store.message_page(alice.id, drafts).items[0]
    assert response["Location"] == f"/mail/compose/?mode=draft&f={drafts}&u={first.uid}"
    assert {"\\Draft", "\\Seen"} <= first.flags
    form = alice_client.get(response["Location"]).content.decode()
    assert 'value="bob@example.test"' in form and 'value="charlie@other.test"' in form
    assert ">\nfirst version</textarea>" in form and f'name="draft" value="{first.uid}"' in form
    assert 'name="keep" value="2" checked' in form
    alice_client.post(
        "/mail/compose/",
        {
            "to": "bob@example.test",
            "subject": "Plan",
            "body": "second version",
            "draft": first.uid,
            "mode": "draft",
            "f": drafts,
            "u": first.uid,
            "keep": ["2"],
            "action": "save",
        },
    )
    [second] = store.message_page(alice.id, drafts).items
    second_raw = parse(store.message_bytes(alice.id, drafts, second.uid))
    assert text(second_raw) == "second version\n"
    assert [a.get_filename() for a in second_raw.iter_attachments()] == ["a.txt"]
    alice_client.post(
        "/mail/compose/",
        {
            "to": "bob@example.test",
            "subject": "Plan",
            "body": "final",
            "draft": second.uid,
            "mode": "draft",
            "f": drafts,
            "u": second.uid,
            "action": "send",
        },
    )
    assert store.message_page(alice.id, drafts).total == 0
    assert text(parse(newest(bob.id, "INBOX")[1])) == "final\n"


@pytest.mark.parametrize(
    "fields, status, says",
    [
        ({"to": "not an address"}, 400, b"not a valid address"),
        ({"to": ""}, 400, b"at least one recipient"),
        ({"to": ", ".join(f"u{n}@far.test" for n in range(101))}, 400, b"At most 100 recipients"),
    ],
)
def test_bad_recipients_are_refused_with_the_form_kept(alice, alice_client, fields, status, says):
    response = alice_client.post("/mail/compose/", {"subject": "kept subject", "body": "b", "action": "send", **fields})
    assert response.status_code == status and says in response.content and b"kept subject" in response.content


def test_uploads_past_the_size_limit_are_refused(alice, alice_client, settings):
    settings.MAIL_MAX_MESSAGE_SIZE = 4096
    response = alice_client.post(
        "/mail/compose/",
        {
            "to": "bob@example.test",
            "subject": "big",
            "action": "send",
            "files": [SimpleUploadedFile("big.bin", b"x" * 8000)],
        },
    )
    assert response.status_code == 413
    assert store.message_page(alice.id, folder_id(alice.id, "Sent")).total == 0


def test_a_line_break_in_the_subject_cannot_add_a_header(alice, bob, alice_client):
    alice_client.post(
        "/mail/compose/",
        {"to": "bob@example.test", "subject": "Hi\r\nBcc: eve@evil.test", "body": "x", "action": "send"},
    )
    msg = parse(newest(bob.id, "INBOX")[1])
    assert msg["Bcc"] is None and msg["Subject"] == "Hi Bcc: eve@evil.test"
    assert not OutboundRecipient.objects.filter(address="eve@evil.test").exists()


@pytest.mark.parametrize(
    "text, expected",
    [
        ("Bob <bob@example.test>, carl@x.test", [("Bob", "bob@example.test"), ("", "carl@x.test")]),
        ('"Doe, Jane" <jane@x.test>;', [("Doe, Jane", "jane@x.test")]),
        ("", []),
    ],
)
def test_address_fields_are_parsed(text, expected):
    assert compose.parse_addresses(text) == expected


@pytest.mark.parametrize(
    "subject, reply, forward",
    [
        ("Lunch", "Re: Lunch", "Fwd: Lunch"),
        ("Re: Re: Lunch", "Re: Lunch", "Fwd: Lunch"),
        ("AW: Fwd: Lunch", "Re: Lunch", "Fwd: Lunch"),
        ("", "Re: ", "Fwd: "),
    ],
)
def test_reply_and_forward_subjects_do_not_pile_up_prefixes(subject, reply, forward):
    assert compose.reply_subject(subject) == reply and compose.forward_subject(subject) == forward


class CountedReads(str):
    """A subject that counts how often its characters are read."""

    reads = 0

    def __getitem__(self, key):  # type: ignore[no-untyped-def]
        CountedReads.reads += 1
        return str.__getitem__(self, key)


HOSTILE_SUBJECTS = [  # (subject of about n characters, what is left once the prefixes are gone)
    pytest.param(lambda n: "re" + " " * n + "x", lambda n: "re" + " " * n + "x", id="re-then-spaces"),
    pytest.param(lambda n: "Re: " * (n // 4) + "Lunch", lambda n: "Lunch", id="many-re"),
    pytest.param(lambda n: "Re:" + " " * n + "re" + " " * n, lambda n: "re" + " " * n, id="spaces-around-re"),
    pytest.param(lambda n: "AW [" + "1" * n, lambda n: "AW [" + "1" * n, id="unclosed-count"),
    pytest.param(lambda n: "Fwd[2]: " * (n // 8) + "re [2] x", lambda n: "re [2] x", id="many-counted-fwd"),
]


@pytest.mark.parametrize("hostile, rest", HOSTILE_SUBJECTS)
def test_prefix_stripping_reads_each_character_of_a_hostile_subject_a_bounded_number_of_times(hostile, rest):
    for n in (10_000, 100_000):
        subject = CountedReads(hostile(n))
        CountedReads.reads = 0
        assert compose.strip_prefixes(subject) == rest(n)
        assert 0 < CountedReads.reads <= 3 * len(subject) + 10  # linear: a quadratic pass reads n * n / 2


@pytest.mark.timeout(60)  # the backtracking expression took about 45 s for the first one, an hour for all
@pytest.mark.parametrize("hostile, rest", HOSTILE_SUBJECTS)
def test_reply_and_forward_to_a_hostile_subject_of_100000_characters_answer(alice, alice_client, hostile, rest):
    inbox, uid = deliver_to(alice.address, sample_message(subject=hostile(100_000)))
    stored = store.open_message(alice.id, inbox, uid).subject  # unfolded, trailing spaces trimmed
    assert stored.rstrip() == hostile(100_000).rstrip()
    for mode, prefix in (("reply", "Re: "), ("forward", "Fwd: ")):
        form = alice_client.get(f"/mail/compose/?mode={mode}&f={inbox}&u={uid}")
        assert form.status_code == 200
        assert f'value="{prefix}{rest(100_000)}'.rstrip().encode() in form.content


def test_built_messages_are_valid_mime_with_long_and_non_ascii_lines_encoded():
    raw = compose.build(
        compose.Outgoing(
            "alice@example.test",
            "Ålice",
            to=(("Bøb", "bob@example.test"),),
            subject="ü" * 100,
            text="x" * 2000 + "\nshort\n",
            attachments=(compose.Attachment("r.pdf", "application/pdf", b"\x00\xff"),),
        )
    )
    assert raw.isascii() and max(len(line) for line in raw.split(b"\r\n")) <= 78
    assert b"\n" not in raw.replace(b"\r\n", b"")
    msg = parse(raw)
    assert msg["Subject"] == "ü" * 100 and msg["To"].addresses[0].display_name == "Bøb"
    assert text(msg) == "x" * 2000 + "\nshort\n"
    assert next(msg.iter_attachments()).get_content() == b"\x00\xff"
    assert msg["Date"] and msg["Message-ID"].endswith("@example.test>") and msg["MIME-Version"] == "1.0"
