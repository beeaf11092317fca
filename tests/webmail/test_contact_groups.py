"""Contact groups: the store's functions (made, renamed, deleted, members
added and taken out, isolation between accounts), compose suggestions that
offer a group and its members' addresses, vCard CATEGORIES both ways, and
the pages that manage them."""

from __future__ import annotations

import json

import pytest
import vobject

from mailboxes import store
from mailboxes.store import contact_groups, contacts


def _contact(account_id: int, name: str, *addresses: str) -> store.ContactInfo:
    return store.save_contact(account_id, None, name=name, addresses=list(addresses))


def test_a_group_is_made_renamed_given_members_and_deleted_without_its_contacts(alice):
    ada = _contact(alice.id, "Ada", "ada@engine.test")
    bo = _contact(alice.id, "Bo", "bo@x.test")
    team = store.create_group(alice.id, "  Team  ")
    assert team.name == "Team" and team.member_ids == ()
    store.add_to_group(alice.id, team.id, ada.id)
    store.add_to_group(alice.id, team.id, bo.id)
    store.add_to_group(alice.id, team.id, bo.id)  # again: no change
    assert [c.name for c in store.group_members(alice.id, team.id)] == ["Ada", "Bo"]
    store.remove_from_group(alice.id, team.id, ada.id)
    assert store.list_groups(alice.id)[0].member_ids == (bo.id,)
    assert store.rename_group(alice.id, team.id, "Core team").name == "Core team"
    store.create_group(alice.id, "ancients")
    assert [g.name for g in store.list_groups(alice.id)] == ["ancients", "Core team"]  # by name, case aside
    store.delete_group(alice.id, team.id)
    assert [g.name for g in store.list_groups(alice.id)] == ["ancients"]
    assert {c.name for c in store.list_contacts(alice.id)} == {"Ada", "Bo"}


def test_deleting_a_contact_takes_it_out_of_its_groups(alice):
    ada = _contact(alice.id, "Ada", "ada@engine.test")
    team = store.create_group(alice.id, "Team")
    store.add_to_group(alice.id, team.id, ada.id)
    store.delete_contact(alice.id, ada.id)
    assert store.list_groups(alice.id)[0].member_ids == ()


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "team"])
def test_a_group_name_that_is_empty_too_long_or_taken_is_refused(alice, name):
    store.create_group(alice.id, "Team")
    with pytest.raises(store.InvalidInput):
        store.create_group(alice.id, name)


def test_renaming_onto_another_groups_name_is_refused_but_a_change_of_case_is_not(alice):
    store.create_group(alice.id, "Family")
    team = store.create_group(alice.id, "Team")
    with pytest.raises(store.InvalidInput):
        store.rename_group(alice.id, team.id, "FAMILY")
    assert store.rename_group(alice.id, team.id, "TEAM").name == "TEAM"


def test_an_address_book_holds_at_most_max_groups(alice, monkeypatch):
    monkeypatch.setattr(contact_groups, "MAX_GROUPS", 2)
    store.create_group(alice.id, "One")
    store.create_group(alice.id, "Two")
    with pytest.raises(store.InvalidInput, match="at most 2 groups"):
        store.create_group(alice.id, "Three")


def test_another_accounts_groups_and_contacts_are_out_of_reach(alice, bob):
    ada = _contact(alice.id, "Ada", "ada@engine.test")
    team = store.create_group(alice.id, "Team")
    bobs = store.create_group(bob.id, "Team")  # the same name in another book is fine
    bobs_contact = _contact(bob.id, "Bob's", "b@x.test")
    for call in (
        lambda: store.add_to_group(bob.id, team.id, bobs_contact.id),
        lambda: store.add_to_group(alice.id, team.id, bobs_contact.id),
        lambda: store.add_to_group(alice.id, bobs.id, ada.id),
        lambda: store.rename_group(bob.id, team.id, "Mine"),
        lambda: store.delete_group(bob.id, team.id),
        lambda: store.group_members(bob.id, team.id),
    ):
        with pytest.raises(store.NotFound):
            call()
    assert store.list_groups(alice.id)[0].member_ids == ()
    assert store.group_suggestions(bob.id, "tea") == []  # bob's group has no members


def test_group_suggestions_give_each_members_first_address(alice):
    ada = _contact(alice.id, "Ada", "ada@engine.test", "ada@home.test")
    bo = _contact(alice.id, "Bo", "bo@x.test")
    nameless = _contact(alice.id, "Only a name")
    team = store.create_group(alice.id, "Team")
    for c in (ada, bo, nameless):
        store.add_to_group(alice.id, team.id, c.id)
    store.create_group(alice.id, "Teammates")  # empty: not offered
    assert store.group_suggestions(alice.id, "EAM") == [("Team", [("Ada", "ada@engine.test"), ("Bo", "bo@x.test")])]
    assert store.group_suggestions(alice.id, "t") == []  # too short to ask


