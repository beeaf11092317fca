"""One ManageSieve connection: reads a command (with its literals), the state
table, and RFC 5804's words for the line protocols' command loop
(protocols/lines.py): store errors mapped to response codes once. Handlers
live in auth.py and scripts.py."""

from __future__ import annotations

import enum
import ssl
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from mailboxes import sieve, store
from protocols.lines import Closed, LineSession, LineTooLong
from protocols.listener import Connection

from . import auth, parser, scripts

MAX_AUTH_FAILURES = 3
MAX_LITERAL_BEFORE_LOGIN = 8192


class State(enum.Enum):
    NONAUTH = "non-authenticated"
    AUTH = "authenticated"


class TooLarge(Exception):
    """A literal over the limit: it was read and dropped, never held."""


# Store errors and what RFC 5804 1.3 calls them; the text is ours, never the exception's.
ERRORS: tuple[tuple[type[Exception], str, str], ...] = (
    (store.NoSuchScript, "NONEXISTENT", "There is no script by that name"),
    (store.ScriptIsActive, "ACTIVE", "The active script cannot be deleted"),
    (store.AlreadyExists, "ALREADYEXISTS", "A script by that name exists already"),
    (store.InvalidInput, "", "Invalid script name"),
    (store.Unavailable, "TRYLATER", "The mail store is temporarily unavailable, try again later"),
)


class ManageSieveSession(LineSession[State]):
    protocol = "managesieve"
    internal_error = ("Internal server error", "")
    too_long = "Line too long"
    ok_result = "OK"

    def __init__(self, conn: Connection, tls_context: ssl.SSLContext | None) -> None:
        super().__init__(conn, parser.MAX_LINE)
        self.idle_timeout = settings.MAIL_MANAGESIEVE_IDLE_TIMEOUT
        self.tls_context = tls_context
        self.state = State.NONAUTH
        self.account: store.AccountInfo | None = None
        self.auth_failures = 0

    # --- responses ------------------------------------------------------------

    async def ok(self, text: str = "", code: str = "") -> None:
        self.result = "OK"
        await self.write(parser.response("OK", text, code))

    async def no(self, text: str, code: str = "") -> None:
        self.result = "NO"
        await self.write(parser.response("NO", text, code))

    error = no

    def capabilities(self) -> bytes:
        """RFC 5804 1.7; SASL lists PLAIN only where a password may be sent."""
        lines = [
            (b"IMPLEMENTATION", "Mailhost"),
            (b"SASL", "PLAIN" if self.conn.plaintext_auth_allowed and self.state is State.NONAUTH else ""),
            (b"SIEVE", " ".join(sieve.EXTENSIONS)),
            (b"MAXREDIRECTS", str(settings.MAIL_SIEVE_MAX_REDIRECTS)),
        ]
        if self.account is not None:
            lines.append((b"OWNER", self.account.address))
        lines.append((b"VERSION", "1.0"))
        out = [parser.quoted(name.decode()) + b" " + parser.quoted(value) + b"\r\n" for name, value in lines]
        if not self.conn.tls and self.tls_context is not None and self.state is State.NONAUTH:
            out.insert(2, b'"STARTTLS"\r\n')
        return b"".join(out)

    def greeting(self) -> bytes:
        return self.capabilities() + parser.response("OK", f"{settings.MAIL_HOSTNAME} ManageSieve ready")

    def goodbye(self) -> bytes:
        return parser.response("BYE", "Server shutting down, try again later", "TRYLATER")

    # --- reading a command -----------------------------------------------------

    async def read_literals(self, line: bytes) -> bytes:
        """The command with its literals: after a line ending in {n+}, n
        octets and the line that goes on from there (RFC 5804 4)."""
        data = line
        limit = settings.MAIL_SIEVE_MAX_SCRIPT_SIZE if self.state is State.AUTH else MAX_LITERAL_BEFORE_LOGIN
        while (size := parser.literal_at_end(data)) is not None:
            if size > limit:
                await self.drop_literal(size)
                raise TooLarge()
            data += await self.read_exactly(size)
            data += await self.readline()
            if len(data) > limit + 4 * parser.MAX_LINE:
                raise TooLarge()
        return data

    async def drop_literal(self, size: int) -> None:
        if size > settings.MAIL_MAX_MESSAGE_SIZE:
            await self.write(parser.response("BYE", "Literal too large"))
            raise Closed()
        await self.read_exactly(size, keep=False)
        try:
            await self.readline()
        except LineTooLong:
            pass

    async def read_command(self, line: bytes) -> parser.Command | None:
        try:
            data = await self.read_literals(line)
        except TooLarge:
            await self.no("Script too large", "QUOTA/MAXSIZE")
            return None
        except LineTooLong:
            await self.line_too_long()
            return None
        return parser.parse_command(data)

    def out_of_state(self, name: str) -> str:
        return f"{name} is not allowed when {self.state.value}"

    def store_error(self, exc: store.StoreError) -> tuple[str, str]:
        if isinstance(exc, store.ScriptQuotaExceeded):
            return "Over the script quota", f"QUOTA/{exc.kind.upper()}"
        if isinstance(exc, store.InvalidScript):
            return f"line {exc.line}: {exc.reason}", ""
        return next(((text, code) for kind, code, text in ERRORS if isinstance(exc, kind)), ("Refused", ""))

    def too_many_bad_commands(self) -> bytes:
        return parser.response("BYE", "Too many bad commands")


Handler = Callable[[ManageSieveSession, Any], Awaitable[None]]

NONAUTH = frozenset({State.NONAUTH})
AUTH = frozenset({State.AUTH})
ANY = NONAUTH | AUTH

# The rules of the states (RFC 5804 2), in one place.
COMMANDS: dict[type[parser.Command], tuple[frozenset[State], Handler]] = {
    parser.Capability: (ANY, auth.capability),
    parser.Noop: (ANY, auth.noop),
    parser.Logout: (ANY, auth.logout),
    parser.StartTls: (NONAUTH, auth.starttls),
    parser.Authenticate: (NONAUTH, auth.authenticate),
    parser.Unauthenticate: (AUTH, auth.unauthenticate),
    parser.HaveSpace: (AUTH, scripts.havespace),
    parser.PutScript: (AUTH, scripts.putscript),
    parser.CheckScript: (AUTH, scripts.checkscript),
    parser.ListScripts: (AUTH, scripts.listscripts),
    parser.SetActive: (AUTH, scripts.setactive),
    parser.GetScript: (AUTH, scripts.getscript),
    parser.DeleteScript: (AUTH, scripts.deletescript),
    parser.RenameScript: (AUTH, scripts.renamescript),
}
ManageSieveSession.commands = COMMANDS
