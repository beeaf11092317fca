"""importmail from a Maildir and from mbox files: folders, flags, internal
dates and odd messages arrive intact; running again copies only what is
missing, also after the process was killed half way."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from mailboxes import store
from tests.markers import needs_postgres
from tests.servers import ROOT, database_url
from tests.transfer.conftest import T0, Stored, make_maildir, make_mbox_dir, message, stored

pytestmark = pytest.mark.slow


def importmail(*args: str) -> tuple[int, str]:
    """Run the command as a user would: (exit status, what it printed)."""
    out = io.StringIO()
    try:
        call_command("importmail", *args, "--progress", "plain", stdout=out)
    except CommandError as exc:
        return exc.returncode, out.getvalue() + f"\nCommandError: {exc}"
    return 0, out.getvalue()


def assert_holds(account_id: int, expected: dict) -> None:
    got = stored(account_id)
    for folder, messages in expected.items():
        assert got[folder] == [Stored(raw, flags, when) for raw, flags, when in messages], folder
    for folder, messages in got.items():
        if folder not in expected:
            assert messages == [], f"{folder} should be empty"


@pytest.mark.parametrize("layout", ["maildir++", "fs"])
def test_maildir_import_keeps_folders_flags_dates_and_odd_messages(alice, tmp_path, layout):
    expected = make_maildir(tmp_path / "Maildir", layout)
    code, out = importmail("alice@example.test", str(tmp_path / "Maildir"))
    assert code == 2, out  # the empty file is reported as failed
    assert_holds(alice.id, expected.folders)
    assert "13 copied, 0 skipped (already there), 1 failed" in out
    assert "an empty file" in out and "no header fields; copied as it is" in out
    folders = {f.name: f.special_use for f in store.list_folders(alice.id)}
    assert folders["Sent"] == "\\Sent" and "Sent Items" not in folders
    assert {"Archive/2020/Q1", "Café"} <= set(folders)


def test_running_an_import_again_copies_nothing(alice, tmp_path):
    make_maildir(tmp_path / "Maildir", "maildir++")
    importmail("alice@example.test", str(tmp_path / "Maildir"))
    before = stored(alice.id)
    code, out = importmail("alice@example.test", str(tmp_path / "Maildir"))
    assert "0 copied, 13 skipped (already there), 1 failed" in out
    assert stored(alice.id) == before


def test_mbox_directory_import_reads_quoting_status_fields_and_survives_junk(alice, tmp_path):
    expected = make_mbox_dir(tmp_path / "Mail")
    code, out = importmail("alice@example.test", str(tmp_path / "Mail"))
    assert code == 2, out
    assert "bytes before the first From line are not a message" in out
    assert "notes.org left out: not an mbox file" in out and ".msf" not in out
    assert_holds(alice.id, expected.folders)
    inbox = stored(alice.id)["INBOX"]
    assert b"\r\nFrom the start, this line needs quoting.\r\n>From this one too.\r\n" in inbox[0].raw
    assert b"Status:" not in inbox[0].raw and b"X-Keywords" not in inbox[0].raw
    assert "7 copied, 0 skipped (already there), 1 failed" in out


def test_a_single_mbox_file_goes_into_the_folder_named(alice, tmp_path):
    path = tmp_path / "old.mbox"
    path.write_bytes(b"From x@example.net Tue Nov 14 22:13:20 2023\n" + message(30) + b"\n")
    code, out = importmail("alice@example.test", str(path), "--folder", "Old/Imported")
    assert code == 0, out
    assert [m.raw for m in stored(alice.id)["Old/Imported"]] == [message(30).replace(b"\n", b"\r\n")]


def test_a_message_over_the_size_limit_is_reported_unread_and_the_rest_copied(alice, tmp_path, small_limit):
    root = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    (root / "cur" / f"{T0}.big:2,S").write_bytes(message(40, body="x" * (small_limit + 10) + "\n"))
    (root / "cur" / f"{T0 + 1}.small:2,S").write_bytes(message(41))
    code, out = importmail("alice@example.test", str(root))
    assert code == 2
    assert "larger than the message size limit (65536 bytes)" in out
    assert len(stored(alice.id)["INBOX"]) == 1


def test_a_quota_that_fills_up_stops_cleanly_keeping_what_fits(alice, tmp_path):
    root = tmp_path / "Maildir"
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for n in range(10):
        (root / "cur" / f"{T0 + n}.m{n}:2,S").write_bytes(message(n, body="y" * 900 + "\n"))
    size = len(message(0, body="y" * 900 + "\n").replace(b"\n", b"\r\n"))
    store.update_account("alice@example.test", quota=size * 4 + size // 2)
    code, out = importmail("alice@example.test", str(root), "--batch-size", "3")
    assert code == 1
    assert "the mailbox is full" in out
    inbox = stored(alice.id)["INBOX"]
    assert len(inbox) == 4
    assert store.quota_usage(alice.id).used == sum(len(m.raw) for m in inbox)  # nothing half-written


@pytest.mark.parametrize(
    "source, says",
    [
        ("/nonexistent/path", "no such file or directory"),
        ("imaps://bob:secret@127.0.0.1", "never put the password in the address"),
        ("imap://127.0.0.1", "needs a user and a host"),
        ("notmbox", "not an mbox file"),
    ],
)
def test_a_bad_source_is_one_clear_line_and_writes_nothing(alice, tmp_path, source, says):
    (tmp_path / "notmbox").write_bytes(b"hello\n")
    if source == "notmbox":
        source = str(tmp_path / "notmbox")
    with pytest.raises(CommandError, match=says):
        call_command("importmail", "alice@example.test", source, stdout=io.StringIO())
    assert all(not messages for messages in stored(alice.id).values())


def test_an_unknown_account_is_refused(users, tmp_path):
    with pytest.raises(CommandError, match="nobody@example.test"):
        call_command("importmail", "nobody@example.test", str(tmp_path), stdout=io.StringIO())


def _big_maildir(root: Path, count: int) -> None:
    for sub in ("cur", "new", "tmp"):
        (root / sub).mkdir(parents=True)
    for n in range(count):
        (root / "cur" / f"{T0 + n}.m{n}:2,S").write_bytes(message(n))


@pytest.mark.parametrize("how", ["killed", "interrupted"])
def test_an_import_stopped_half_way_resumes_copying_only_what_is_missing(alice, tmp_path, how):
    count = 150
    _big_maildir(tmp_path / "Maildir", count)
    env = {**os.environ, "DATABASE_URL": database_url(), "MAIL_DB_POOL": "false"}
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "importmail",
            "alice@example.test",
            str(tmp_path / "Maildir"),
            "--batch-size",
            "5",
            "--progress",
            "plain",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while store.folder_status(alice.id, "INBOX").messages < 20 and time.monotonic() < deadline:
            assert proc.poll() is None, "the import ended before it could be interrupted"
            time.sleep(0.01)
        if how == "killed":  # frozen mid-way, then killed: no clean shutdown at all
            proc.send_signal(signal.SIGSTOP)
            assert store.folder_status(alice.id, "INBOX").messages < count
        else:  # Ctrl-C: the batch being written is finished or rolled back, then a summary
            proc.send_signal(signal.SIGINT)
            out = proc.communicate(timeout=60)[0].decode()
            assert proc.returncode == 1, out
            assert "interrupted; run the same command again to copy the rest" in out
    finally:
        proc.kill()
        proc.communicate()
    copied_before = store.folder_status(alice.id, "INBOX").messages  # a batch in flight never commits
    assert 0 < copied_before < count
    code, out = importmail("alice@example.test", str(tmp_path / "Maildir"))
    assert code == 0, out
    assert f"{count - copied_before} copied, {copied_before} skipped" in out
    ids = [m.raw.split(b"Message-ID: ")[1].split(b"\r\n")[0] for m in stored(alice.id)["INBOX"]]
    assert sorted(ids) == sorted(f"<msg-{n}@example.net>".encode() for n in range(count))


def _maintained() -> tuple[object, object, object]:
    """When the message table was last vacuumed and analysed, and the database's clock."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT last_vacuum, last_analyze, clock_timestamp() FROM pg_stat_user_tables "
            "WHERE relname = 'mailboxes_message'"
        )
        return cursor.fetchone()


@needs_postgres
def test_a_bulk_import_refreshes_the_statistics_and_a_small_one_does_not(alice, tmp_path, monkeypatch):
    from mailboxes.transfer import importer

    make_maildir(tmp_path / "Maildir", "maildir++")
    *_, start = _maintained()
    importmail("alice@example.test", str(tmp_path / "Maildir"))  # 13 messages: under BULK_IMPORT
    vacuumed, analysed, _ = _maintained()
    assert not (vacuumed and vacuumed > start) and not (analysed and analysed > start)
    monkeypatch.setattr(importer, "BULK_IMPORT", 5)
    make_mbox_dir(tmp_path / "Mail")
    importmail("alice@example.test", str(tmp_path / "Mail"))
    vacuumed, analysed, _ = _maintained()
    assert vacuumed > start and analysed > start
