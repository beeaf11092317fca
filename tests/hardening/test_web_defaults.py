"""The web's production defaults: host names, HTTPS-only cookies and HSTS,
private files created private, /metrics for its allowed clients only,
failed-login audit rows pruned, and `check --deploy` clean with the settings
the README gives. The settings are read at start-up, so those tests run the
real web app in a child process with the environment under test."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from conftest import PASSWORDS
from mailboxes import store, tasks
from mailboxes.models import AuditEntry
from tests.servers import ROOT, database_url

ALICE = "alice@example.test"
UNSET = (
    "DATABASE_URL",
    "REDIS_URL",
    "ALLOWED_HOSTS",
    "MAIL_HTTPS",
    "MAIL_SECURE_COOKIES",
    "MAIL_HSTS_SECONDS",
    "DJANGO_SECRET_KEY",
    "MAIL_FAST_PASSWORD_HASHING",
    "MAIL_HOSTNAME",
)


def child(script: str, tmp_path: Path, **env: str) -> object:
    """Run script (which prints JSON) under mailhost.settings with env."""
    base = {k: v for k, v in os.environ.items() if k not in UNSET}
    base.update(
        {"MAIL_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "mailhost.settings", "MAIL_LOG_LEVEL": "ERROR", **env}
    )
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=base, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


HOSTS = r"""
import json, django
django.setup()
from django.test import Client
hosts = ["mail.example.net", "localhost", "127.0.0.1:8000", "[::1]", "evil.test", "www.example.org"]
print(json.dumps({h: Client().get("/", HTTP_HOST=h).status_code for h in hosts}))
"""


def test_the_web_answers_to_mail_hostname_and_loopback_names_unless_allowed_hosts_is_set(tmp_path):
    found = child(HOSTS, tmp_path, MAIL_HOSTNAME="mail.example.net")
    assert found == {
        "mail.example.net": 302,
        "localhost": 302,
        "127.0.0.1:8000": 302,
        "[::1]": 302,
        "evil.test": 400,
        "www.example.org": 400,
    }
    found = child(HOSTS, tmp_path, MAIL_HOSTNAME="mail.example.net", ALLOWED_HOSTS=".example.org")
    assert [h for h, status in found.items() if status == 302] == ["www.example.org"]


HTTPS = r"""
import json, sys, django
django.setup()
from django.test import Client
host = {"HTTP_HOST": "mail.example.net"}
plain = Client().get("/mail/login/", **host)
page = Client().get("/mail/login/", secure=True, **host)
login = Client().post("/mail/login/", {"address": sys.argv[1], "password": sys.argv[2]}, secure=True, **host)
metrics = Client().get("/metrics", **host)
print(json.dumps({"plain": [plain.status_code, plain.get("Location")], "hsts": page.get("Strict-Transport-Security"),
                  "csrf secure": page.cookies["csrftoken"]["secure"], "login": login.status_code,
                  "session secure": login.cookies["sessionid"]["secure"], "metrics": metrics.status_code}))
"""


def test_over_https_cookies_are_secure_plain_http_is_redirected_and_hsts_is_sent(users, tmp_path):
    script = HTTPS.replace("django.setup()", "django.setup()\nsys.argv[1:] = %r" % [ALICE, PASSWORDS[ALICE]])
    found = child(
        script,
        tmp_path,
        MAIL_HOSTNAME="mail.example.net",
        MAIL_HTTPS="true",
        DATABASE_URL=database_url(),
        MAIL_DB_POOL="false",
        MAIL_FAST_PASSWORD_HASHING="1",
    )
    assert found == {
        "plain": [301, "https://mail.example.net/mail/login/"],
        "hsts": "max-age=31536000; includeSubDomains; preload",
        "csrf secure": True,
        "login": 302,
        "session secure": True,
        "metrics": 200,
    }


PRIVATE_FILES = r"""
import json, os, stat, sys
os.umask(0o022)
var = os.environ["MAIL_VAR_DIR"]
seen, busy = {}, [False]

def watch(event, args):
    # At every audit event of start-up (opens, renames, chmods, ...), the mode
    # of every file that holds a secret, under whatever name it has just then.
    if busy[0]:
        return
    busy[0] = True
    try:
        for folder, _, names in os.walk(var):
            for name in names:
                if "secret_key" in name or "key.pem" in name:
                    try:
                        mode = stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode)
                    except FileNotFoundError:
                        continue
                    seen.setdefault("secret_key" if "secret_key" in name else "key.pem", set()).add(oct(mode))
    finally:
        busy[0] = False

