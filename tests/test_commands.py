"""The account-management commands of the interface contract."""

from __future__ import annotations

import os
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mailboxes import store
from mailboxes.models import Account, Alias, Domain
from tests.servers import ROOT, database_url


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def counts() -> tuple[int, int, int]:
    return Domain.objects.count(), Account.objects.count(), Alias.objects.count()


def test_contract_commands_create_domain_account_and_alias(transactional_db):
    assert "created domain example.test" in run("adddomain", "example.test")
    assert "created account alice@example.test" in run(
        "addaccount", "alice@example.test", "--password", "S3cret", "--quota", "500M"
    )
    run("addaccount", "root@example.test", "--password", "x", "--superuser")
    assert "postmaster@example.test -> alice@example.test" in run(
        "addalias", "postmaster@example.test", "alice@example.test"
    )
    alice = store.get_account("alice@example.test")
    assert alice.quota == 500 * 1024**2
    assert store.get_account("root@example.test").is_superuser
    assert store.authenticate("alice@example.test", "S3cret")
    listing = run("listaccounts")
    assert "alice@example.test" in listing and "500.0M" in listing
    run("setpassword", "alice@example.test", "--password", "other")
    assert store.authenticate("alice@example.test", "other")


def test_addaccount_without_password_generates_one_and_prints_it(transactional_db):
    run("adddomain", "example.test")
    out = run("addaccount", "gen@example.test")
    password = out.split("password: ")[1].strip()
    assert store.authenticate("gen@example.test", password)


@pytest.mark.parametrize(
    "args, message",
    [
        (("addaccount", "not-an-address", "--password", "x"), "not a valid mail address"),
        (("addaccount", "a@unknown.test", "--password", "x"), "no such domain"),
        (("addaccount", "a@example.test", "--password", "x", "--quota", "12X"), "not a size"),
        (("addaccount", "taken@example.test", "--password", "x"), "already exists"),
        (("adddomain", "example.test"), "already exists"),
        (("adddomain", "bad domain"), "not a valid domain"),
        (("addalias", "x@example.test", "not an address"), "not a valid mail address"),
        (("addalias", "taken@example.test", "b@example.test"), "already exists"),
        (("setpassword", "nobody@example.test", "--password", "x"), "no such account"),
        (("delaccount", "nobody@example.test"), "no such account"),
        (("deldomain", "example.test"), "still has accounts"),
        (("deldomain", "unknown.test"), "no such domain"),
    ],
)
def test_bad_input_is_one_clear_error_and_writes_nothing(transactional_db, args, message):
    store.create_domain("example.test")
    store.create_account("taken@example.test", "pw")
    before = counts()
    with pytest.raises(CommandError, match=message):
        run(*args)
    assert counts() == before


def test_deldomain_force_removes_accounts_and_their_mail(transactional_db):
    store.create_domain("gone.test")
    store.create_account("a@gone.test", "pw")
    store.deliver(b"Subject: x\r\n\r\nhi\r\n", ["a@gone.test"])
    run("deldomain", "gone.test", "--force")
    assert counts() == (0, 0, 0)


@pytest.mark.slow
def test_a_bad_command_line_exits_non_zero_with_one_line(transactional_db):
    env = {"DATABASE_URL": database_url(), "PATH": "/usr/bin:/bin", "MAIL_DB_POOL": "false"}
    result = subprocess.run(
        [sys.executable, "manage.py", "addaccount", "x@nowhere.test", "--password", "p"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0
    assert result.stderr.strip().splitlines() == ["CommandError: no such domain: nowhere.test"]


def test_a_bad_setting_stops_start_up_with_a_clear_message():
    env = {"PATH": "/usr/bin:/bin", "MAIL_IMAP_PORT": "99999", "MAIL_VAR_DIR": "/tmp/mailhost-badcfg"}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "MAIL_IMAP_PORT='99999' must be between 0 and 65535" in result.stderr


@pytest.mark.parametrize(
    "extra, workers",
    [
        ({}, "1"),  # the embedded default (SQLite) takes one writer at a time: one worker
        ({"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none"}, str(min(os.cpu_count() or 1, 4))),
        ({"DATABASE_URL": "postgres://nobody@127.0.0.1:1/none", "MAIL_WORKERS": "3"}, "3"),
    ],
)
def test_runmailserver_runs_one_worker_per_core_on_postgresql_by_default(extra, workers):
    env = {"PATH": "/usr/bin:/bin", "MAIL_VAR_DIR": "/tmp/mailhost-workers-default", **extra}
    code = "import django; django.setup(); from django.conf import settings; print(settings.MAIL_WORKERS)"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "mailhost.settings"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.stdout.strip() == workers, result.stderr
