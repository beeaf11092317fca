"""importmail from a real IMAP server: our own runmailserver (a subprocess)
serving bob's mailbox, imported into alice's. Folders, special use, flags,
keywords, internal dates and bytes arrive intact; a killed import and a cut
connection both resume copying only what is missing."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import threading
import time

import pytest
from django import db
from django.core.management import CommandError, call_command

from conftest import PASSWORDS
from mailboxes import store
from tests.servers import ROOT, SubprocessServer, database_url
from tests.tcpproxy import TcpProxy
from tests.transfer.conftest import make_maildir, message, stored
from tests.transfer.test_import_local import importmail

pytestmark = pytest.mark.slow

pytest.importorskip("protocols.imap.server", reason="the IMAP server is not built yet")

BOB = "bob%40example.test"


@pytest.fixture
def password_env(monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("REMOTE_PASSWORD", PASSWORDS["bob@example.test"])
    return ["--password-env", "REMOTE_PASSWORD"]


@pytest.fixture
def remote(bob, tmp_path):  # type: ignore[no-untyped-def]
    """bob's mailbox, served by runmailserver: the generated Maildir, plus a
    'Sent Items' folder without a special use (a name to recognise)."""
    make_maildir(tmp_path / "source", "maildir++")
    importmail("bob@example.test", str(tmp_path / "source"))
    store.create_folder(bob.id, "Sent Items")
    store.append_many(bob.id, "Sent Items", [(message(50).replace(b"\n", b"\r\n"), ["\\Seen"], None)])
    with SubprocessServer("imap") as server:
        yield server


@pytest.mark.parametrize("scheme", ["imaps", "imap"])
def test_imap_import_copies_every_folder_with_flags_dates_and_special_use(alice, bob, remote, password_env, scheme):
    port = remote.ports[scheme]
    code, out = importmail("alice@example.test", f"{scheme}://{BOB}@127.0.0.1:{port}", *password_env, "--no-verify")
    assert code == 0, out
    theirs = stored(bob.id)
    expected = {name: msgs for name, msgs in theirs.items() if name != "Sent Items"}
    expected["Sent"] = theirs["Sent"] + theirs["Sent Items"]  # 'Sent Items' is recognised as Sent
    assert stored(alice.id) == expected
    assert "Sent Items -> Sent" in out
    code, out = importmail("alice@example.test", f"{scheme}://{BOB}@127.0.0.1:{port}", *password_env, "--no-verify")
    assert "0 copied, 14 skipped" in out  # nothing downloaded twice


def test_imap_import_refuses_an_unverifiable_certificate_unless_told(alice, remote, password_env):
    with pytest.raises(CommandError, match="cannot be verified; --no-verify accepts it"):
        call_command(
            "importmail",
            "alice@example.test",
            f"imaps://{BOB}@127.0.0.1:{remote.ports['imaps']}",
            *password_env,
            stdout=io.StringIO(),
        )


def test_wrong_password_and_unreachable_server_are_clear_messages(alice, remote, monkeypatch):
    monkeypatch.setenv("REMOTE_PASSWORD", "wrong")
    with pytest.raises(CommandError, match="refused the login of bob@example.test"):
        call_command(
            "importmail",
            "alice@example.test",
            f"imap://{BOB}@127.0.0.1:{remote.ports['imap']}",
            "--password-env",
            "REMOTE_PASSWORD",
            "--no-verify",
            stdout=io.StringIO(),
        )
    with TcpProxy("127.0.0.1", 9) as closed:
        closed.cut()
        with pytest.raises(CommandError, match=f"cannot connect to 127.0.0.1:{closed.port}|connection to"):
            call_command(
                "importmail",
                "alice@example.test",
                f"imap://{BOB}@127.0.0.1:{closed.port}",
                "--password-env",
                "REMOTE_PASSWORD",
                stdout=io.StringIO(),
            )
    assert all(not messages for messages in stored(alice.id).values())


def _fill_inbox(account_id: int, count: int) -> None:
    for start in range(0, count, 100):
        store.append_many(
            account_id,
            "INBOX",
            [(message(n).replace(b"\n", b"\r\n"), ["\\Seen"], None) for n in range(start, min(count, start + 100))],
        )


def _wait_for(account_id: int, at_least: int, still_running) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 60
    while store.folder_status(account_id, "INBOX").messages < at_least:
        assert still_running(), "the import ended before it could be interrupted"
        assert time.monotonic() < deadline
        time.sleep(0.01)


def resume_copies_the_rest(account_id: int, remote_id: int, url: str, password_env: list[str]) -> None:
    """Run the import again: it copies exactly what the interrupted run did not."""
    before = store.folder_status(account_id, "INBOX").messages
    count = store.folder_status(remote_id, "INBOX").messages
    code, out = importmail("alice@example.test", url, *password_env, "--no-verify")
    assert code == 0, out
    assert f"{count - before} copied, {before} skipped" in out
    assert stored(account_id)["INBOX"] == stored(remote_id)["INBOX"]


def test_a_killed_imap_import_resumes_copying_only_what_is_missing(alice, bob, password_env):
    count = 120
    _fill_inbox(bob.id, count)
    with SubprocessServer("imap") as server:
        url = f"imap://{BOB}@127.0.0.1:{server.ports['imap']}"
        env = {**os.environ, "DATABASE_URL": database_url(), "MAIL_DB_POOL": "false"}
        proc = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "importmail",
                "alice@example.test",
                url,
                *password_env,
                "--no-verify",
                "--batch-size",
                "5",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(alice.id, 20, lambda: proc.poll() is None)
            proc.send_signal(signal.SIGSTOP)
            assert store.folder_status(alice.id, "INBOX").messages < count
        finally:
            proc.kill()
            proc.wait()
        resume_copies_the_rest(alice.id, bob.id, url, password_env)


def test_a_connection_cut_mid_import_stops_cleanly_and_the_next_run_finishes(alice, bob, password_env):
    count = 120
    _fill_inbox(bob.id, count)
    with SubprocessServer("imap") as server, TcpProxy("127.0.0.1", server.ports["imap"]) as proxy:
        url = f"imap://{BOB}@127.0.0.1:{proxy.port}"
        result: list[tuple[int, str]] = []

        def run() -> None:
            try:
                result.append(importmail("alice@example.test", url, *password_env, "--no-verify", "--batch-size", "5"))
            finally:
                db.connections.close_all()  # this thread's own

        worker = threading.Thread(target=run)
        worker.start()
        _wait_for(alice.id, 20, worker.is_alive)
        proxy.cut()
        worker.join(60)
        code, out = result[0]
        assert code == 1 and "the import stopped" in out, out
        assert "run the same command again" in out
        proxy.restore()
        resume_copies_the_rest(alice.id, bob.id, url, password_env)
