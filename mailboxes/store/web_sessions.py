"""The account's sessions: signed-in browsers (webmail and dashboard, one
WebSession row per Django session) and, through the event bus, its IMAP,
POP3 and POP2 sessions.

Ending a browser's session deletes its Django session (the browser is
signed out at its next request) and its row. end_sessions() ends every
browser session but the one kept and publishes events.SIGN_OUT for the
account, on which every IMAP session (IDLE included) says BYE and every
POP3/POP2 session hangs up, in every worker; it runs after a password
change, an administrator's reset and "sign out everywhere"."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from ..models import WebSession
from ._db import atomic, no_transaction
from .errors import NotFound
from .events import SIGN_OUT, publish_on_commit

MAX_DEVICE = 300


@dataclass(frozen=True)
class WebSessionInfo:
    id: int
    device: str
    ip: str
    created: datetime
    last_seen: datetime
    current: bool  # the browser asking


def _delete_django_sessions(keys: list[str]) -> None:
    engine = importlib.import_module(settings.SESSION_ENGINE)
    for key in keys:
        engine.SessionStore(session_key=key).delete()


@no_transaction
def note_web_session(account_id: int, session_key: str, *, device: str, ip: str) -> None:
    """This browser is signed in and was seen now (one upsert)."""
    WebSession.objects.update_or_create(
        session_key=session_key,
        defaults={"account_id": account_id, "device": device[:MAX_DEVICE], "ip": ip[:64], "last_seen": timezone.now()},
    )


@no_transaction
def list_web_sessions(account_id: int, *, current_key: str = "") -> list[WebSessionInfo]:
    return [
        WebSessionInfo(row.id, row.device, row.ip, row.created, row.last_seen, row.session_key == current_key)
        for row in WebSession.objects.filter(account_id=account_id).order_by("-last_seen", "-id")
    ]


@atomic
def end_web_session(account_id: int, web_session_id: int) -> None:
    """Sign one of the account's browsers out."""
    row = WebSession.objects.filter(account_id=account_id, id=web_session_id).first()
    if row is None:
        raise NotFound("no such session")
    row.delete()
    _delete_django_sessions([row.session_key])


@atomic
def end_sessions(account_id: int, *, keep: str = "") -> None:
    """Sign out every browser of the account but the one with session key
    `keep`, and end every IMAP, POP3 and POP2 session of it (on commit)."""
    rows = WebSession.objects.filter(account_id=account_id).exclude(session_key=keep)
    keys = list(rows.values_list("session_key", flat=True))
    rows.delete()
    _delete_django_sessions(keys)
    publish_on_commit(account_id, SIGN_OUT)