sys.addaudithook(watch)
import django
django.setup()
from protocols import tls
tls.certificate_paths()
print(json.dumps({name: sorted(modes) for name, modes in seen.items()}))
"""


def test_the_secret_key_and_the_tls_key_are_never_readable_by_others_not_even_for_an_instant(tmp_path):
    assert child(PRIVATE_FILES, tmp_path) == {"secret_key": ["0o600"], "key.pem": ["0o600"]}
    assert {p.name for p in tmp_path.rglob("*")} == {"secret_key", "tls", "key.pem", "cert.pem"}


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "trusted", "allowed", "status"),
    [
        ("127.0.0.1", "", [], None, 200),  # the default: loopback
        ("::1", "", [], None, 200),
        ("192.0.2.10", "", [], None, 403),
        ("192.0.2.10", "", [], ["192.0.2.0/24"], 200),
        ("127.0.0.1", "198.51.100.1", [], None, 403),  # a proxy we were not told about: client unknown
        ("127.0.0.1", "198.51.100.1", ["127.0.0.1"], None, 403),  # a trusted proxy's client, not allowed
        ("127.0.0.1", "192.0.2.10", ["127.0.0.1"], ["192.0.2.0/24"], 200),
    ],
)
def test_metrics_are_served_only_to_the_allowed_clients(db, settings, peer, forwarded_for, trusted, allowed, status):
    settings.MAIL_TRUSTED_PROXIES = trusted
    if allowed is not None:
        settings.MAIL_METRICS_ALLOWED = allowed
    headers = {"HTTP_X_FORWARDED_FOR": forwarded_for} if forwarded_for else {}
    response = Client(REMOTE_ADDR=peer, **headers).get("/metrics")
    assert response.status_code == status
    assert (b"mailhost_http_requests" in response.content) == (status == 200)


def test_failed_login_audit_rows_are_pruned_after_the_retention_by_a_beat_job(users, settings):
    settings.MAIL_LOGIN_AUDIT_RETENTION_DAYS = 30
    for ip in ("192.0.2.1", "192.0.2.2"):
        Client(REMOTE_ADDR=ip).post("/mail/login/", {"address": ALICE, "password": "guess"})
    root = store.create_account("root@example.test", "root-secret", superuser=True)
    actor = store.admin_actor(root.id)
    assert actor is not None
    store.admin_clear_login_block("ip", "192.0.2.1", actor=actor)  # an audit row of another kind
    AuditEntry.objects.filter(detail__ip="192.0.2.1").update(at=timezone.now() - timedelta(days=31))
    AuditEntry.objects.filter(action="login.unblocked").update(at=timezone.now() - timedelta(days=31))
    job = settings.CELERY_BEAT_SCHEDULE["login-audit-prune"]
    assert job["task"] == tasks.prune_login_failures.name
    assert tasks.prune_login_failures() == 1
    left = sorted((e.action, e.detail.get("ip", e.target)) for e in AuditEntry.objects.all())
    assert left == [("login.failed", "192.0.2.2"), ("login.unblocked", "ip:192.0.2.1")]
    settings.MAIL_LOGIN_AUDIT_RETENTION_DAYS = 0  # keeps them
    AuditEntry.objects.update(at=timezone.now() - timedelta(days=3650))
    assert tasks.prune_login_failures() == 0 and AuditEntry.objects.count() == 2


def _readme_production_environment() -> dict[str, str]:
    readme = (Path(ROOT) / "README.md").read_text()
    block = re.search(r"```sh\n\s*# production environment[^\n]*\n(.*?)```", readme, re.S)
    assert block, "README.md: the production environment block"
    pairs = (line.strip().partition("=") for line in block.group(1).splitlines() if "=" in line)
    return {name: secrets.token_urlsafe(50) if value.startswith("<") else value for name, _, value in pairs}


def test_check_deploy_is_clean_with_the_production_settings_in_the_readme(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in UNSET}
    env.update({"MAIL_VAR_DIR": str(tmp_path), **_readme_production_environment()})
    assert env["MAIL_HTTPS"] == "true" and "DJANGO_SECRET_KEY" in env
    done = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout
