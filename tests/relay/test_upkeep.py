"""The periodic jobs on celery beat (quota recount and warnings, Trash and
Junk cleanup) and the gendkim command."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from conftest import sample_message
from mailboxes import store
from mailboxes.tasks import cleanup_trash, recalculate_quotas
from mailhost.celery import app

from .conftest import inbox_messages

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def fill_to(alice, percent: int) -> None:  # type: ignore[no-untyped-def]
    usage = store.quota_usage(alice.id)
    missing = usage.limit * percent // 100 - usage.used
    store.append(alice.id, "Archive", sample_message(body="x" * max(missing - 300, 1)))


def warnings(alice) -> list[str]:  # type: ignore[no-untyped-def]
    return [m["Subject"] for m in inbox_messages(alice.id) if m["Subject"].startswith("Your mailbox")]


def test_each_quota_threshold_is_warned_about_once(alice):
    store.update_account("alice@example.test", quota=20_000)
    recalculate_quotas()
    assert warnings(alice) == []
    fill_to(alice, 85)
    recalculate_quotas()
    recalculate_quotas()
    assert warnings(alice) == ["Your mailbox is 80% full"]
    fill_to(alice, 96)
    recalculate_quotas()
    recalculate_quotas()
    assert warnings(alice) == ["Your mailbox is 80% full", "Your mailbox is 95% full"]


def test_the_recount_corrects_drift_in_recorded_usage(alice):
    from mailboxes.models import Account  # the test makes the drift; the store never would

    store.append(alice.id, "INBOX", sample_message())
    real = store.quota_usage(alice.id).used
    Account.objects.filter(pk=alice.id).update(used_bytes=real + 12345)
    recalculate_quotas()
    assert store.quota_usage(alice.id).used == real


def test_old_trash_and_junk_are_emptied_and_the_rest_kept(alice):
    old = timezone.now() - timedelta(days=31)
    store.append(alice.id, "Trash", sample_message(subject="old trash"), internal_date=old)
    store.append(alice.id, "Trash", sample_message(subject="new trash"))
    store.append(alice.id, "Junk", sample_message(subject="old junk"), internal_date=old)
    store.append(alice.id, "Archive", sample_message(subject="old archive"), internal_date=old)
    assert cleanup_trash() == 2
    counts = {f.name: f.messages for f in store.all_folder_status(alice.id)}
    assert (counts["Trash"], counts["Junk"], counts["Archive"]) == (1, 0, 1)
    assert store.quota_usage(alice.id).used == store.recalculate_usage(alice.id).used


def test_beat_schedules_the_sweep_and_the_upkeep_jobs():
    app.loader.import_default_modules()
    scheduled = {entry["task"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert scheduled == {
        "protocols.relay.tasks.sweep",
        "mailboxes.tasks.recalculate_quotas",
        "mailboxes.tasks.cleanup_trash",
        "mailboxes.tasks.collect_blobs",
        "mailboxes.tasks.prune_login_failures",
        "protocols.tasks.renew_certificate",
        "protocols.tasks.send_tls_reports",
        "protocols.tasks.send_dmarc_reports",
    }
    assert scheduled <= set(app.tasks)


@pytest.mark.parametrize("algorithm, k", [("rsa", "rsa"), ("ed25519", "ed25519")])
def test_gendkim_prints_the_record_to_publish(users, algorithm, k):
    out = StringIO()
    call_command("gendkim", "example.test", "--algorithm", algorithm, "--selector", "s1", stdout=out)
    line = out.getvalue().strip()
    assert line.startswith(f's1._domainkey.example.test. IN TXT "v=DKIM1; k={k}; p=')
    key = store.active_dkim_key("example.test")
    assert key is not None and key.selector == "s1"
    assert "".join(line.split(" IN TXT ", 1)[1].replace('" "', "").strip('"')) == key.dns_txt


def test_gendkim_refuses_an_unknown_domain(users):
    with pytest.raises(CommandError):
        call_command("gendkim", "nowhere.test", stdout=StringIO())
