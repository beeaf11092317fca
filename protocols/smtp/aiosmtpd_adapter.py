"""The one place that touches aiosmtpd's private members.

Written against aiosmtpd 1.4.6 (ASSUMED_VERSION, pinned in requirements.txt).
aiosmtpd offers no public way to do what Mailhost's session needs here: read
whether STARTTLS has run, change the AUTH-needs-TLS rule per connection, add a
PROXY hook, wrap every command, restart the idle timer, read the raw octets
of a BDAT chunk, end a transaction, and override its idle timeout, envelope,
address parsing and credential check. AdaptedSMTP gives each of these
a typed name; protocols/smtp/session.py uses only those names. Two costs
aiosmtpd pays on every connection or command are cut here, for a client
that opens a connection per message: its constructor builds its tables
(_auth_methods, _handle_hooks, _smtp_methods) from dir() and
inspect.getmembers() of the whole instance and of the handler, and reads the
EHLO hook's signature, so here it constructs with dir() empty and a handler
without members, and the adapter fills the same tables from lists made once
per class (the session's smtp_* and auth_* methods) and once per handler
(its handle_* hooks and auth_* mechanisms, the EHLO hook's form); and it
re-arms the idle timer (a new timer handle) on every command, so here a
command only moves the deadline, and the one timer, when it fires early,
waits for the rest. When aiosmtpd is
upgraded, tests/smtp/test_aiosmtpd_adapter.py checks that every member listed
in PRIVATE_METHODS and PRIVATE_ATTRIBUTES still exists, with the meaning
relied on here, and that the installed version is the pinned one.
"""

from __future__ import annotations

import asyncio
import inspect
import warnings
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, _AuthMechAttr

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
    "_auth_methods",
    "_auth_require_tls",
    "_ehlo_hook_ver",
    "event_handler",
    "_handle_hooks",
    "_handler_coroutine",
    "_original_transport",
    "_reader",
    "_smtp_methods",
    "_timeout_duration",
    "_timeout_handle",
    "_tls_protocol",
)

Command = Callable[[str], Awaitable[None]]
Hook = Callable[..., Awaitable[Any]]


def _mechanism(name: str, method: Any) -> str:
    """An auth_* method's mechanism, named as aiosmtpd's constructor names it."""
    return str(getattr(method, "__auth_mechanism_name__", name.replace("auth_", "").replace("__", "-")))


def _session_tables(cls: type) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(command, smtp_* attribute) and (mechanism, auth_* attribute) of a
    session class, as aiosmtpd finds them on an instance (methods only: a
    property named auth_* is no mechanism). Found once, kept on the class."""
    tables: tuple[list[tuple[str, str]], list[tuple[str, str]]] | None = cls.__dict__.get("_adapter_tables")
    if tables is None:
        names = dir(cls)
        commands = [(name.replace("smtp_", ""), name) for name in names if name.startswith("smtp_")]
        mechanisms = [
            (_mechanism(name, getattr(cls, name)), name)
            for name in names
            if name.startswith("auth_") and callable(getattr(cls, name))
        ]
        tables = (commands, mechanisms)
        setattr(cls, "_adapter_tables", tables)  # noqa: B010  (on this class, not inherited)
    return tables


class _HandlerTables:
    """A handler's hooks and mechanisms as aiosmtpd's constructor finds them
    (from dir() of the handler), and the form of its EHLO hook: found once
    per handler (one per listener), not on every connection."""

    def __init__(self, handler: Any) -> None:
        names = dir(handler)
        self.hooks: dict[str, Any] = {
            name.replace("handle_", ""): getattr(handler, name) for name in names if name.startswith("handle_")
        }
        self.mechanisms: dict[str, _AuthMechAttr] = {}
        for name in names:
            if name.startswith("auth_"):
                method = getattr(handler, name)
                self.mechanisms[_mechanism(name, method)] = _AuthMechAttr(method, False)
        self.ehlo_version: str | None = None
        if "EHLO" in self.hooks:
            parameters = len(inspect.signature(self.hooks["EHLO"]).parameters)
            if parameters == 4:
                self.ehlo_version = "old"
                warnings.warn(
                    "a 4-argument handle_EHLO() hook is deprecated by aiosmtpd", DeprecationWarning, stacklevel=3
                )
            elif parameters == 5:
                self.ehlo_version = "new"
            else:
                raise RuntimeError("Unsupported EHLO Hook")


_handler_tables: weakref.WeakKeyDictionary[Any, _HandlerTables] = weakref.WeakKeyDictionary()


class _NoMembers:
    """The handler aiosmtpd's constructor is given: it finds nothing on it."""

    def __dir__(self) -> list[str]:
        return []


