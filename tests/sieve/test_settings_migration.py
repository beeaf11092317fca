"""Migration 0015 on real data: vacation and forwarding settings written with
the old model's columns become the managed section of each account's Sieve
script, and mail delivered over SMTP afterwards is answered and forwarded
by it; who had a reply before is not answered again (issue #20)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.apps import apps as current_apps
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from conftest import sample_message
from mailboxes import store
from mailboxes.models import OutboundRecipient
from tests.servers import InProcessServer

from .test_delivery import folder, send

BEFORE = "0014_merge_account_security"


def migrate(target: str | None):  # type: ignore[no-untyped-def]
    """Migrate mailboxes to `target` (None: the latest); the apps of that state."""
    executor = MigrationExecutor(connection)
    leaf = target or executor.loader.graph.leaf_nodes("mailboxes")[0][1]
    executor.migrate([("mailboxes", leaf)])
    executor.loader.build_graph()
    return executor.loader.project_state([("mailboxes", leaf)]).apps


@pytest.fixture
def old_schema(users) -> Iterator[object]:  # type: ignore[no-untyped-def]
    old = migrate(BEFORE)
    try:
        yield old
    finally:
        migrate(None)


def test_old_settings_become_sieve_that_answers_and_forwards_mail_over_smtp(old_schema, users):
    alice, bob = users["alice@example.test"], users["bob@example.test"]
    charlie = users["charlie@other.test"]
    settings_model = old_schema.get_model("mailboxes", "AccountSettings")  # type: ignore[attr-defined]
    settings_model.objects.create(
        account_id=alice.id,
        signature="Alice",
        vacation_enabled=True,
        vacation_subject="Away",
        vacation_body="Back on Monday.\nAlice",
        vacation_days=7,
    )
    old_schema.get_model("mailboxes", "VacationReply").objects.create(  # type: ignore[attr-defined]
        account_id=alice.id, sender="dora@far.test", sent_at=timezone.now() - timedelta(days=1)
    )
    # bob has rules of his own already, and forwards to alice keeping a copy
    old_schema.get_model("mailboxes", "SieveScript").objects.create(  # type: ignore[attr-defined]
        account_id=bob.id, name="mine", active=True, text='require "imap4flags";\naddflag "\\\\Flagged";\n'
    )
    settings_model.objects.create(account_id=bob.id, forward_to=alice.address, forward_keep_copy=True)
    # charlie's reply is off, its text kept
    settings_model.objects.create(
        account_id=charlie.id, vacation_enabled=False, vacation_body="Gone fishing.", vacation_days=3
    )

    migrate(None)
    assert current_apps.get_model("mailboxes", "AccountSettings").objects.get(account_id=alice.id).signature == "Alice"
    assert store.get_preferences(charlie.id) == store.Preferences(
        charlie.display_name, "", False, "", "Gone fishing.", 3, "", True
    )
    assert store.get_preferences(bob.id).forward_to == alice.address
    assert store.get_script(bob.id, "mine").endswith('addflag "\\\\Flagged";\n')  # his rule is still there

    with InProcessServer(["smtp", "imap"]) as servers:
        send(servers, sample_message(subject="From erin", sender="erin@far.test"), [alice.address], "erin@far.test")
        send(servers, sample_message(subject="From dora", sender="dora@far.test"), [alice.address], "dora@far.test")
        assert OutboundRecipient.objects.filter(address="erin@far.test").count() == 1
        assert OutboundRecipient.objects.filter(address="dora@far.test").count() == 0  # answered before the migration
        send(servers, sample_message(subject="For bob", to=bob.address), [bob.address], "erin@far.test")
        assert folder(servers, "INBOX", bob.address) == [("For bob", {"\\Flagged"})]
        assert "For bob" in [s for s, _ in folder(servers, "INBOX", alice.address)]
        assert OutboundRecipient.objects.filter(address="erin@far.test").count() == 1  # bob is not on vacation
