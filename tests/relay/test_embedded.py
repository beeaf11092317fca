"""The embedded default (`make run`: SQLite, no broker) still delivers
outbound mail: the relay runs on a background thread of the process that
queued it, and the caller does not wait for the remote server. And
runmailserver runs beat's upkeep jobs itself, on beat's intervals."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.servers import SubprocessServer

from .helpers import ROOT

pytestmark = pytest.mark.slow

SCRIPT = r"""
import json, sys, time
import django
django.setup()
from django.core.management import call_command
from mailboxes import store
call_command("migrate", verbosity=0)
store.create_domain("example.test")
alice = store.create_account("alice@example.test", "pw")
raw = b"From: alice@example.test\r\nTo: x@remote.test\r\nSubject: embedded\r\n\r\nhi\r\n"
store.deliver(raw, ["x@remote.test", "nobody@remote.test"], "alice@example.test", sender_account_id=alice.id)
deadline = time.monotonic() + 60
while time.monotonic() < deadline:
    rows = store.outbound_recipients()
    if all(r.state in ("sent", "failed") for r in rows):
        break
    time.sleep(0.05)
json.dump({"states": {r.address: r.state for r in rows},
           "inbox": store.folder_status(alice.id, "INBOX").messages}, sys.stdout)
"""


def embedded_env(tmp_path, sink, **extra: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """What `make run` has (no DATABASE_URL, no REDIS_URL), its SQLite under tmp_path."""
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update(
        {
            "MAIL_VAR_DIR": str(tmp_path),
            "DJANGO_SETTINGS_MODULE": "mailhost.settings",
            "MAIL_RELAY_MX_OVERRIDE": f"remote.test=127.0.0.1:{sink.port}",
            "MAIL_LOG_LEVEL": "WARNING",
            **extra,
        }
    )
    return env


def run_script(script: str, env: dict[str, str], *args: str) -> object:
    done = subprocess.run([sys.executable, "-c", script, *args], cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


def test_the_embedded_default_relays_on_a_background_thread(fresh_sink, tmp_path):
    result = run_script(SCRIPT, embedded_env(tmp_path, fresh_sink))
    assert isinstance(result, dict)
    assert result["states"] == {"x@remote.test": "sent", "nobody@remote.test": "failed"}
    assert result["inbox"] == 1  # the DSN for nobody@
    assert [m.rcpt_tos for m in fresh_sink.handler.messages] == [["x@remote.test"]]


UPKEEP_SETUP = r"""
import json, sys, time
from datetime import timedelta
import django
django.setup()
from django.core.management import call_command
from django.utils import timezone
from mailboxes import store
from mailboxes.models import OutboundMessage, OutboundRecipient
call_command("migrate", verbosity=0)
store.create_domain("example.test")
alice = store.create_account("alice@example.test", "pw", quota=20000)
long_ago = timezone.now() - timedelta(days=60)
store.append(alice.id, "Trash", b"Subject: old trash\r\n\r\nbin\r\n", internal_date=long_ago)
store.append(alice.id, "Archive", b"Subject: big\r\n\r\n" + b"x" * 17000 + b"\r\n")  # 85% of the quota
uid = store.deliver(b"Subject: deleted\r\n\r\nbye\r\n", ["alice@example.test"]).delivered[alice.id]
store.delete_messages(alice.id, store.select_folder(alice.id, "INBOX").id, [(uid, uid)])
store.deliver(b"Subject: out\r\n\r\nfar\r\n", ["x@remote.test"], "", sender_account_id=alice.id)
deadline = time.monotonic() + 60
while time.monotonic() < deadline and [r.state for r in store.outbound_recipients()] != ["sent"]:
    time.sleep(0.05)
OutboundMessage.objects.update(created=long_ago)  # the test moves the clock
OutboundRecipient.objects.update(next_attempt=long_ago)
json.dump(alice.id, sys.stdout)
"""

UPKEEP_RESULT = r"""
import email, json, sys, time
import django
django.setup()
from mailboxes import store
from mailboxes.models import Blob, Message, OutboundMessage
alice = int(sys.argv[1])

def now():
    folders = {f.name: f.messages for f in store.all_folder_status(alice)}
    inbox = store.select_folder(alice, "INBOX").id
    rows = store.fetch_messages(alice, inbox, [(1, 2**31)], content="full")
    return {"trash": folders["Trash"], "inbox": [email.message_from_bytes(r.data)["Subject"] for r in rows],
            "outbound": OutboundMessage.objects.count(),
            "blobs of no message": Blob.objects.count() - Message.objects.values("blob").distinct().count()}

deadline = time.monotonic() + 60  # returns as soon as the state is the one expected
while time.monotonic() < deadline and now() != json.loads(sys.argv[2]):
    time.sleep(0.2)
json.dump(now(), sys.stdout)
"""


def test_the_embedded_default_runs_beats_upkeep_jobs_itself(fresh_sink, tmp_path):
    """Every upkeep job on a 1 s interval: the old Trash message, the
    finished outbound entry (past a 1-day retention) and the bytes of both
    and of a deleted message go, and the quota warning arrives, with no
    beat and no worker running."""
    env = embedded_env(
        tmp_path,
        fresh_sink,
        MAIL_QUOTA_CHECK_INTERVAL="1",
        MAIL_TRASH_CLEANUP_INTERVAL="1",
        MAIL_BLOB_GC_INTERVAL="1",
        MAIL_BLOB_GC_GRACE="0",
        MAIL_OUTBOUND_RETENTION_DAYS="1",
    )
    alice = run_script(UPKEEP_SETUP, env)
    before = {"trash": 1, "inbox": [], "outbound": 1, "blobs of no message": 2}  # the deleted one's, the queue's
    assert run_script(UPKEEP_RESULT, env, str(alice), json.dumps(before)) == before
    expected = {"trash": 0, "inbox": ["Your mailbox is 80% full"], "outbound": 0, "blobs of no message": 0}
    with SubprocessServer("smtp", env, embedded=True):
        after = run_script(UPKEEP_RESULT, env, str(alice), json.dumps(expected))
    assert after == expected
