"""Mailhost settings. Everything comes from the environment (see README).

Two modes: unset DATABASE_URL/REDIS_URL gives the embedded default (SQLite
under var/, Celery tasks run in process); set them for production.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
import socket
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from .env import env_bool, env_int, env_list, env_networks, env_port, env_rates, env_size, env_str
from .privatefile import write_private

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MAIL_VAR_DIR", str(BASE_DIR / "var"))).resolve()
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    key = env_str("DJANGO_SECRET_KEY")
    if key:
        return key
    path = VAR_DIR / "secret_key"
    if not path.exists():
        write_private(path, secrets.token_urlsafe(50).encode(), replace=False)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("MAIL_DEBUG", False)
MAIL_HOSTNAME = env_str("MAIL_HOSTNAME") or socket.getfqdn() or "localhost"
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "mailboxes",
    "protocols",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",  # the language: the set_language cookie, else Accept-Language
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "mailboxes.webmail.seen.SeenMiddleware",  # the account's list of signed-in browsers
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "mailhost.metrics.MetricsMiddleware",
]

ROOT_URLCONF = "mailhost.urls"
WSGI_APPLICATION = "mailhost.wsgi.application"
ASGI_APPLICATION = "mailhost.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# --- database -------------------------------------------------------------

DATABASE_URL = env_str("DATABASE_URL")
# Protocol workers run blocking ORM work on a bounded thread pool; the
# connection pool is sized to match it (DESIGN.md, rule 3).
MAIL_DB_THREADS = env_int("MAIL_DB_THREADS", 8, minimum=1, maximum=256)
# PostgreSQL: the store's hot statements prepared on their connection. Off
# behind a pooler that cannot keep prepared statements (PgBouncer before 1.21
# in transaction mode).
MAIL_DB_PREPARED = env_bool("MAIL_DB_PREPARED", True)
# Each runmailserver worker's Prometheus endpoint (0 = off; --metrics-port).
MAIL_METRICS_PORT = env_port("MAIL_METRICS_PORT", 0)
# Where postmaster@ mail goes when no account or alias has that name (RFC 5321
# 4.5.1, RFC 2142): this address, or else the first active superuser.
MAIL_POSTMASTER = env_str("MAIL_POSTMASTER", "")
# runmailserver --workers: one worker per core where the database takes
# concurrent writers (PostgreSQL), at most AUTO_WORKERS_MAX of them (each
# worker's pool may open MAIL_DB_THREADS + 4 connections, and PostgreSQL
# allows 100 by default); one on the embedded SQLite default.
AUTO_WORKERS_MAX = 4
MAIL_WORKERS = env_int(
    "MAIL_WORKERS", min(os.cpu_count() or 1, AUTO_WORKERS_MAX) if DATABASE_URL else 1, minimum=1, maximum=256
)
# PROXY protocol (v1/v2) peers: when set, every IMAP, POP3 and SMTP
# connection must open with a PROXY header and come from one of these
# addresses or networks; any other connection is refused.
MAIL_PROXY_TRUSTED = env_list("MAIL_PROXY_TRUSTED")
MAIL_PROXY_TIMEOUT = env_int("MAIL_PROXY_TIMEOUT", 5, minimum=1)


def _database() -> dict:
    if not DATABASE_URL:
        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(VAR_DIR / "mailhost.sqlite3"),
            "OPTIONS": {
                # IMMEDIATE: a write transaction takes the lock at BEGIN, so two
                # writers queue on the busy timeout instead of failing to upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 30,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    try:
        config = dj_database_url.parse(DATABASE_URL)
    except Exception as exc:  # dj_database_url raises several types
        raise ImproperlyConfigured(f"DATABASE_URL is not a usable database URL: {exc}") from None
    if config["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_URL must be a postgres:// URL (or unset for SQLite)")
    if env_bool("MAIL_DB_POOL", True):
        config["CONN_MAX_AGE"] = 0
        config.setdefault("OPTIONS", {})["pool"] = {
            "min_size": 1,
            "max_size": MAIL_DB_THREADS + 4,
            "timeout": env_int("MAIL_DB_POOL_TIMEOUT", 10, minimum=1),
        }
    if MAIL_DB_PREPARED:
        # Parameters sent apart from the statement, so that the store's hot
        # statements can be prepared (mailboxes/store/_sql.prepared; nothing
        # else is: docs/PERFORMANCE.md, "Prepared statements").
        config.setdefault("OPTIONS", {})["server_side_binding"] = True
    config.setdefault("TEST", {})["NAME"] = env_str("MAIL_TEST_DATABASE", "") or None
    if config["TEST"]["NAME"] is None:
        del config["TEST"]["NAME"]
    return config


DATABASES = {"default": _database()}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "mailboxes.Account"

# Argon2id (argon2-cffi) for new hashes; a PBKDF2 or scrypt hash is
# re-hashed with Argon2id at the account's next successful password check
# (docs/SECURITY.md, "Password hashing", has the measured cost).
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
# Tests only (Django's own advice): a fast hash so fixtures are quick. Never in production.
if env_bool("MAIL_FAST_PASSWORD_HASHING", False):
    PASSWORD_HASHERS.insert(0, "django.contrib.auth.hashers.MD5PasswordHasher")
AUTH_PASSWORD_VALIDATORS: list[dict] = []

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
LANGUAGES = [("en", "English"), ("it", "Italiano")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
LOGIN_URL = "/mail/login/"

# --- the web (docs/SECURITY.md, "The web's defaults") ----------------------

# Reverse proxies in front of the web whose X-Forwarded-For is believed
# (addresses or networks; mailhost/clientip.py).
MAIL_TRUSTED_PROXIES = env_networks("MAIL_TRUSTED_PROXIES")

# Host names the web answers to: MAIL_HOSTNAME and this machine's own names,
# unless set (a hosted domain's autoconfig./autodiscover. names need adding).
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS") or [MAIL_HOSTNAME, "localhost", "127.0.0.1", "[::1]"]
# Served over HTTPS (by gunicorn or a proxy that tells gunicorn so): cookies
# only over HTTPS, plain HTTP redirected (not /metrics, scraped from loopback),
# and HSTS. MAIL_SECURE_COOKIES is this setting's old name.
MAIL_HTTPS = env_bool("MAIL_HTTPS", env_bool("MAIL_SECURE_COOKIES", False))
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = SECURE_SSL_REDIRECT = MAIL_HTTPS
SECURE_REDIRECT_EXEMPT = [r"^metrics$"]
SECURE_HSTS_SECONDS = env_int("MAIL_HSTS_SECONDS", 365 * 24 * 3600 if MAIL_HTTPS else 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("MAIL_SESSION_AGE", 8 * 3600, minimum=60)
# Who may read the web's /metrics (the client address as mailhost/clientip.py sees it).
MAIL_METRICS_ALLOWED = env_networks("MAIL_METRICS_ALLOWED", "127.0.0.0/8,::1")

# --- Redis and Celery -----------------------------------------------------

REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
# Without a broker (embedded default) tasks run in the calling process.
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1

# --- the mail host --------------------------------------------------------

MAIL_TLS_CERT = env_str("MAIL_TLS_CERT")
MAIL_TLS_KEY = env_str("MAIL_TLS_KEY")
if bool(MAIL_TLS_CERT) != bool(MAIL_TLS_KEY):
    raise ImproperlyConfigured("MAIL_TLS_CERT and MAIL_TLS_KEY must be set together")
for _name, _path in (("MAIL_TLS_CERT", MAIL_TLS_CERT), ("MAIL_TLS_KEY", MAIL_TLS_KEY)):
    if _path and not Path(_path).is_file():
        raise ImproperlyConfigured(f"{_name}={_path!r}: no such file")
# ACME (protocols/acme.py): the CA's directory; the CA bundle verifying it is
# REQUESTS_CA_BUNDLE. Staging: https://acme-staging-v02.api.letsencrypt.org/directory
MAIL_ACME_DIRECTORY = env_str("MAIL_ACME_DIRECTORY", "https://acme-v02.api.letsencrypt.org/directory")
# How the CA's authorizations are answered: http-01 (the web app) or tls-alpn-01
# (the ordering process listens on MAIL_ACME_TLS_ALPN_PORT while the order lasts).
MAIL_ACME_CHALLENGE = env_str("MAIL_ACME_CHALLENGE", "http-01")
if MAIL_ACME_CHALLENGE not in ("http-01", "tls-alpn-01"):
    raise ImproperlyConfigured("MAIL_ACME_CHALLENGE must be http-01 or tls-alpn-01")
MAIL_ACME_TLS_ALPN_PORT = env_port("MAIL_ACME_TLS_ALPN_PORT", 443)
# Which of the hosted domains' autoconfig./autodiscover./mta-sts. names the certificate
# carries too: dns (those whose DNS points at MAIL_HOSTNAME's addresses), all, none.
MAIL_ACME_HOSTED_NAMES = env_str("MAIL_ACME_HOSTED_NAMES", "dns")
if MAIL_ACME_HOSTED_NAMES not in ("dns", "all", "none"):
    raise ImproperlyConfigured("MAIL_ACME_HOSTED_NAMES must be dns, all or none")
# Seconds between each worker's look at the certificate files (a renewal is loaded then).
MAIL_TLS_RELOAD_INTERVAL = env_int("MAIL_TLS_RELOAD_INTERVAL", 60, minimum=1)

MAIL_LISTEN_HOST = env_str("MAIL_LISTEN_HOST", "0.0.0.0")
MAIL_PORTS = {
    "smtp": env_port("MAIL_SMTP_PORT", 25),
    "submission": env_port("MAIL_SUBMISSION_PORT", 587),
    "smtps": env_port("MAIL_SMTPS_PORT", 465),
    "imap": env_port("MAIL_IMAP_PORT", 143),
    "imaps": env_port("MAIL_IMAPS_PORT", 993),
    "pop3": env_port("MAIL_POP3_PORT", 110),
    "pop3s": env_port("MAIL_POP3S_PORT", 995),
    "pop2": env_port("MAIL_POP2_PORT", 109),
    "managesieve": env_port("MAIL_MANAGESIEVE_PORT", 4190),
}
MAIL_PROTOCOLS = env_list("MAIL_PROTOCOLS", ",".join(MAIL_PORTS))
_unknown = set(MAIL_PROTOCOLS) - set(MAIL_PORTS)
if _unknown:
    raise ImproperlyConfigured(f"MAIL_PROTOCOLS names unknown protocols: {', '.join(sorted(_unknown))}")

MAIL_DEFAULT_QUOTA = env_size("MAIL_DEFAULT_QUOTA", 1024**3)
MAIL_MAX_MESSAGE_SIZE = env_size("MAIL_MAX_MESSAGE_SIZE", 50 * 1024**2)
MAIL_MAX_RECIPIENTS = env_int("MAIL_MAX_RECIPIENTS", 100, minimum=1)
# Sieve filters (docs/SIEVE.md): scripts per account, octets per script, and what one delivery may do.
MAIL_SIEVE_MAX_SCRIPTS = env_int("MAIL_SIEVE_MAX_SCRIPTS", 10, minimum=1)
MAIL_SIEVE_MAX_SCRIPT_SIZE = env_size("MAIL_SIEVE_MAX_SCRIPT_SIZE", 64 * 1024)
MAIL_SIEVE_MAX_ACTIONS = env_int("MAIL_SIEVE_MAX_ACTIONS", 32, minimum=1)
MAIL_SIEVE_MAX_REDIRECTS = env_int("MAIL_SIEVE_MAX_REDIRECTS", 4, minimum=0)
MAIL_SIEVE_SPAM_SCORE_MAX = env_int("MAIL_SIEVE_SPAM_SCORE_MAX", 15, minimum=1)  # spamtest's 100 %
# SMTP session limits (protocols/smtp): seconds without a byte from the client,
# longest line (octets with CRLF; RFC 5321 4.5.3.1.6 asks for at least 1000),
# and how many times one command may be used on one connection.
MAIL_SMTP_IDLE_TIMEOUT = env_int("MAIL_SMTP_IDLE_TIMEOUT", 300, minimum=1)
MAIL_SMTP_MAX_LINE_LENGTH = env_int("MAIL_SMTP_MAX_LINE_LENGTH", 1000, minimum=1000)
MAIL_SMTP_COMMAND_LIMIT = env_int("MAIL_SMTP_COMMAND_LIMIT", 1000, minimum=10)
# Plaintext credentials are accepted without TLS only from loopback, unless this is set.
MAIL_ALLOW_PLAINTEXT_AUTH = env_bool("MAIL_ALLOW_PLAINTEXT_AUTH", False)
# Connections per listener and worker: in all, and from one IP (protocols/limits.py).
MAIL_MAX_CONNECTIONS = env_int("MAIL_MAX_CONNECTIONS", 5000, minimum=1)
# Per client address: high enough for an office or a household behind one NAT
# address (Thunderbird alone keeps up to 5 IMAP connections per account).
MAIL_MAX_CONNECTIONS_PER_IP = env_int("MAIL_MAX_CONNECTIONS_PER_IP", 100, minimum=1)
# Tests only: false makes loopback clients as untrusted as remote ones (docs/SECURITY.md).
MAIL_TRUST_LOOPBACK = env_bool("MAIL_TRUST_LOOPBACK", True)
# Brute-force defence (mailboxes/store/logins.py, docs/SECURITY.md).
# Superusers and domain admins must enrol in two-factor sign-in before the
# web lets them do anything (a domain can require it of all its accounts).
MAIL_REQUIRE_2FA_FOR_ADMINS = env_bool("MAIL_REQUIRE_2FA_FOR_ADMINS", False)
MAIL_LOGIN_MAX_FAILURES = env_int("MAIL_LOGIN_MAX_FAILURES", 5, minimum=1)
MAIL_LOGIN_MAX_FAILURES_PER_IP = env_int("MAIL_LOGIN_MAX_FAILURES_PER_IP", 20, minimum=1)
MAIL_LOGIN_FAILURE_WINDOW = env_int("MAIL_LOGIN_FAILURE_WINDOW", 900, minimum=1)
MAIL_LOGIN_BLOCK_DELAY = env_int("MAIL_LOGIN_BLOCK_DELAY", 60, minimum=1)
# Failed-login audit rows (they hold client addresses) are deleted after this many days; 0 keeps them.
MAIL_LOGIN_AUDIT_RETENTION_DAYS = env_int("MAIL_LOGIN_AUDIT_RETENTION_DAYS", 30)
MAIL_SEND_LIMIT = env_int("MAIL_SEND_LIMIT", 500, minimum=0)  # recipients per account per hour; 0 = off
# addresses one account's Sieve scripts may redirect mail to per day; 0 = off
MAIL_SIEVE_REDIRECT_DAILY_LIMIT = env_int("MAIL_SIEVE_REDIRECT_DAILY_LIMIT", 200, minimum=0)
MAIL_MAX_SESSIONS_PER_ACCOUNT = env_int("MAIL_MAX_SESSIONS_PER_ACCOUNT", 50, minimum=0)  # IMAP+POP3+POP2; 0 = off
# How often an idle session polls for changes when no Redis event bus is configured.
MAIL_POLL_INTERVAL = env_int("MAIL_POLL_INTERVAL", 2 if not REDIS_URL else 30, minimum=1)
# IMAP: a client silent this many seconds (IDLE included) is logged out (RFC 3501 5.4: at least 30 minutes).
MAIL_IMAP_IDLE_TIMEOUT = env_int("MAIL_IMAP_IDLE_TIMEOUT", 1800, minimum=1)
# POP3/POP2: an idle session is closed after this many seconds (RFC 1939 3: at least 600);
# the maildrop lock is a lease of MAIL_POP_LOCK_LEASE seconds the live session renews.
MAIL_POP_IDLE_TIMEOUT = env_int("MAIL_POP_IDLE_TIMEOUT", 600, minimum=1)
MAIL_MANAGESIEVE_IDLE_TIMEOUT = env_int("MAIL_MANAGESIEVE_IDLE_TIMEOUT", 600, minimum=1)
MAIL_POP_LOCK_LEASE = env_int("MAIL_POP_LOCK_LEASE", 60, minimum=2)
MAIL_RELAY_MX_OVERRIDE = env_str("MAIL_RELAY_MX_OVERRIDE")
# Outbound relay (protocols/relay): how long a message may stay queued before it
# bounces, how long a worker's claim on a recipient lasts, an optional smarthost.
MAIL_RELAY_LIFETIME = env_int("MAIL_RELAY_LIFETIME", 5 * 24 * 3600, minimum=60)
MAIL_RELAY_LEASE = env_int("MAIL_RELAY_LEASE", 15 * 60, minimum=1)
MAIL_RELAY_TIMEOUT = env_int("MAIL_RELAY_TIMEOUT", 60, minimum=1)
# Seconds to wait after the 1st, 2nd, ... temporary failure (the last repeats).
try:
    MAIL_RELAY_BACKOFF = [int(x) for x in env_list("MAIL_RELAY_BACKOFF", "300,900,3600,14400,28800")]
except ValueError:
    raise ImproperlyConfigured("MAIL_RELAY_BACKOFF must be comma-separated seconds") from None
if not MAIL_RELAY_BACKOFF or min(MAIL_RELAY_BACKOFF) < 1:
    raise ImproperlyConfigured("MAIL_RELAY_BACKOFF must be comma-separated seconds")
# A recipient still retried this many seconds after the message was queued gets the
# sender one "delayed" DSN (RFC 3464); 0 sends none.
MAIL_RELAY_DELAY_WARNING = env_int("MAIL_RELAY_DELAY_WARNING", 4 * 3600)
MAIL_RELAY_SWEEP_INTERVAL = env_int("MAIL_RELAY_SWEEP_INTERVAL", 60, minimum=1)
MAIL_RELAY_SMARTHOST = env_str("MAIL_RELAY_SMARTHOST")  # host[:port]
# Outbound rate control per destination domain (protocols/relay/deliver.py,
# docs/DELIVERABILITY.md): (new connections, messages) per minute, 0 = no limit;
# "*" stands for every domain not named (unlimited unless set).
# The defaults are cautious starting points for the big mailbox providers.
MAIL_RELAY_RATE_LIMITS = env_rates(
    "MAIL_RELAY_RATE_LIMITS",
    {
        "gmail.com": (20, 600),
        "googlemail.com": (20, 600),
        "outlook.com": (10, 300),
        "hotmail.com": (10, 300),
        "live.com": (10, 300),
        "msn.com": (10, 300),
        "yahoo.com": (10, 200),
        "aol.com": (10, 200),
        "icloud.com": (10, 200),
        "me.com": (10, 200),
        "gmx.net": (10, 200),
        "gmx.de": (10, 200),
        "web.de": (10, 200),
        "t-online.de": (5, 100),
    },
)
MAIL_RELAY_SMARTHOST_USER = env_str("MAIL_RELAY_SMARTHOST_USER")
MAIL_RELAY_SMARTHOST_PASSWORD = env_str("MAIL_RELAY_SMARTHOST_PASSWORD")
MAIL_RELAY_SMARTHOST_TLS = env_str("MAIL_RELAY_SMARTHOST_TLS", "starttls")  # starttls | tls | none
# PEM CA certificates that verify the smarthost (default: the system's CAs).
MAIL_RELAY_SMARTHOST_CA = env_str("MAIL_RELAY_SMARTHOST_CA")
if MAIL_RELAY_SMARTHOST_TLS not in ("starttls", "tls", "none"):
    raise ImproperlyConfigured("MAIL_RELAY_SMARTHOST_TLS must be starttls, tls or none")
# DNS servers for MX, SPF, DKIM and DMARC lookups (host[:port], comma-separated); unset = the system's.
MAIL_DNS_NAMESERVERS = env_list("MAIL_DNS_NAMESERVERS")
# Test-only: the port MTA-STS policies are fetched from (RFC 8461 3.3 says 443).
MAIL_RELAY_MTA_STS_PORT = env_port("MAIL_RELAY_MTA_STS_PORT", 443)
# Webmail IMAP imports (docs/SECURITY.md): networks an import may reach although they are
# loopback, private or this machine's; queued or running imports per account.
MAIL_IMPORT_ALLOWED_NETWORKS = env_list("MAIL_IMPORT_ALLOWED_NETWORKS")
for _network in MAIL_IMPORT_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"MAIL_IMPORT_ALLOWED_NETWORKS: {_network!r} is not an address or network") from None
MAIL_IMPORT_MAX_JOBS = env_int("MAIL_IMPORT_MAX_JOBS", 2, minimum=1)
# Reject mail at DATA (550 5.7.1) when it fails DMARC and the domain asks for p=reject.
MAIL_DMARC_REJECT = env_bool("MAIL_DMARC_REJECT", True)
# Mail to this local part of any hosted domain (an account or alias must take it)
# is also read as DMARC aggregate reports for the dashboard; empty turns that off.
MAIL_DMARC_REPORT_LOCALPART = env_str("MAIL_DMARC_REPORT_LOCALPART", "dmarc-reports")
# SRS for forwarded mail (mailboxes/srs.py, docs/DELIVERABILITY.md): the domain of
# the rewritten envelope senders (it must reach our MX and its SPF cover us), the
# key that signs them (empty: derived from SECRET_KEY), and how many days a
# bounce to one is accepted.
MAIL_SRS_DOMAIN = env_str("MAIL_SRS_DOMAIN", "") or MAIL_HOSTNAME
MAIL_SRS_SECRET = env_str("MAIL_SRS_SECRET", "")
MAIL_SRS_MAX_AGE_DAYS = env_int("MAIL_SRS_MAX_AGE_DAYS", 21, minimum=1)
# ARC (RFC 8617, protocols/relay/arc.py): forwards are sealed with the DKIM key
# (RSA) of this domain; a DMARC failure is forgiven when a passing ARC chain was
# last sealed by one of these domains.
MAIL_ARC_DOMAIN = env_str("MAIL_ARC_DOMAIN", "") or MAIL_SRS_DOMAIN
MAIL_ARC_TRUSTED_SEALERS = [d.lower() for d in env_list("MAIL_ARC_TRUSTED_SEALERS")]
# Spam filtering with rspamd (docs/SPAM.md): its normal worker (unset = no
# scanning), its controller and password (learning from what users file as
# Junk), seconds to wait for a verdict, and what to do without one:
# "accept" (deliver marked X-Spam-Status: unchecked) or "tempfail" (451 4.7.1).
MAIL_RSPAMD_URL = env_str("MAIL_RSPAMD_URL")
MAIL_RSPAMD_CONTROLLER_URL = env_str("MAIL_RSPAMD_CONTROLLER_URL")
MAIL_RSPAMD_PASSWORD = env_str("MAIL_RSPAMD_PASSWORD")
MAIL_RSPAMD_TIMEOUT = env_int("MAIL_RSPAMD_TIMEOUT", 10, minimum=1)
MAIL_RSPAMD_FAILURE = env_str("MAIL_RSPAMD_FAILURE", "accept")
if MAIL_RSPAMD_FAILURE not in ("accept", "tempfail"):
    raise ImproperlyConfigured("MAIL_RSPAMD_FAILURE must be accept or tempfail")
# Message bytes no message or queue entry refers to any more are deleted by
# the blob collector (mailboxes.store.collect_blobs) once they have been seen
# unreferenced for MAIL_BLOB_GC_GRACE seconds; it runs every MAIL_BLOB_GC_INTERVAL.
MAIL_BLOB_GC_GRACE = env_int("MAIL_BLOB_GC_GRACE", 3600)
MAIL_BLOB_GC_INTERVAL = env_int("MAIL_BLOB_GC_INTERVAL", 3600, minimum=1)
# Outbound queue entries whose every recipient is sent or failed are deleted
# this many days after queueing and their last attempt (by the blob-collect
# job, just before it runs), so their bytes are freed; 0 keeps them forever.
MAIL_OUTBOUND_RETENTION_DAYS = env_int("MAIL_OUTBOUND_RETENTION_DAYS", 7)
# Seconds between quota recounts (with their warnings) and between Trash/Junk cleanups.
MAIL_QUOTA_CHECK_INTERVAL = env_int("MAIL_QUOTA_CHECK_INTERVAL", 3600, minimum=1)
MAIL_TRASH_CLEANUP_INTERVAL = env_int("MAIL_TRASH_CLEANUP_INTERVAL", 6 * 3600, minimum=1)
# Run by `celery beat`; in the embedded default (no broker) runmailserver runs
# the same entries on the same intervals itself (protocols/relay/local.py).
CELERY_BEAT_SCHEDULE = {
    "relay-sweep": {"task": "protocols.relay.tasks.sweep", "schedule": float(MAIL_RELAY_SWEEP_INTERVAL)},
    "quota-recalculate": {"task": "mailboxes.tasks.recalculate_quotas", "schedule": float(MAIL_QUOTA_CHECK_INTERVAL)},
    "trash-cleanup": {"task": "mailboxes.tasks.cleanup_trash", "schedule": float(MAIL_TRASH_CLEANUP_INTERVAL)},
    "blob-collect": {"task": "mailboxes.tasks.collect_blobs", "schedule": float(MAIL_BLOB_GC_INTERVAL)},
    "login-audit-prune": {"task": "mailboxes.tasks.prune_login_failures", "schedule": 6 * 3600.0},
    # Twice a day; it renews only at two thirds of the lifetime, once `manage.py certificate` ran.
    "certificate-renew": {"task": "protocols.tasks.renew_certificate", "schedule": 12 * 3600.0},
    # Daily: each run reports the previous UTC day (a beat restart may repeat or skip one).
    "tls-reports": {"task": "protocols.tasks.send_tls_reports", "schedule": 24 * 3600.0},
    "dmarc-reports": {"task": "protocols.tasks.send_dmarc_reports", "schedule": 24 * 3600.0},
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("MAIL_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
