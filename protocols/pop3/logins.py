"""Logins for POP3 and POP2 alike, through store.login: the one entry point
with the brute-force defence shared by every door and worker (failures
counted per IP and per account, blocked clients refused before their
credentials are looked at) that also records the login per protocol."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mailboxes import store
from protocols import account_sessions, dbcall


class Blocked:
    """Too many recent failures: the credentials were not even looked at."""


class NeedsAppPassword:
    """The account's own password, right, but two-factor sign-in is on."""


BLOCKED = Blocked()
NEEDS_APP_PASSWORD = NeedsAppPassword()


async def checked_login(
    address: str, password: str, *, ip: str, protocol: str, apop_challenge: str | None = None
) -> store.AccountInfo | Blocked | NeedsAppPassword | None:
    """The account if the credentials are right; None if they are not;
    BLOCKED if the throttle said no first; NEEDS_APP_PASSWORD for the
    account's own password when two-factor sign-in is on."""
    try:
        return await dbcall.call(
            store.login, address, password, protocol=protocol, ip=ip, apop_challenge=apop_challenge
        )
    except store.LoginBlocked:
        return BLOCKED
    except store.AppPasswordRequired:
        return NEEDS_APP_PASSWORD
    except store.LoginFailed:
        return None


#: Why a maildrop login did not open the maildrop, for each door to say in its words.
Refusal = Literal["blocked", "needs-app-password", "bad-login", "too-many-sessions", "locked"]


@dataclass(frozen=True)
class Opened:
    """A maildrop login that succeeded: the account, its session token
    (account_sessions.release it at the end) and the locked maildrop."""

    account: store.AccountInfo
    token: str
    snapshot: store.Maildrop


async def open_maildrop(
    address: str,
    password: str,
    *,
    ip: str,
    protocol: str,
    holder: str,
    lease_seconds: float,
    apop_challenge: str | None = None,
) -> Opened | Refusal:
    """POP3's and POP2's login: the credentials checked (checked_login), one
    more session of the account counted, then its maildrop locked for
    `holder`; nothing is held when it returns a refusal. A failed login is
    only "blocked", "needs-app-password" and "bad-login"; the two others are
    in-use answers (RFC 2449 8.1.1 IN-USE)."""
    account = await checked_login(address, password, ip=ip, protocol=protocol, apop_challenge=apop_challenge)
    if account is None:
        return "bad-login"
    if isinstance(account, Blocked):
        return "blocked"
    if isinstance(account, NeedsAppPassword):
        return "needs-app-password"
    try:
        token = await account_sessions.claim(account.id)
    except store.TooManySessions:
        return "too-many-sessions"
    try:
        snapshot = await dbcall.call(store.open_maildrop, account.id, holder, lease_seconds)
    except store.MaildropLocked:
        await account_sessions.give_back(account.id, token)
        return "locked"
    except BaseException:
        account_sessions.release(account.id, token)
        raise
    return Opened(account, token, snapshot)
