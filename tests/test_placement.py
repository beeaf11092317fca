"""Per-recipient placement at delivery (mailboxes/store/placement.py): the
folder each local copy goes into and the flags it starts with, on
PostgreSQL (one statement) and on SQLite (the embedded default's steps)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import sample_message
from mailboxes import store
from mailboxes.models import Folder
from tests.servers import ROOT

ALL = [(1, 2**32)]
JUNK = store.Placement(special_use="\\Junk", flags=frozenset({"\\Seen", "$Junk"}))


def flags_in(account_id: int, folder: str) -> list[frozenset[str]]:
    view = store.select_folder(account_id, folder)
    return [m.flags for m in store.fetch_messages(account_id, view.id, ALL)]


def test_a_placement_by_special_use_files_one_recipients_copy_in_junk_with_its_flags(alice, bob):
    report = store.deliver(
        sample_message(),
        ["alice@example.test", "bob@example.test"],
        place=lambda account: JUNK if account == alice.id else store.Placement(),
    )
    assert flags_in(alice.id, "Junk") == [frozenset({"\\Seen", "$Junk"})]
    assert flags_in(alice.id, "INBOX") == []
    assert flags_in(bob.id, "INBOX") == [frozenset()]
    assert report.delivered == {alice.id: 1, bob.id: 1}


def test_a_junk_folder_the_user_renamed_is_found_by_its_special_use(alice):
    store.rename_folder(alice.id, "Junk", "Spam")
    store.deliver(sample_message(), ["alice@example.test"], place=lambda _account: JUNK)
    assert len(flags_in(alice.id, "Spam")) == 1
    assert not Folder.objects.filter(owner_id=alice.id, name="Junk").exists()


def test_a_deleted_junk_folder_is_created_again_with_its_special_use(alice):
    store.delete_folder(alice.id, "Junk")
    store.deliver(sample_message(), ["alice@example.test"], place=lambda _account: JUNK)
    assert Folder.objects.get(owner_id=alice.id, name="Junk").special_use == "\\Junk"
    assert len(flags_in(alice.id, "Junk")) == 1


def test_a_missing_named_folder_is_created_with_its_parents_for_the_copy(alice):
    place = store.Placement(folder="Lists/python", flags=frozenset({"\\Flagged"}))
    store.deliver(sample_message(), ["alice@example.test"], place=lambda _account: place)
    store.deliver(sample_message("again"), ["alice@example.test"], place=lambda _account: place)
    names = {f.name for f in store.list_folders(alice.id)}
    assert {"Lists", "Lists/python"} <= names
    assert flags_in(alice.id, "Lists/python") == [frozenset({"\\Flagged"})] * 2


def test_deliver_final_places_local_copies_beside_a_queued_remote_recipient(alice):
    report = store.deliver_final(
        sample_message(),
        ["alice@example.test", "friend@remote.test"],
        "bob@remote.test",
        local_headers=b"Return-Path: <bob@remote.test>\r\n",
        place=lambda _account: JUNK,
    )
    assert report.queued == ("friend@remote.test",)
    assert flags_in(alice.id, "Junk") == [frozenset({"\\Seen", "$Junk"})]


def test_a_placement_with_an_unknown_system_flag_is_refused_before_anything_is_stored(alice):
    bad = store.Placement(flags=frozenset({"\\Bogus"}))
    with pytest.raises(store.InvalidInput):
        store.deliver(sample_message(), ["alice@example.test"], place=lambda _account: bad)
    assert flags_in(alice.id, "INBOX") == []


def test_a_placed_copy_is_refused_whole_when_the_mailbox_has_no_room(alice, bob):
    store.update_account("alice@example.test", quota=100)
    with pytest.raises(store.TooBigForQuota):
        store.deliver(
            sample_message(body="x" * 500), ["alice@example.test", "bob@example.test"], place=lambda _account: JUNK
        )
    assert flags_in(alice.id, "Junk") == [] and flags_in(bob.id, "Junk") == []


SQLITE = r"""
import json
import django
django.setup()
from django.core.management import call_command
from mailboxes import store
call_command("migrate", verbosity=0)
store.create_domain("example.test")
alice = store.create_account("alice@example.test", "pw")
bob = store.create_account("bob@example.test", "pw")
junk = store.Placement(special_use="\\Junk", flags=frozenset({"\\Seen", "$Junk"}))
named = store.Placement(folder="Lists/python", flags=frozenset({"\\Flagged"}))
places = {alice.id: junk, bob.id: named}
store.deliver(b"Subject: one\r\n\r\nbody\r\n", ["alice@example.test", "bob@example.test"], place=places.__getitem__)
store.deliver(b"Subject: two\r\n\r\nbody\r\n", ["alice@example.test"])
label = lambda word: lambda _account: store.Placement(flags=frozenset({word}))
store.deliver(b"Subject: three\r\n\r\nbody\r\n", ["bob@example.test"], place=label("$Label1"))
from mailboxes.models import Folder
Folder.objects.filter(owner_id=alice.id, name="INBOX").update(keywords=[f"k{n}" for n in range(1000)])
store.deliver(b"Subject: four\r\n\r\nbody\r\n", ["alice@example.test"], place=label("fresh"))
def flags(account, name):
    view = store.select_folder(account, name)
    return [sorted(m.flags) for m in store.fetch_messages(account, view.id, [(1, 2**32)])]
