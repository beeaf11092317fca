"""The store's Sieve scripts: RFC 5804's operations with typed errors, the
quotas, one active script per account, per-domain scripts for the domain's
admins. Users alice and bob (example.test), charlie (other.test)."""

from __future__ import annotations

import pytest
from django.test import override_settings

from mailboxes import store

FILTER = 'require "fileinto";\nif header :contains "subject" "bank" { fileinto "Finance"; }\n'


def test_put_list_get_and_activate_a_script(alice):
    store.put_script(alice.id, "main", FILTER)
    store.put_script(alice.id, "other", "keep;")
    store.activate_script(alice.id, "main")
    assert store.list_scripts(alice.id) == [
        store.ScriptInfo("main", True, len(FILTER)),
        store.ScriptInfo("other", False, 5),
    ]
    assert store.get_script(alice.id, "main") == FILTER
    assert store.active_script(alice.id) == ("main", FILTER)


def test_activating_another_script_deactivates_the_first_and_empty_name_deactivates_all(alice):
    store.put_script(alice.id, "a", "keep;")
    store.put_script(alice.id, "b", "keep;")
    store.activate_script(alice.id, "a")
    store.activate_script(alice.id, "b")
    assert [s.name for s in store.list_scripts(alice.id) if s.active] == ["b"]
    store.activate_script(alice.id, "")
    assert store.active_script(alice.id) is None


def test_replacing_the_active_script_keeps_it_active(alice):
    store.put_script(alice.id, "a", "keep;")
    store.activate_script(alice.id, "a")
    store.put_script(alice.id, "a", "discard;")
    assert store.active_script(alice.id) == ("a", "discard;")


def test_invalid_script_is_refused_with_its_line_and_not_stored(alice):
    with pytest.raises(store.InvalidScript) as refused:
        store.put_script(alice.id, "bad", 'keep;\nfileinto "x";')
    assert refused.value.line == 2
    assert store.list_scripts(alice.id) == []


@pytest.mark.parametrize("name", ["", "a\nb", "x" * 129, "tab\there"])
def test_script_name_with_control_characters_or_too_long_is_invalid_input(alice, name):
    with pytest.raises(store.InvalidInput):
        store.put_script(alice.id, name, "keep;")


def test_missing_script_is_no_such_script_for_every_operation(alice):
    for call in (
        lambda: store.get_script(alice.id, "x"),
        lambda: store.activate_script(alice.id, "x"),
        lambda: store.delete_script(alice.id, "x"),
        lambda: store.rename_script(alice.id, "x", "y"),
    ):
        with pytest.raises(store.NoSuchScript):
            call()


def test_active_script_cannot_be_deleted_an_inactive_one_can(alice):
    store.put_script(alice.id, "a", "keep;")
    store.put_script(alice.id, "b", "keep;")
    store.activate_script(alice.id, "a")
    with pytest.raises(store.ScriptIsActive):
        store.delete_script(alice.id, "a")
    store.delete_script(alice.id, "b")
    assert [s.name for s in store.list_scripts(alice.id)] == ["a"]


def test_rename_keeps_the_active_mark_and_refuses_an_existing_name(alice):
    store.put_script(alice.id, "a", "keep;")
    store.put_script(alice.id, "b", "keep;")
    store.activate_script(alice.id, "a")
    store.rename_script(alice.id, "a", "c")
    assert store.active_script(alice.id) == ("c", "keep;")
    with pytest.raises(store.AlreadyExists):
        store.rename_script(alice.id, "c", "b")


@override_settings(MAIL_SIEVE_MAX_SCRIPTS=2, MAIL_SIEVE_MAX_SCRIPT_SIZE=100)
def test_quotas_on_count_and_size_are_typed_and_replacing_fits(alice):
    store.put_script(alice.id, "a", "keep;")
    store.put_script(alice.id, "b", "keep;")
    store.put_script(alice.id, "b", "discard;")  # a replacement is not one more
    with pytest.raises(store.ScriptQuotaExceeded) as count:
        store.put_script(alice.id, "c", "keep;")
    assert count.value.kind == "maxscripts"
    with pytest.raises(store.ScriptQuotaExceeded) as size:
        store.have_space(alice.id, "a", 101)
    assert size.value.kind == "maxsize"
    store.have_space(alice.id, "a", 100)


def test_scripts_are_per_account(alice, bob):
    store.put_script(alice.id, "main", "keep;")
    assert store.list_scripts(bob.id) == []
    with pytest.raises(store.NoSuchScript):
        store.get_script(bob.id, "main")


def test_domain_admin_sets_before_and_after_scripts_of_their_domain_only(alice, bob, charlie):
    root = store.create_account("root@other.test", "root-secret", superuser=True)
    superuser = store.admin_actor(root.id)
    assert superuser is not None
    store.admin_set_roles(superuser, bob.id, admin_domains=["example.test"])
    actor = store.admin_actor(bob.id)
    assert actor is not None
    store.admin_set_domain_script(actor, "example.test", "before", 'require "fileinto";\nfileinto "Seen";')
    assert store.admin_domain_scripts(actor, "example.test") == {
        "before": 'require "fileinto";\nfileinto "Seen";',
        "after": "",
    }
    with pytest.raises(store.NoSuchDomain):
        store.admin_set_domain_script(actor, "other.test", "after", "keep;")
    with pytest.raises(store.InvalidScript):
        store.admin_set_domain_script(actor, "example.test", "after", "nonsense;")
    store.admin_set_domain_script(actor, "example.test", "before", "")
    assert store.admin_domain_scripts(actor, "example.test")["before"] == ""


def test_rcpt_check_says_whether_the_account_has_scripts_and_delivery_then_reads_none(alice, bob):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from conftest import sample_message

    clean = store.check_recipient(alice.address, 100).check
    assert clean.filtered is False
    with CaptureQueriesContext(connection) as queries:
        store.deliver_final(sample_message(), [alice.address], "dora@far.test", checks=[clean])
    assert not any("sieve" in query["sql"].lower() for query in queries.captured_queries)
    store.put_script(alice.id, "main", "keep;")
    store.activate_script(alice.id, "main")
    assert store.check_recipient(alice.address, 100).check.filtered is True
    root = store.create_account("root@other.test", "root-secret", superuser=True)
    store.admin_set_domain_script(store.admin_actor(root.id), "example.test", "after", "keep;")  # type: ignore[arg-type]
    assert store.check_recipient(bob.address, 100).check.filtered is True