def test_compose_suggestions_offer_a_group_with_the_addresses_to_insert(alice, alice_client):
    ada = _contact(alice.id, "Ada Lovelace", "ada@engine.test")
    bo = _contact(alice.id, "", "bo@x.test")
    team = store.create_group(alice.id, "Engine team")
    store.add_to_group(alice.id, team.id, ada.id)
    store.add_to_group(alice.id, team.id, bo.id)
    data = json.loads(alice_client.get("/mail/suggest?q=engine").content)
    assert data["groups"] == [
        {"label": "Engine team (group of 2)", "insert": "Ada Lovelace <ada@engine.test>, bo@x.test"}
    ]
    assert data["suggestions"] == ["Ada Lovelace <ada@engine.test>"]  # the single addresses as before


def test_vcard_categories_carry_groups_out_and_back_in(alice, bob):
    ada = _contact(alice.id, "Ada", "ada@engine.test")
    bo = _contact(alice.id, "Bo", "bo@x.test")
    _contact(alice.id, "Cy", "cy@x.test")
    team, odd = store.create_group(alice.id, "Team"), store.create_group(alice.id, "Friends, old; and new")
    store.add_to_group(alice.id, team.id, ada.id)
    store.add_to_group(alice.id, team.id, bo.id)
    store.add_to_group(alice.id, odd.id, ada.id)
    exported = store.export_vcards(alice.id)
    cards = {c.fn.value: c for c in vobject.readComponents(exported)}
    assert cards["Ada"].categories.value == ["Friends, old; and new", "Team"]
    assert "categories" not in cards["Cy"].contents
    assert store.import_vcards(bob.id, exported) == 3
    groups = {g.name: {c.name for c in store.group_members(bob.id, g.id)} for g in store.list_groups(bob.id)}
    assert groups == {"Team": {"Ada", "Bo"}, "Friends, old; and new": {"Ada"}}


def test_a_vcard_joins_existing_groups_by_name_and_leaves_none(alice):
    ada = _contact(alice.id, "Ada", "ada@engine.test")
    family, team = store.create_group(alice.id, "Family"), store.create_group(alice.id, "Team")
    store.add_to_group(alice.id, family.id, ada.id)
    card = (
        "BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Ada\r\nEMAIL:ada@engine.test\r\n"
        "CATEGORIES:team,Chess\r\nCATEGORIES:\r\nEND:VCARD\r\n"
    )
    assert store.import_vcards(alice.id, card) == 1
    groups = {g.name: g.member_ids for g in store.list_groups(alice.id)}
    assert groups == {"Chess": (ada.id,), "Family": (ada.id,), "Team": (ada.id,)}
    assert team.id in {g.id for g in store.list_groups(alice.id)}


def test_remembering_recipients_skips_odd_addresses_and_stops_at_a_full_book(alice, monkeypatch):
    people = [("", "not an address"), ("X" * 500, "long@name.test"), ("", "a" * 320 + "@x.test")]
    assert store.remember_recipients(alice.id, people) == 1
    assert store.list_contacts(alice.id)[0].name == "X" * 200
    monkeypatch.setattr(contacts, "MAX_CONTACTS", 2)
    assert store.remember_recipients(alice.id, [("", "one@x.test"), ("", "two@x.test")]) == 1
    assert store.remember_recipients(alice.id, [("", "three@x.test")]) == 0
    assert len(store.list_contacts(alice.id)) == 2


def test_the_group_pages_make_rename_list_and_delete(alice, bob, bob_client, alice_client):
    ada = _contact(alice.id, "Ada", "ada@engine.test")
    assert alice_client.post("/mail/contacts/groups", {"name": "Team"}).status_code == 302
    team = store.list_groups(alice.id)[0]
    assert alice_client.post("/mail/contacts/groups", {"name": "team"}).status_code == 400
    alice_client.post(f"/mail/contacts/{ada.id}/", {"op": "join", "group": team.id})
    assert store.list_groups(alice.id)[0].member_ids == (ada.id,)
    page = alice_client.get(f"/mail/contacts/groups/{team.id}/").content.decode()
    assert "ada@engine.test" in page
    assert "Team" in alice_client.get("/mail/contacts/").content.decode()
    assert alice_client.get(f"/mail/contacts/groups/{team.id}/").status_code == 200
    assert bob_client.get(f"/mail/contacts/groups/{team.id}/").status_code == 404
    assert bob_client.post(f"/mail/contacts/groups/{team.id}/", {"op": "delete"}).status_code == 404
    bobs = store.save_contact(bob.id, None, name="Bob's", addresses=["b@x.test"])
    assert bob_client.post(f"/mail/contacts/{bobs.id}/", {"op": "join", "group": team.id}).status_code == 404
    assert bob_client.post(f"/mail/contacts/{bobs.id}/", {"op": "join", "group": "x"}).status_code == 404
    assert store.list_groups(alice.id)[0].member_ids == (ada.id,)
    alice_client.post(f"/mail/contacts/groups/{team.id}/", {"op": "rename", "name": "Crew"})
    assert store.list_groups(alice.id)[0].name == "Crew"
    alice_client.post(f"/mail/contacts/groups/{team.id}/", {"op": "remove", "contact": ada.id})
    assert store.list_groups(alice.id)[0].member_ids == ()
    alice_client.post(f"/mail/contacts/groups/{team.id}/", {"op": "delete"})
    assert store.list_groups(alice.id) == []
