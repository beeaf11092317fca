"""Logins for POP3 and POP2 alike, through store.login: the one entry point
with the brute-force defence shared by every door and worker (failures
counted per IP and per account, blocked clients refused before their
credentials are looked at) that also records the login per protocol."""
from __future__ import annotations

from mailboxes import store
from protocols import dbcall


class Blocked:
    """Too many recent failures: the credentials were not even looked at."""


class NeedsAppPassword:
    """The account's own password, right, but two-factor sign-in is on."""


BLOCKED = Blocked()
NEEDS_APP_PASSWORD = NeedsAppPassword()


async def checked_login(address: str, password: str, *, ip: str, protocol: str,
                        apop_challenge: str | None = None
                        ) -> store.AccountInfo | Blocked | NeedsAppPassword | None:
    """The account if the credentials are right; None if they are not;
    BLOCKED if the throttle said no first; NEEDS_APP_PASSWORD for the
    account's own password when two-factor sign-in is on."""
    try:
        return await dbcall.call(store.login, address, password, protocol=protocol, ip=ip,
                                 apop_challenge=apop_challenge)
    except store.LoginBlocked:
        return BLOCKED
    except store.AppPasswordRequired:
        return NEEDS_APP_PASSWORD
    except store.LoginFailed:
        return None
