"""Loaded with `-p` (pytest.ini) before pytest-django reads the settings."""

import os

# Django's own advice for test suites: a fast password hash (never in production).
os.environ.setdefault("MAIL_FAST_PASSWORD_HASHING", "1")

# The suite's runmailserver subprocesses run one worker each (the default on
# PostgreSQL is one per core); tests/scale asks for more where it tests them.
os.environ.setdefault("MAIL_WORKERS", "1")
