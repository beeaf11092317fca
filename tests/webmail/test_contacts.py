"""The address book: store functions, vCard import and export (RFC 6350,
vobject), automatic contacts from sent mail, the pages, and compose
suggestions that come from contacts first."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import vobject
from django.core.files.uploadedfile import SimpleUploadedFile

from conftest import sample_message
from mailboxes import store

from .helpers import deliver_to

VCF = Path(__file__).parent / "data" / "contacts.vcf"


def test_import_reads_names_addresses_phone_and_notes(alice):
    assert store.import_vcards(alice.id, VCF.read_text()) == 2
    yannick, zoe = store.list_contacts(alice.id)  # by name
    assert zoe.name == "Zoe Quartermaine"
    assert zoe.addresses == ("zoe.q@partners.test", "zoe@home.test")
    assert zoe.phone == "+39 055 123 4567" and zoe.notes == "Met at the Florence conference, 2026."
    assert yannick.addresses == ("yannick@tennis.test",)
    # importing again updates the same contacts instead of adding others
    assert store.import_vcards(alice.id, VCF.read_text()) == 2
    assert len(store.list_contacts(alice.id)) == 2


def test_export_round_trips_through_a_vcard_reader(alice):
    store.save_contact(
        alice.id, None, name="Ada Lovelace", addresses=["ada@engine.test"], phone="+44 1", notes="Notes, with a comma"
    )
    cards = list(vobject.readComponents(store.export_vcards(alice.id)))
    assert len(cards) == 1
    assert cards[0].fn.value == "Ada Lovelace" and cards[0].email.value == "ada@engine.test"
    assert cards[0].note.value == "Notes, with a comma" and cards[0].tel.value == "+44 1"


def test_an_address_belongs_to_one_contact_and_bad_input_is_refused(alice, bob):
    store.save_contact(alice.id, None, name="One", addresses=["same@x.test"])
    with pytest.raises(store.InvalidInput):
        store.save_contact(alice.id, None, name="Two", addresses=["same@x.test"])
    with pytest.raises(store.InvalidInput):
        store.save_contact(alice.id, None, name="Bad", addresses=["not an address"])
    store.save_contact(bob.id, None, name="Bob's", addresses=["same@x.test"])  # another account's book
    assert [c.name for c in store.list_contacts(alice.id)] == ["One"]


def test_people_written_to_become_automatic_contacts_that_a_hand_made_contact_takes_over(alice, bob, alice_client):
    alice_client.post(
        "/mail/compose/", {"to": "Bob B <bob@example.test>", "cc": "dora@far.test", "subject": "Hi", "body": "Hello."}
    )
    auto = {c.addresses[0]: c for c in store.list_contacts(alice.id)}
    assert set(auto) == {"bob@example.test", "dora@far.test"}
    assert auto["bob@example.test"].name == "Bob B" and auto["bob@example.test"].auto
    store.save_contact(alice.id, None, name="Dora", addresses=["dora@far.test", "dora@work.test"])
    assert sorted(c.name for c in store.list_contacts(alice.id)) == ["Bob B", "Dora"]


def test_the_pages_add_edit_delete_import_and_export(alice, alice_client):
    response = alice_client.post("/mail/contacts/", {"name": "Ada", "addresses": "ada@engine.test"})
    assert response.status_code == 302
    ada = store.list_contacts(alice.id)[0]
    assert "ada@engine.test" in alice_client.get("/mail/contacts/").content.decode()
    alice_client.post(
        f"/mail/contacts/{ada.id}/", {"name": "Ada L.", "addresses": "ada@engine.test\nada@x.test", "phone": "1"}
    )
    assert store.get_contact(alice.id, ada.id).addresses == ("ada@engine.test", "ada@x.test")
    assert alice_client.post("/mail/contacts/", {"name": "", "addresses": ""}).status_code == 400
    alice_client.post(f"/mail/contacts/{ada.id}/", {"op": "delete"})
    assert store.list_contacts(alice.id) == []
    alice_client.post("/mail/contacts/import", {"vcards": SimpleUploadedFile("c.vcf", VCF.read_bytes())})
    assert len(store.list_contacts(alice.id)) == 2
    exported = alice_client.get("/mail/contacts/export")
    assert exported["Content-Type"].startswith("text/vcard")
    assert b"zoe.q@partners.test" in exported.content


def test_someone_elses_contact_is_not_found(alice, bob, bob_client):
    ada = store.save_contact(alice.id, None, name="Ada", addresses=["ada@engine.test"])
    assert bob_client.get(f"/mail/contacts/{ada.id}/").status_code == 404
    assert bob_client.post(f"/mail/contacts/{ada.id}/", {"op": "delete"}).status_code == 404
    assert json.loads(bob_client.get("/mail/suggest?q=ada").content)["suggestions"] == []


def test_suggestions_come_from_imported_contacts(alice, alice_client):
    store.import_vcards(alice.id, VCF.read_text())
    data = json.loads(alice_client.get("/mail/suggest?q=quarter").content)
    assert data["suggestions"] == ["Zoe Quartermaine <zoe.q@partners.test>", "Zoe Quartermaine <zoe@home.test>"]


def test_a_contacts_page_lists_recent_mail_with_them(alice, alice_client):
    deliver_to(alice.address, sample_message(subject="From Zoe", sender="Zoe <zoe@home.test>"))
    deliver_to(alice.address, sample_message(subject="From someone else", sender="eve@else.test"))
    # Addresses that hold hers: not hers.
    deliver_to(alice.address, sample_message(subject="From Bozoe", sender="Bozoe <bozoe@home.test>"))
    deliver_to(alice.address, sample_message(subject="To Zoe at work", to="zoe@home.test.example"))
    deliver_to(alice.address, sample_message(subject="Copied to Zoe", extra='Cc: "Z" <ZOE@home.test>, x@y.test\r\n'))
    store.import_vcards(alice.id, VCF.read_text())
    zoe = next(c for c in store.list_contacts(alice.id) if c.name.startswith("Zoe"))
    page = alice_client.get(f"/mail/contacts/{zoe.id}/").content.decode()
    assert "From Zoe" in page and "Copied to Zoe" in page
    assert "From someone else" not in page and "From Bozoe" not in page and "To Zoe at work" not in page


def test_a_contacts_page_lists_their_20_latest_messages_in_every_folder_newest_first(alice, alice_client):
    from datetime import UTC, datetime, timedelta

    start = datetime(2026, 11, 1, tzinfo=UTC)
    for n in range(24):
        raw = sample_message(subject=f"Note {n:02d}", body=f"{n}\r\n", sender="Ada <ada@engine.test>")
        store.append(alice.id, "INBOX", raw, internal_date=start + timedelta(days=n))
    sent = sample_message(subject="Reply to Ada", sender=alice.address, to="Ada <ADA@engine.test>")
    store.append(alice.id, "Sent", sent, internal_date=start + timedelta(days=30))
    store.append(alice.id, "INBOX", sample_message(subject="Not hers", sender="eve@engine.test"))
    ada = store.save_contact(alice.id, None, name="Ada", addresses=["ada@engine.test"])
    page = alice_client.get(f"/mail/contacts/{ada.id}/").content.decode()
    shown = re.findall(r"Reply to Ada|Note \d\d|Not hers", page)
    assert shown == ["Reply to Ada"] + [f"Note {n:02d}" for n in range(23, 4, -1)]
