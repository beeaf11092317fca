"""The one place that touches aiosmtpd's private members.

Written against aiosmtpd 1.4.6 (ASSUMED_VERSION, pinned in requirements.txt).
aiosmtpd offers no public way to do what Mailhost's session needs here: read
whether STARTTLS has run, change the AUTH-needs-TLS rule per connection, add a
PROXY hook, wrap every command, restart the idle timer, read the raw octets
of a BDAT chunk, end a transaction, and override its idle timeout, envelope,
address parsing and credential check. AdaptedSMTP gives each of these
a typed name; protocols/smtp/session.py uses only those names. When aiosmtpd is
upgraded, tests/smtp/test_aiosmtpd_adapter.py checks that every member listed
in PRIVATE_METHODS and PRIVATE_ATTRIBUTES still exists, with the meaning
relied on here, and that the installed version is the pinned one.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope

ASSUMED_VERSION = "1.4.6"

# Methods of aiosmtpd.smtp.SMTP, called or overridden below.
PRIVATE_METHODS = (
    "_authenticate",
    "_create_envelope",
    "_getaddr",
    "_reset_timeout",
    "_set_post_data_state",
    "_timeout_cb",
)
# Attributes each SMTP instance sets in __init__, read or written below.
PRIVATE_ATTRIBUTES = (
    "_auth_require_tls",
    "_handle_hooks",
    "_handler_coroutine",
    "_original_transport",
    "_reader",
    "_smtp_methods",
    "_tls_protocol",
)

Command = Callable[[str], Awaitable[None]]
Hook = Callable[..., Awaitable[Any]]


class AdaptedSMTP(SMTP):
    """aiosmtpd's SMTP protocol with its private members behind named ones."""

    # --- state aiosmtpd keeps privately ----------------------------------------

    @property
    def starttls_done(self) -> bool:
        """STARTTLS has been negotiated on this connection (not implicit TLS)."""
        return self._tls_protocol is not None

    @property
    def starttls_transport_swapped(self) -> bool:
        """aiosmtpd has moved the connection onto its TLS transport; its
        connection_made then runs a second time, for the new Session."""
        return self._original_transport is not None

    @property
    def session_task(self) -> asyncio.Task[None] | None:
        """The task running this connection's command loop (once connected)."""
        return self._handler_coroutine

    def require_tls_for_auth(self, required: bool) -> None:
        """aiosmtpd's auth_require_tls, changed after construction (per peer)."""
        self._auth_require_tls = required

    def add_handler_hook(self, command: str, hook: Hook) -> None:
        """A hook aiosmtpd calls as handle_<command>(server, session, envelope, ...),
        for this connection only."""
        self._handle_hooks[command] = hook

    def wrap_commands(self, wrap: Callable[[str, Command], Command]) -> None:
        """Replace each smtp_<NAME> method aiosmtpd dispatches to by wrap(NAME, method)."""
        self._smtp_methods = {name: wrap(name, method) for name, method in self._smtp_methods.items()}

    def restart_idle_timer(self) -> None:
        """Start the idle timeout (the constructor's timeout) again from now."""
        self._reset_timeout()

    async def read_exactly(self, size: int) -> bytes:
        """The next `size` octets from the client, as they come (a BDAT chunk,
        RFC 3030 2): aiosmtpd reads commands from this stream too."""
        return await self._reader.readexactly(size)

    def end_transaction(self) -> None:
        """A fresh envelope, as aiosmtpd makes after DATA (RFC 5321 4.1.1.4)."""
        self._set_post_data_state()

    # --- aiosmtpd's private methods, overridable under these names -------------

    def _timeout_cb(self) -> None:
        self.idle_timeout()

    def idle_timeout(self) -> None:
        """The idle timer fired: aiosmtpd closes the connection."""
        super()._timeout_cb()

    def _create_envelope(self) -> Envelope:
        return self.new_envelope()

    def new_envelope(self) -> Envelope:
        """The envelope of each new transaction (aiosmtpd's own Envelope)."""
        return super()._create_envelope()

    def _getaddr(self, arg: str) -> tuple[str | None, str | None]:
        return self.parse_address(arg)

    def parse_address(self, arg: str) -> tuple[str | None, str | None]:
        """The address and the rest of a MAIL/RCPT argument (aiosmtpd's parser)."""
        return super()._getaddr(arg)

    def _authenticate(self, mechanism: str, auth_data: Any) -> AuthResult:
        return self.check_credentials(mechanism, auth_data)

    def check_credentials(self, mechanism: str, auth_data: Any) -> AuthResult:
        """What aiosmtpd's AUTH PLAIN/LOGIN do with decoded credentials, called
        synchronously on the event loop (aiosmtpd asks its authenticator)."""
        return super()._authenticate(mechanism, auth_data)