print(json.dumps({"junk": flags(alice.id, "Junk"), "inbox": flags(alice.id, "INBOX"),
                  "named": flags(bob.id, "Lists/python"), "bob_inbox": flags(bob.id, "INBOX"),
                  "bob_keywords": store.select_folder(bob.id, "INBOX").keywords,
                  "alice_keywords": len(store.select_folder(alice.id, "INBOX").keywords)}))
"""


def test_the_sqlite_steps_place_copies_and_flags_as_the_postgresql_statement_does(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {"MAIL_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "mailhost.settings", "MAIL_LOG_LEVEL": "WARNING"}
    )
    done = subprocess.run([sys.executable, "-c", SQLITE], cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout.decode().strip().splitlines()[-1])
    assert result == {
        "junk": [["$Junk", "\\Seen"]],
        "inbox": [[], ["fresh"]],  # stored past the folder's keyword limit, its set left at the limit
        "named": [["\\Flagged"]],
        "bob_inbox": [["$Label1"]],
        "bob_keywords": ["$Label1"],
        "alice_keywords": 1000,
    }


def test_no_vacation_reply_answers_a_copy_filed_in_junk_but_one_in_another_folder_is_answered(
    alice, bob, django_capture_on_commit_callbacks
):
    from mailboxes.models import OutboundRecipient

    store.save_preferences(alice.id, store.Preferences(vacation_enabled=True, vacation_body="Away.", vacation_days=7))
    with django_capture_on_commit_callbacks(execute=True):
        store.deliver(
            sample_message(sender="dora@far.test"), ["alice@example.test"], "dora@far.test", place=lambda _account: JUNK
        )
    assert not OutboundRecipient.objects.exists()  # RFC 3834 2: no answer to what is probably spam
    with django_capture_on_commit_callbacks(execute=True):
        store.deliver(
            sample_message(sender="erin@far.test"),
            ["alice@example.test"],
            "erin@far.test",
            place=lambda _account: store.Placement(folder="Lists"),
        )
    assert list(OutboundRecipient.objects.values_list("address", flat=True)) == ["erin@far.test"]


def test_a_delivered_keyword_grows_the_folder_set_and_a_full_set_refuses_no_mail(alice, bob):
    from mailboxes.store.messages import MAX_FOLDER_KEYWORDS

    labelled = store.Placement(flags=frozenset({"$Label1"}))
    store.deliver(sample_message(), ["alice@example.test"], place=lambda _account: labelled)
    assert Folder.objects.get(owner_id=alice.id, name="INBOX").keywords == ["$Label1"]
    full = [f"k{n}" for n in range(MAX_FOLDER_KEYWORDS)]
    Folder.objects.filter(owner_id=alice.id, name="INBOX").update(keywords=full)
    fresh = store.Placement(flags=frozenset({"fresh"}))
    report = store.deliver(sample_message("again"), ["alice@example.test", "bob@example.test"], place=lambda _a: fresh)
    # Stored all the same: alice's set stays at its limit, bob's grows.
    assert report.delivered == {alice.id: 2, bob.id: 1}
    assert flags_in(alice.id, "INBOX")[1] == frozenset({"fresh"})
    assert Folder.objects.get(owner_id=alice.id, name="INBOX").keywords == full
    assert Folder.objects.get(owner_id=bob.id, name="INBOX").keywords == ["fresh"]
