"""One POP3 connection: the state table and POP3's words for the line
protocols' command loop (protocols/lines.py). Handlers live in auth.py
(AUTHORIZATION) and maildrop.py (TRANSACTION and UPDATE)."""

from __future__ import annotations

import os
import secrets
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from mailboxes import store
from protocols.lines import LineSession
from protocols.listener import Connection

from . import auth, maildrop, parser
from .lease import MaildropLease, new_holder
from .state import Maildrop, State

MAX_AUTH_FAILURES = 3


class Pop3Session(LineSession[State]):
    protocol = "pop3"
    internal_error = ("internal server error", "SYS/PERM")
    too_long = "line too long"
    ok_result = "+OK"

    def __init__(self, conn: Connection, tls_context: ssl.SSLContext | None) -> None:
        super().__init__(conn, parser.MAX_LINE)
        self.tls_context = tls_context
        self.state = State.AUTHORIZATION
        self.lease_seconds: float = settings.MAIL_POP_LOCK_LEASE
        # RFC 1939 7 (APOP): a timestamp unique to this greeting.
        self.banner = f"<{os.getpid()}.{conn.id}.{secrets.token_hex(6)}@{settings.MAIL_HOSTNAME}>"
        self.holder = new_holder(conn.listener, conn.id)
        self.pending_user: str | None = None
        self.drop: Maildrop | None = None
        self.lease: MaildropLease | None = None
        self.auth_failures = 0
        self.max_auth_failures = MAX_AUTH_FAILURES

    async def ok(self, text: str = "") -> None:
        self.result = "+OK"
        await self.write(f"+OK {text}".rstrip().encode() + b"\r\n")

    async def err(self, text: str, code: str = "") -> None:
        self.result = "-ERR"
        code = f"[{code}] " if code else ""
        await self.write(f"-ERR {code}{text}".encode() + b"\r\n")

    error = err

    def greeting(self) -> bytes:
        return f"+OK {settings.MAIL_HOSTNAME} POP3 server ready {self.banner}\r\n".encode()

    def goodbye(self) -> bytes:
        return b"-ERR [SYS/TEMP] server shutting down, try again later\r\n"

    def signed_out(self) -> bytes:
        return b"-ERR [AUTH] signed out: the password changed or the account signed out everywhere\r\n"

    async def finish(self) -> None:
        await super().finish()
        await self.abandon_maildrop()

    async def read_command(self, line: bytes) -> parser.Command:
        return parser.parse_command(line)

    def received(self, command: parser.Command) -> None:
        if not isinstance(command, parser.Pass):
            self.pending_user = None  # PASS must follow USER at once (RFC 1939 7)

    def out_of_state(self, name: str) -> str:
        return f"{name} is not valid in the {self.state.value} state"

    def too_many_bad_commands(self) -> bytes:
        self.result = "-ERR"
        return b"-ERR too many bad commands, closing\r\n"

    def opened(self, account_id: int, snapshot: store.Maildrop) -> None:
        """Logged in with the maildrop locked: enter TRANSACTION."""
        self.drop = Maildrop(account_id, snapshot)
        self.state = State.TRANSACTION
        self.lease = MaildropLease(account_id, self.holder, self.lease_seconds, self.lock_lost, self.label)
        self.end_on_sign_out(account_id)

    def lock_lost(self) -> None:
        """RFC 1939 8: without the lock DELE is unsafe; hang up, no UPDATE."""
        self.drop = None
        self.lease = None
        self.hang_up()

    async def abandon_maildrop(self) -> None:
        """Leave without UPDATE: release the lock, delete nothing."""
        lease, self.lease, self.drop = self.lease, None, None
        if lease is not None:
            await lease.release()


Handler = Callable[[Pop3Session, Any], Awaitable[None]]

AUTHORIZATION = frozenset({State.AUTHORIZATION})
TRANSACTION = frozenset({State.TRANSACTION})
ANY = AUTHORIZATION | TRANSACTION

# The rules of the states (RFC 1939 4-6, RFC 2449 5, RFC 2595 4, RFC 5034 4), in one place.
COMMANDS: dict[type[parser.Command], tuple[frozenset[State], Handler]] = {
    parser.Capa: (ANY, auth.capa),
    parser.Quit: (ANY, maildrop.quit),
    parser.Stls: (AUTHORIZATION, auth.stls),
    parser.User: (AUTHORIZATION, auth.user),
    parser.Pass: (AUTHORIZATION, auth.password),
    parser.Apop: (AUTHORIZATION, auth.apop),
    parser.Auth: (AUTHORIZATION, auth.authenticate),
    parser.Stat: (TRANSACTION, maildrop.stat),
    parser.List: (TRANSACTION, maildrop.list_),
    parser.Retr: (TRANSACTION, maildrop.retr),
    parser.Top: (TRANSACTION, maildrop.top),
    parser.Dele: (TRANSACTION, maildrop.dele),
    parser.Noop: (TRANSACTION, maildrop.noop),
    parser.Rset: (TRANSACTION, maildrop.rset),
    parser.Uidl: (TRANSACTION, maildrop.uidl),
}
Pop3Session.commands = COMMANDS
