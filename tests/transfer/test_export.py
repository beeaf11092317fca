"""exportmail and the webmail's zip download: every folder, byte-exact
messages, flags and dates; exported then imported again gives the same mail."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from mailboxes import store
from mailboxes.transfer.maildir import flags_from_info, read_keywords
from tests.transfer.conftest import make_maildir, stored
from tests.transfer.test_import_local import importmail

FORMATS = [("maildir", "maildir++"), ("maildir", "fs"), ("mbox", "maildir++")]


def exportmail(address: str, dest: Path, fmt: str, layout: str = "maildir++") -> str:
    out = io.StringIO()
    call_command(
        "exportmail", address, str(dest), "--format", fmt, "--layout", layout, "--progress", "plain", stdout=out
    )
    return out.getvalue()


@pytest.fixture
def filled(alice, tmp_path):  # type: ignore[no-untyped-def]
    """alice with the generated Maildir imported, plus 30 keywords and a message without a final line break."""
    make_maildir(tmp_path / "source", "maildir++")
    importmail("alice@example.test", str(tmp_path / "source"))
    store.append_many(
        alice.id,
        "Archive",
        [
            (b"Subject: no final line break\r\n\r\nlast line", ["\\Seen"], None),
            (b"Subject: many keywords\r\n\r\nbody\r\n", [f"kw{n}" for n in range(30)], None),
        ],
    )
    return alice


@pytest.mark.parametrize("fmt, layout", FORMATS)
def test_export_then_import_elsewhere_gives_identical_messages_and_flags(filled, bob, tmp_path, fmt, layout):
    out = exportmail("alice@example.test", tmp_path / "export", fmt, layout)
    assert "15 exported" in out
    original = stored(filled.id)
    if fmt == "mbox":  # an mbox cannot keep a missing final line break (mailboxes.transfer notes)
        archive = original["Archive"]  # message 8, then the two appended above
        archive[1] = type(archive[1])(archive[1].raw + b"\n", archive[1].flags, archive[1].when)
    else:  # Maildir has room for 26 keywords a folder
        assert "keywords beyond 26" in out
        many = original["Archive"][2]
        original["Archive"][2] = type(many)(many.raw, frozenset(sorted(many.flags)[:26]), many.when)
    code, report = importmail("bob@example.test", str(tmp_path / "export"))
    assert code == 0, report
    assert stored(bob.id) == original


def test_maildir_export_is_byte_exact_with_info_flags_and_dates(filled, tmp_path):
    exportmail("alice@example.test", tmp_path / "export", "maildir")
    files = {}
    for path in (tmp_path / "export").rglob("cur/*"):
        files[path.read_bytes()] = (flags_from_info(path.name, read_keywords(path.parent.parent)), path.stat().st_mtime)
    for messages in stored(filled.id).values():
        for m in messages:
            flags, mtime = files[m.raw]
            assert flags == m.flags or len(m.flags) > 26
            assert int(mtime) == int(m.when.timestamp())
    assert (tmp_path / "export" / ".Archive.2020" / "maildirfolder").exists()
    assert (tmp_path / "export" / ".Caf&AOk-" / "cur").is_dir()  # modified UTF-7 on disk, as Dovecot


def test_export_refuses_a_destination_that_is_not_empty(alice, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "something").write_text("x")
    with pytest.raises(CommandError, match="not an empty directory"):
        exportmail("alice@example.test", tmp_path / "full", "mbox")


def test_export_and_reimport_into_the_same_account_copies_nothing(filled, tmp_path):
    exportmail("alice@example.test", tmp_path / "export", "maildir")
    before = stored(filled.id)
    code, out = importmail("alice@example.test", str(tmp_path / "export"))
    assert "0 copied, 15 skipped" in out
    assert stored(filled.id) == before


@pytest.mark.urls("tests.transfer.urls")
def test_webmail_download_is_a_zip_of_mbox_files_that_imports_back(filled, bob, tmp_path):
    client = Client()
    assert client.get("/transfer/mail.zip").status_code == 302  # signed out: to the login page
    client.force_login(store_user(filled.id))
    assert client.head("/transfer/mail.zip")["Content-Type"] == "application/zip"
    response = client.get("/transfer/mail.zip")
    assert response.status_code == 200 and response["Content-Type"] == "application/zip"
    assert 'attachment; filename="mail-alice@example.test-' in response["Content-Disposition"]
    data = b"".join(response.streaming_content)
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = set(archive.namelist())
        assert {"INBOX.mbox", "Sent.mbox", "Archive/2020/Q1.mbox", "Café.mbox", "Drafts.mbox"} <= names
        archive.extractall(tmp_path / "unzipped")
    code, out = importmail("bob@example.test", str(tmp_path / "unzipped"))
    assert code == 0, out
    assert stored(bob.id)["Archive/2020/Q1"] == stored(filled.id)["Archive/2020/Q1"]
    assert stored(bob.id)["INBOX"] == stored(filled.id)["INBOX"]


def store_user(account_id: int):  # type: ignore[no-untyped-def]
    from django.contrib.auth import get_user_model

    return get_user_model().objects.get(pk=account_id)
