"""The embedded default of `make run` (SQLite, no Redis) end to end: the
delivery statements SQLite runs (mailboxes/store/delivery.py has one form
for PostgreSQL and one for SQLite) stored, counted and refused as on
PostgreSQL, through a real runmailserver, read back over IMAP and POP3."""

from __future__ import annotations

import imaplib
import os
import poplib
import smtplib
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.servers import ROOT

pytestmark = pytest.mark.slow

SETUP = r"""
import django
django.setup()
from django.core.management import call_command
from mailboxes import store
call_command("migrate", verbosity=0)
store.create_domain("example.test")
store.create_account("alice@example.test", "alice-pw")
store.create_account("bob@example.test", "bob-pw")
store.create_account("tiny@example.test", "tiny-pw", quota=600)
store.create_alias("team@example.test", ["alice@example.test", "bob@example.test"])
try:
    store.deliver(b"Subject: big\r\n\r\n" + b"x" * 700, ["tiny@example.test"])
    raise SystemExit("a message larger than the quota was stored")
except store.TooBigForQuota:
    pass
store.deliver(b"Subject: fill\r\n\r\n" + b"y" * 400, ["tiny@example.test"])
try:  # all or nothing: bob has room, tiny has not, so neither gets it
    store.deliver(b"Subject: more\r\n\r\n" + b"z" * 300, ["bob@example.test", "tiny@example.test"])
    raise SystemExit("a message was stored past the quota")
except store.OverQuota:
    pass
"""


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def embedded(tmp_path: Path):  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {"MAIL_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "mailhost.settings", "MAIL_LOG_LEVEL": "WARNING"}
    )
    done = subprocess.run([sys.executable, "-c", SETUP], cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    ports = {name: _free_port() for name in ("smtp", "imap", "pop3")}
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [
            sys.executable,
            str(ROOT / "manage.py"),
            "runmailserver",
            "--host",
            "127.0.0.1",
            "--protocols",
            "smtp,imap,pop3",
            "--imaps-port",
            "0",
            "--pop3s-port",
            "0",
            *(arg for name, port in ports.items() for arg in (f"--{name}-port", str(port))),
            "--ready-file",
            str(ready),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while not (ready.exists() and ready.read_text().endswith("\n")):
        assert proc.poll() is None and time.monotonic() < deadline, "runmailserver did not start"
        time.sleep(0.05)
    yield ports
    proc.terminate()
    proc.wait(20)


def test_the_embedded_default_stores_counts_and_refuses_like_postgresql(embedded):
    with smtplib.SMTP("127.0.0.1", embedded["smtp"], timeout=30) as smtp:
        smtp.sendmail("sender@remote.test", ["alice@example.test"], b"Subject: one\r\n\r\nfirst\r\n")
        smtp.sendmail(
            "sender@remote.test", ["team@example.test", "alice@example.test"], b"Subject: two\r\n\r\nto the team\r\n"
        )  # alias + account: alice gets one copy
        big = b"Subject: big\r\n\r\n" + b"x" * 700 + b"\r\n"
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            smtp.sendmail("sender@remote.test", ["tiny@example.test"], big)
        assert refused.value.recipients["tiny@example.test"][0] == 552
    imap = imaplib.IMAP4("127.0.0.1", embedded["imap"])
    imap.login("alice@example.test", "alice-pw")
    assert imap.select("INBOX") == ("OK", [b"2"])
    typ, data = imap.uid("FETCH", "1:*", "(UID RFC822.SIZE BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subjects = [part[1].strip() for part in data if isinstance(part, tuple)]
    assert subjects == [b"Subject: one", b"Subject: two"]
    assert b"UID 1 " in data[0][0] and b"UID 2 " in data[2][0]
    imap.logout()
    pop = poplib.POP3("127.0.0.1", embedded["pop3"])
    pop.user("bob@example.test")
    pop.pass_("bob-pw")
    count, size = pop.stat()
    assert count == 1
    assert b"to the team" in b"\r\n".join(pop.retr(1)[1])
    pop.quit()
    pop = poplib.POP3("127.0.0.1", embedded["pop3"])
    pop.user("tiny@example.test")
    pop.pass_("tiny-pw")
    assert pop.stat()[0] == 1  # only "fill": the refused ones left nothing
    assert b"Subject: fill" in b"\r\n".join(pop.retr(1)[1])
    pop.quit()
