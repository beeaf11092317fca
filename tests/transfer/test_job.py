"""The IMAP import job from webmail settings, run by a real Celery worker
(`celery -A mailhost worker` on the test Redis, against the test database), with
our own runmailserver as the remote server. Imports may not reach loopback
unless MAIL_IMPORT_ALLOWED_NETWORKS says so: the worker is started with
loopback allowed, and so are the tests that import from a loopback server
(`loopback_allowed`); tests/transfer/test_destination.py refuses it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
import redis
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from conftest import PASSWORDS
from mailboxes import store
from mailboxes.models import Account, AuditEntry, Domain, TransferJob
from tests.servers import ROOT, SubprocessServer, database_url
from tests.tcpproxy import TcpProxy
from tests.transfer.conftest import make_maildir, stored
from tests.transfer.test_import_local import importmail

pytest.importorskip("protocols.imap.server", reason="the IMAP server is not built yet")
pytestmark = [pytest.mark.slow, pytest.mark.urls("tests.transfer.urls")]


@pytest.fixture(scope="module")
def worker(django_db_setup, tmp_path_factory):  # type: ignore[no-untyped-def]
    if not settings.REDIS_URL:
        pytest.skip("the job test needs REDIS_URL (a real broker)")
    redis.Redis.from_url(settings.REDIS_URL).delete("celery")  # no tasks left in the queue from before
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "MAIL_DB_POOL": "false",
        "REDIS_URL": settings.REDIS_URL,
        "MAIL_IMPORT_ALLOWED_NETWORKS": LOOPBACK,
    }
    log = open(tmp_path_factory.mktemp("celery") / "worker.log", "wb")  # a pipe nobody reads could fill up
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mailhost",
            "worker",
            "--pool=solo",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    log.close()


LOOPBACK = "127.0.0.0/8,::1/128"


@pytest.fixture
def loopback_allowed(settings):  # type: ignore[no-untyped-def]
    """The web app may start imports from the tests' loopback servers (the worker may too: its environment)."""
    settings.MAIL_IMPORT_ALLOWED_NETWORKS = LOOPBACK.split(",")


@pytest.fixture
def remote(bob, tmp_path, loopback_allowed):  # type: ignore[no-untyped-def]
    make_maildir(tmp_path / "source", "fs")
    importmail("bob@example.test", str(tmp_path / "source"))
    with SubprocessServer("imap") as server:
        yield server


def signed_in(account_id: int) -> Client:
    client = Client()
    client.force_login(get_user_model().objects.get(pk=account_id))
    return client


def start(client: Client, port: int, password: str, **extra: str) -> str:
    response = client.post(
        "/transfer/imports/",
        {
            "host": "127.0.0.1",
            "port": str(port),
            "security": "starttls",
            "username": "bob@example.test",
            "password": password,
            "no_verify": "on",
            **extra,
        },
    )
    assert response.status_code == 302, response.content
    return response["Location"]


def finished(client: Client, status_url: str) -> dict:
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job = client.get(status_url + "?format=json").json()
        if job["state"] in ("done", "failed"):
            return job
        time.sleep(0.1)
    raise AssertionError("the job did not finish")


def test_an_imap_import_job_runs_on_the_worker_and_reports_its_progress(alice, bob, charlie, remote, worker):
    client = signed_in(alice.id)
    status_url = start(client, remote.ports["imap"], PASSWORDS["bob@example.test"])
    job = finished(client, status_url)
    assert job["state"] == "done", job
    assert job["progress"]["overall"]["done"] == 13 and job["progress"]["percent"] == 100
    assert any("13 copied" in line for line in job["progress"]["summary_lines"])
    assert stored(alice.id) == stored(bob.id)
    row = TransferJob.objects.get(pk=job["id"])
    assert row.secret == b"" and PASSWORDS["bob@example.test"] not in str(row.options) + row.source
    page = client.get(status_url)
    assert page.status_code == 200 and b"done" in page.content and b"13 copied" in page.content
    assert signed_in(charlie.id).get(status_url + "?format=json").status_code == 404  # not charlie's


def test_a_job_with_a_wrong_password_fails_clearly_and_forgets_it(alice, remote, worker):
    client = signed_in(alice.id)
    job = finished(client, start(client, remote.ports["imap"], "not-the-password"))
    assert job["state"] == "failed"
    assert job["error"] == f"127.0.0.1:{remote.ports['imap']} refused the login of bob@example.test"
    assert TransferJob.objects.get(pk=job["id"]).secret == b""


def test_the_import_form_refuses_incomplete_input_and_other_peoples_accounts(alice, bob, loopback_allowed):
    client = signed_in(alice.id)
    assert client.get("/transfer/imports/").status_code == 200
    response = client.post("/transfer/imports/", {"host": "127.0.0.1", "username": "x", "password": ""})
    assert response.status_code == 400 and b"Give the server" in response.content
    response = client.post(
        "/transfer/imports/",
        {
            "host": "127.0.0.1",
            "port": "143",
            "security": "starttls",
            "username": "x",
            "password": "y",
            "account": "bob@example.test",
        },
    )
    assert response.status_code == 400 and b"only into your own account" in response.content
    assert not TransferJob.objects.exists()


def make_superuser(account_id: int) -> None:
    Account.objects.filter(pk=account_id).update(is_superuser=True)


def make_admin_of(domain: str) -> Callable[[int], None]:
    return lambda account_id: Domain.objects.get(name=domain).admins.add(account_id)


@pytest.mark.parametrize("promote", [make_superuser, make_admin_of("example.test")], ids=["superuser", "domain-admin"])
def test_an_administrator_imports_into_an_account_they_may_change_and_hears_of_an_unreachable_server(
    alice, bob, worker, loopback_allowed, promote
):
    promote(bob.id)
    client = signed_in(bob.id)
    with TcpProxy("127.0.0.1", 9) as nothing:
        nothing.cut()  # connections are closed at once
        status_url = start(client, nothing.port, "whatever", account="alice@example.test")
        job = finished(client, status_url)
    assert job["account"] == "alice@example.test" and job["state"] == "failed"
    assert job["error"] == f"cannot connect to 127.0.0.1:{nothing.port}"
    assert signed_in(alice.id).get(status_url + "?format=json").status_code == 200  # hers to see too
    assert AuditEntry.objects.filter(actor_id=bob.id, action="account.import", target="alice@example.test").exists()


@pytest.mark.parametrize(
    "target_role", [make_superuser, make_admin_of("other.test")], ids=["superuser", "admin-of-another-domain"]
)
def test_a_domain_admin_may_not_import_into_an_account_they_may_only_look_at(alice, bob, loopback_allowed, target_role):
    make_admin_of("example.test")(alice.id)
    target_role(bob.id)
    response = signed_in(alice.id).post(
        "/transfer/imports/",
        {
            "host": "127.0.0.1",
            "port": "993",
            "security": "imaps",
            "username": "x",
            "password": "y",
            "account": "bob@example.test",
        },
    )
    assert response.status_code == 400
    assert b"Only a superuser may change bob@example.test." in response.content
    assert not TransferJob.objects.exists() and not AuditEntry.objects.filter(action="account.import").exists()


def test_a_job_no_worker_takes_within_a_day_forgets_its_password(alice):
    job = store.create_transfer_job(alice.id, "imaps://x@example.net:993", "secret")
    TransferJob.objects.filter(pk=job.id).update(created=timezone.now() - timedelta(days=2))
    assert store.list_transfer_jobs(alice.id)[0].state == "failed"
    assert store.claim_transfer_job(job.id) is None
    assert TransferJob.objects.get(pk=job.id).secret == b""
