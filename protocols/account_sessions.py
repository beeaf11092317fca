"""The per-account concurrent-session limit for IMAP, POP3 and POP2 logins
(MAIL_MAX_SESSIONS_PER_ACCOUNT; the count lives in mailboxes.store.sessions,
in Redis when there is one). claim() after a successful login, release()
when the session ends, whatever way it ends."""

from __future__ import annotations

import asyncio
import secrets

from mailboxes import store

from . import dbcall


async def claim(account_id: int) -> str:
    """Count one more session of the account; its token for release().
    Raises store.TooManySessions when the account has its fill."""
    token = secrets.token_hex(12)
    await dbcall.call(store.open_session, account_id, token)
    return token


async def give_back(account_id: int, token: str) -> None:
    """Forget the session and wait for it: a login refused after its claim
    (a locked maildrop) has its place back before the refusal is answered."""
    await dbcall.call(store.close_session, account_id, token)


def release(account_id: int, token: str) -> None:
    """Forget the session, off the event loop (it may be a Redis call)."""
    try:
        asyncio.get_running_loop().run_in_executor(None, store.close_session, account_id, token)
    except RuntimeError:  # no running loop (the worker is stopping): not on a loop, call it here
        store.close_session(account_id, token)
