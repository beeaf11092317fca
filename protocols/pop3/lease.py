"""Holding the maildrop lock from a session: renew the lease while the
session lives, notice when it was lost, release it on the way out."""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import socket
from collections.abc import Callable

from mailboxes import store
from protocols import dbcall

log = logging.getLogger("protocols.pop3")


def new_holder(listener: str, conn_id: int) -> str:
    """A name for the lock's holder, unique across hosts, processes and sessions."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{listener}#{conn_id}:{secrets.token_hex(4)}"


class MaildropLease:
    def __init__(self, account_id: int, holder: str, lease: float, on_lost: Callable[[], None], label: str) -> None:
        self.account_id = account_id
        self.holder = holder
        self.lease = lease
        self._on_lost = on_lost
        self._label = label
        self._task: asyncio.Task | None = asyncio.get_running_loop().create_task(self._keep())

    async def _keep(self) -> None:
        """Renew every third of the lease. A renewal the database refuses
        (ours lapsed and another session took it) calls on_lost."""
        while True:
            await asyncio.sleep(self.lease / 3)
            try:
                held = await dbcall.call(store.renew_maildrop_lock, self.account_id, self.holder, self.lease)
            except Exception as exc:  # the database may come back before the lease lapses
                log.warning("%s: could not renew the maildrop lock: %s", self._label, exc)
                continue
            if not held:
                log.warning("%s: maildrop lock lost, closing without deleting anything", self._label)
                self._task = None
                self._on_lost()
                return

    def stop(self) -> None:
        """Stop renewing (before the store call that releases the lock)."""
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def release(self) -> None:
        """Leave without deleting anything; a failure here only means the
        lease lapses by itself."""
        self.stop()
        try:
            await dbcall.call(store.release_maildrop_lock, self.account_id, self.holder)
        except Exception as exc:
            log.warning("%s: could not release the maildrop lock: %s", self._label, exc)
