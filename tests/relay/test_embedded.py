"""The embedded default (`make run`: SQLite, no broker) still delivers
outbound mail: the relay runs on a background thread of the process that
queued it, and the caller does not wait for the remote server."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from .helpers import ROOT

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


def test_the_embedded_default_relays_on_a_background_thread(fresh_sink, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env.update({"MAIL_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "mailhost.settings",
                "MAIL_RELAY_MX_OVERRIDE": f"remote.test=127.0.0.1:{fresh_sink.port}", "MAIL_LOG_LEVEL": "WARNING"})
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=env, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    result = json.loads(done.stdout)
    assert result["states"] == {"x@remote.test": "sent", "nobody@remote.test": "failed"}
    assert result["inbox"] == 1  # the DSN for nobody@
    assert [m.rcpt_tos for m in fresh_sink.handler.messages] == [["x@remote.test"]]
