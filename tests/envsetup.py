"""Loaded with `-p` (pytest.ini) before pytest-django reads the settings."""

import os

# Django's own advice for test suites: a fast password hash (never in production).
os.environ.setdefault("MAIL_FAST_PASSWORD_HASHING", "1")
