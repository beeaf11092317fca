"""Isolation: every URL that names a folder, a message or a part checks that
it is the signed-in user's. Alice asking for Bob's gets 404, exactly as for
something that does not exist, and Bob's mail is left as it was."""

from __future__ import annotations

import pytest

from mailboxes import store

from .helpers import deliver_to, folder_id, with_attachments

GETS = [
    "/mail/f/{f}/",
    "/mail/f/{f}/state",
    "/mail/m/{f}/{u}/",
    "/mail/m/{f}/{u}/frame",
    "/mail/m/{f}/{u}/part/2",
    "/mail/m/{f}/{u}/inline/1.2.2",
    "/mail/m/{f}/{u}/raw",
    "/mail/m/{f}/{u}/raw?download=1",
    "/mail/compose/?mode=reply&f={f}&u={u}",
    "/mail/compose/?mode=forward&f={f}&u={u}",
    "/mail/compose/?mode=draft&f={f}&u={u}",
    "/mail/search/?q=report&folder={f}",
]
POSTS = [
    ("/mail/f/{f}/act", {"uid": "{u}", "action": "delete"}),
    ("/mail/f/{f}/act", {"uid": "{u}", "action": "move", "dest": "{archive}"}),
    ("/mail/f/{mine}/act", {"uid": "{my_uid}", "action": "move", "dest": "{f}"}),
    ("/mail/folders/", {"op": "delete", "folder": "{archive}"}),
    ("/mail/folders/", {"op": "rename", "folder": "{archive}", "name": "Mine"}),
    ("/mail/folders/", {"op": "create", "name": "x", "parent": "{f}"}),
    (
        "/mail/compose/",
        {"to": "alice@example.test", "f": "{f}", "u": "{u}", "mode": "forward", "keep": "2", "action": "send"},
    ),
    (
        "/mail/compose/",
        {
            "to": "alice@example.test",
            "f": "{f}",
            "u": "{u}",
            "mode": "attach",
            "attach_original": "1",
            "action": "save",
        },
    ),
]


@pytest.fixture
def bobs(alice, bob):  # type: ignore[no-untyped-def]
    f, u = deliver_to(bob.address, with_attachments(to=bob.address))
    mine, my_uid = deliver_to(alice.address, with_attachments())
    store.create_folder(bob.id, "Projects")
    return {"f": f, "u": u, "archive": folder_id(bob.id, "Projects"), "mine": mine, "my_uid": my_uid}


def _bob_unchanged(bob, bobs) -> None:  # type: ignore[no-untyped-def]
    detail = store.open_message(bob.id, bobs["f"], bobs["u"])
    assert "\\Seen" not in detail.flags
    assert {r.name for r in store.folder_rows(bob.id)} >= {"INBOX", "Projects"}
    assert store.message_page(bob.id, bobs["f"]).total == 1


@pytest.mark.parametrize("url", GETS)
def test_alice_gets_404_for_bobs_folder_message_and_part_urls(alice_client, bob, bobs, url):
    response = alice_client.get(url.format(**bobs))
    assert response.status_code == 404
    assert b"report.pdf" not in response.content and b"Report with attachments" not in response.content
    _bob_unchanged(bob, bobs)


@pytest.mark.parametrize("url, data", POSTS, ids=lambda v: str(v)[:40])
def test_alice_cannot_change_bobs_folders_or_messages(alice_client, bob, bobs, url, data):
    response = alice_client.post(url.format(**bobs), {k: v.format(**bobs) for k, v in data.items()})
    assert response.status_code == 404
    _bob_unchanged(bob, bobs)


def test_bob_can_open_what_alice_cannot(bob_client, bobs):
    assert bob_client.get("/mail/m/{f}/{u}/part/2".format(**bobs)).status_code == 200
