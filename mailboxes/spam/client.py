"""rspamd's HTTP protocol (https://rspamd.com/doc/developers/protocol.html),
blocking, with the standard library's http.client: run it on a thread, never
on an event loop.

check() asks the normal worker (MAIL_RSPAMD_URL) for a verdict on one
message, with the SMTP facts rspamd would otherwise have to guess: the
client's IP, its HELO, the envelope sender and recipients, the
authenticated user, a queue id; and per message settings (thresholds,
greylisting, allow and block lists) as rspamd's Settings header. learn() and
stat() go to the controller (MAIL_RSPAMD_CONTROLLER_URL, with
MAIL_RSPAMD_PASSWORD). Every failure (refused, timed out, a bad answer) is
ScannerDown; its text is for logs only.
"""

from __future__ import annotations

import http.client
import json
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from .verdict import Verdict, parse


class ScannerDown(Exception):
    """rspamd did not answer, or not usefully."""


@dataclass(frozen=True)
class Facts:
    """What the SMTP transaction knows about a message."""

    ip: str = ""
    helo: str = ""
    mail_from: str = ""
    recipients: tuple[str, ...] = ()
    user: str = ""  # the authenticated account's address (submission)
    queue_id: str = ""
    settings: dict = field(default_factory=dict)  # rspamd per-message settings (Settings header)

    def headers(self) -> list[tuple[str, str]]:
        out = [
            ("IP", self.ip),
            ("Helo", self.helo),
            ("From", self.mail_from),
            ("User", self.user),
            ("Queue-Id", self.queue_id),
        ]
        out += [("Rcpt", rcpt) for rcpt in self.recipients]
        if self.settings:
            out.append(("Settings", json.dumps(self.settings, separators=(",", ":"))))
        return [(name, value) for name, value in out if value]


def enabled() -> bool:
    return bool(settings.MAIL_RSPAMD_URL)


def learning_enabled() -> bool:
    return bool(settings.MAIL_RSPAMD_CONTROLLER_URL)


def _request(base: str, path: str, body: bytes | None, headers: list[tuple[str, str]]) -> tuple[int, bytes]:
    url = urlsplit(base)
    if url.scheme not in ("http", "https") or not url.hostname:
        raise ScannerDown(f"not an http URL: {base!r}")
    cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    connection = cls(url.hostname, url.port, timeout=settings.MAIL_RSPAMD_TIMEOUT)
    try:
        connection.putrequest(
            "POST" if body is not None else "GET", url.path.rstrip("/") + path, skip_accept_encoding=True
        )
        for name, value in headers:  # UTF-8: SMTPUTF8 addresses (RFC 6531) are not Latin-1
            connection.putheader(name, value.replace("\r", " ").replace("\n", " ").encode("utf-8"))
        if body is not None:
            connection.putheader("Content-Length", str(len(body)))
        connection.endheaders(body)
        answer = connection.getresponse()
        return answer.status, answer.read()
    except (OSError, http.client.HTTPException) as exc:
        raise ScannerDown(f"{base}{path}: {exc.__class__.__name__}: {exc}") from None
    finally:
        connection.close()


def _json(status: int, data: bytes, what: str) -> dict:
    try:
        answer = json.loads(data)
    except ValueError:
        raise ScannerDown(f"{what}: HTTP {status}, not JSON") from None
    if not isinstance(answer, dict):
        raise ScannerDown(f"{what}: HTTP {status}, not a JSON object")
    return answer


def check(message: bytes, facts: Facts) -> Verdict:
    """rspamd's verdict on message. Raises ScannerDown."""
    status, data = _request(settings.MAIL_RSPAMD_URL, "/checkv2", message, facts.headers())
    answer = _json(status, data, "checkv2")
    if status != 200:
        raise ScannerDown(f"checkv2: HTTP {status}: {answer.get('error', '')}")
    try:
        return parse(answer)
    except ValueError as exc:
        raise ScannerDown(f"checkv2: {exc}") from None


def _controller(path: str, body: bytes | None) -> tuple[int, dict]:
    status, data = _request(
        settings.MAIL_RSPAMD_CONTROLLER_URL, path, body, [("Password", settings.MAIL_RSPAMD_PASSWORD)]
    )
    return status, _json(status, data, path)


def learn(spam: bool, message: bytes) -> bool:
    """Teach rspamd's Bayes classifier one message: True when learned, False
    when rspamd declined it (already learned as that class, too few tokens).
    Raises ScannerDown when the controller cannot be reached."""
    status, answer = _controller("/learnspam" if spam else "/learnham", message)
    if status == 200 and answer.get("success"):
        return True
    if status in (200, 208, 400, 404):  # rspamd's "already learned" and "cannot learn" answers
        return False
    raise ScannerDown(f"learn: HTTP {status}: {answer.get('error', '')}")


def stat() -> dict:
    """The controller's /stat: counters, among them `learned`."""
    status, answer = _controller("/stat", None)
    if status != 200:
        raise ScannerDown(f"stat: HTTP {status}")
    return answer
