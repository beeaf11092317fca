"""Logins through the store's shared failed-login throttle, for POP3 and
POP2 alike: refuse before checking the password when an address or an IP
has failed too often lately (store.login_blocked), record failures for the
throttle and the audit log, and record the last successful login per
protocol for the dashboard."""
from __future__ import annotations

import logging
from typing import Awaitable, Callable

from mailboxes import store
from protocols import dbcall

log = logging.getLogger("protocols.pop3")


class Blocked:
    """Too many recent failures: the credentials were not even looked at."""


BLOCKED = Blocked()


async def checked_login(address: str, ip: str, protocol: str,
                        check: Callable[[], Awaitable[store.AccountInfo | None]]) -> store.AccountInfo | Blocked | None:
    """The account if check() accepts the credentials; None if it refuses
    them (recorded as a failure); BLOCKED if the throttle says no first."""
    if await dbcall.call(store.login_blocked, address, ip):
        return BLOCKED
    account = await check()
    if account is None:
        await dbcall.call(store.record_login_failure, address, ip, protocol)
    return account


async def record_success(account_id: int, protocol: str, ip: str, label: str) -> None:
    """For the dashboard's "last logins"; losing one is not worth a failed login."""
    try:
        await dbcall.call(store.record_login, account_id, protocol, ip)
    except Exception as exc:
        log.warning("%s: could not record the login: %s", label, exc)
