"""docs/BACKUP.md's recipe, tested: pg_dump a populated database, pg_restore
it into a new one, and find every message, flag, date and key there; then
run the app against the restored database."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest

from mailboxes import store
from tests.servers import ROOT, database_url
from tests.transfer.conftest import make_maildir, make_mbox_dir
from tests.transfer.test_import_local import importmail

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not shutil.which("pg_dump") or not shutil.which("pg_restore"),
        reason="needs PostgreSQL's client tools (pg_dump, pg_restore)",
    ),
]

MESSAGES = """
    SELECT a.address, f.name, f.uidvalidity, f.special_use, m.uid, m.modseq, m.seen, m.answered, m.flagged,
           m.deleted, m.draft, m.keywords::text, m.internal_date, m.size, b.sha256, encode(sha256(b.data), 'hex')
    FROM mailboxes_message m JOIN mailboxes_folder f ON f.id = m.folder_id
    JOIN mailboxes_account a ON a.id = f.owner_id JOIN mailboxes_blob b ON b.sha256 = m.blob_id
    ORDER BY a.address, f.name, m.uid"""
OTHERS = [
    "SELECT address, password, quota, used_bytes FROM mailboxes_account ORDER BY address",
    "SELECT source, targets::text FROM mailboxes_alias ORDER BY source",
    "SELECT selector, private_key, public_key FROM mailboxes_dkimkey ORDER BY selector",
]


def rows(url: str, query: str) -> list[tuple]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


@pytest.fixture
def restored_url():  # type: ignore[no-untyped-def]
    parts = urlsplit(database_url())
    name = parts.path.lstrip("/") + "_restored"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield urlunsplit(parts._replace(path="/" + name))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_dump_restored_into_a_new_database_holds_every_message_and_flag(alice, bob, tmp_path, restored_url):
    make_maildir(tmp_path / "maildir", "maildir++")
    importmail("alice@example.test", str(tmp_path / "maildir"))
    make_mbox_dir(tmp_path / "mbox")
    importmail("bob@example.test", str(tmp_path / "mbox"))
    inbox = store.select_folder(alice.id, "INBOX")
    store.set_flags(alice.id, inbox.id, [(inbox.uids[0], inbox.uids[0])], "add", ["\\Flagged", "$Important"])
    store.create_alias("team@example.test", ["alice@example.test", "bob@example.test"])
    store.generate_dkim_key("example.test")

    dump = tmp_path / "mailhost.dump"
    subprocess.run(["pg_dump", "--format=custom", "--file", str(dump), "--dbname", database_url()], check=True)
    subprocess.run(["pg_restore", "--no-owner", "--exit-on-error", "--dbname", restored_url, str(dump)], check=True)

    original = rows(database_url(), MESSAGES)
    assert len(original) == 20  # 13 imported for alice, 7 for bob
    assert rows(restored_url, MESSAGES) == original
    assert all(row[-2] == row[-1] for row in original)  # every blob's bytes still hash to their key
    for query in OTHERS:
        assert rows(restored_url, query) == rows(database_url(), query)

    # The app runs on the restored database: export alice's mail from it.
    env = {**os.environ, "DATABASE_URL": restored_url, "MAIL_DB_POOL": "false"}
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "exportmail",
            "alice@example.test",
            str(tmp_path / "export"),
            "--format",
            "maildir",
            "--progress",
            "none",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    exported = sorted(p.read_bytes() for p in (tmp_path / "export").rglob("cur/*"))
    assert len(exported) == sum(1 for row in original if row[0] == "alice@example.test")
