# Mailhost: `make run` tries it out (SQLite, tasks in process, self-signed TLS);
# `make test` runs the whole suite against PostgreSQL and Redis.

PYTHON ?= python3.11
VENV   ?= .venv
PY      = $(VENV)/bin/python
PIP     = $(VENV)/bin/pip

# Debian packages the test suite drives: real mail clients, a browser, rspamd, sieve-connect
# and pebble (the ACME test CA).
APT_PACKAGES = gettext swaks chromium fetchmail getmail6 mpop curl isync haproxy rspamd sieve-connect pebble

TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/mailhost
TEST_REDIS_URL    ?= redis://127.0.0.1:6379/0

# The embedded default listens on unprivileged ports.
export MAIL_SMTP_PORT       ?= 2525
export MAIL_SUBMISSION_PORT ?= 2587
export MAIL_SMTPS_PORT      ?= 2465
export MAIL_IMAP_PORT       ?= 2143
export MAIL_IMAPS_PORT      ?= 2993
export MAIL_POP3_PORT       ?= 2110
export MAIL_POP3S_PORT      ?= 2995
export MAIL_POP2_PORT       ?= 2109
export MAIL_MANAGESIEVE_PORT ?= 24190
WEB_PORT ?= 8000

.PHONY: venv run test test-fast test-sqlite typecheck lint apt-deps check-services bench clean

$(VENV)/.installed: requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements.txt
	touch $@

venv: $(VENV)/.installed

run: venv
	$(PY) manage.py migrate --noinput
	$(PY) manage.py setupdemo
	WEB_PORT=$(WEB_PORT) PY=$(PY) bash scripts/run-embedded.sh

apt-deps:
	@missing=""; for p in $(APT_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "installing Debian packages:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

check-services: venv
	@DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) scripts/check_services.py

lint: venv
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .

typecheck: venv
	$(PY) -m mypy protocols mailboxes/store mailboxes/sieve mailboxes/mime.py mailboxes/mime_addresses.py mailboxes/mutf7.py

test: venv apt-deps check-services lint typecheck test-sqlite
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) MAIL_FAST_PASSWORD_HASHING=1 \
	  $(PY) -m pytest $(PYTEST_ARGS)

# The run a developer makes all day: no browser, no subprocess servers, no fuzz,
# no real mail programs (tests marked slow; tests/markers.py keeps the mark honest),
# on TEST_WORKERS processes (pytest-xdist: each worker has its own test database,
# and the store's Redis keys and channels are named under it; conftest.py).
# Bytecode is written even where the environment says not to: without it each
# worker compiles the project and rewrites every test module's asserts again.
TEST_WORKERS ?= 2
test-fast: venv check-services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) MAIL_FAST_PASSWORD_HASHING=1 MAIL_TEST_FAST=1 \
	  PYTHONDONTWRITEBYTECODE= \
	  $(PY) -m pytest -q -m "not slow" -n $(TEST_WORKERS) --dist worksteal $(PYTEST_ARGS)

# The store and the in-process doors on the embedded default (SQLite, no Redis):
# what every new user meets first with `make run`.
SQLITE_TESTS = tests/test_store.py tests/pop/test_pop3_transcripts.py tests/webmail/test_views.py \
	tests/imap/test_store_imap.py tests/imap/test_append.py tests/imap/test_transcripts.py tests/authn
test-sqlite: venv
	env -u DATABASE_URL -u REDIS_URL MAIL_FAST_PASSWORD_HASHING=1 MAIL_TEST_FAST=1 \
	  $(PY) -m pytest -q -m "not slow" -p no:cacheprovider $(SQLITE_TESTS)

bench: venv check-services
	DATABASE_URL=$(TEST_DATABASE_URL) REDIS_URL=$(TEST_REDIS_URL) $(PY) bench/run.py

clean:
	rm -rf $(VENV) var .pytest_cache