_NO_MEMBERS = _NoMembers()


class _WrappedCommands(dict):
    """aiosmtpd's table of command methods, each wrapped as it is looked up
    (aiosmtpd dispatches with .get())."""

    def __init__(self, methods: dict[str, Command], wrap: Callable[[str, Command], Command]) -> None:
        super().__init__(methods)
        self._wrap = wrap

    def get(self, name: str, default: Any = None) -> Any:
        method = super().get(name)
        return default if method is None else self._wrap(name, method)

    def __getitem__(self, name: str) -> Command:
        return self._wrap(name, super().__getitem__(name))


class AdaptedSMTP(SMTP):
    """aiosmtpd's SMTP protocol with its private members behind named ones."""

    def __init__(self, handler: Any, **options: Any) -> None:
        if options.get("auth_exclude_mechanism"):
            raise TypeError("AdaptedSMTP builds aiosmtpd's table of mechanisms itself: no auth_exclude_mechanism")
        self.__dict__["_constructing"] = True
        self._idle_deadline = 0.0
        try:
            super().__init__(_NO_MEMBERS, **options)
        finally:
            del self.__dict__["_constructing"]
        self.event_handler = handler
        theirs = _handler_tables.get(handler)
        if theirs is None:
            theirs = _handler_tables[handler] = _HandlerTables(handler)
        commands, mechanisms = _session_tables(type(self))
        # The handler's mechanisms replace the session's of the same name, as in aiosmtpd.
        self._auth_methods = {name: _AuthMechAttr(getattr(self, attr), True) for name, attr in mechanisms}
        self._auth_methods.update(theirs.mechanisms)
        self._handle_hooks = dict(theirs.hooks)
        self._ehlo_hook_ver = theirs.ehlo_version
        self._smtp_methods = {name: getattr(self, attr) for name, attr in commands}

    def __dir__(self) -> list[str]:
        if "_constructing" in self.__dict__:
            return []  # aiosmtpd's constructor: the tables are filled after it (__init__)
        return list(super().__dir__())

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
        """Replace each smtp_<NAME> method aiosmtpd dispatches to by wrap(NAME, method)
        (when aiosmtpd looks it up: a connection uses a handful of some 25)."""
        self._smtp_methods = _WrappedCommands(self._smtp_methods, wrap)

    def restart_idle_timer(self) -> None:
        """Start the idle timeout (the constructor's timeout) again from now."""
        self._reset_timeout()

    def _reset_timeout(self, duration: float | None = None) -> None:
        now = self.loop.time()
        self._idle_deadline = now + (duration or self._timeout_duration)
        pending = self._timeout_handle
        if pending is not None and not pending.cancelled() and now < pending.when() <= self._idle_deadline:
            return  # it fires first, and waits for the rest (_timeout_cb)
        if pending is not None:
            pending.cancel()
        self._timeout_handle = self.loop.call_at(self._idle_deadline, self._timeout_cb)

    async def read_exactly(self, size: int) -> bytes:
        """The next `size` octets from the client, as they come (a BDAT chunk,
        RFC 3030 2): aiosmtpd reads commands from this stream too."""
        return await self._reader.readexactly(size)

    def end_transaction(self) -> None:
        """A fresh envelope, as aiosmtpd makes after DATA (RFC 5321 4.1.1.4)."""
        self._set_post_data_state()

    # --- aiosmtpd's private methods, overridable under these names -------------

    def _timeout_cb(self) -> None:
        if self.loop.time() < self._idle_deadline:  # moved on since the timer was set
            self._timeout_handle = self.loop.call_at(self._idle_deadline, self._timeout_cb)
            return
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
