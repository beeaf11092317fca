"""What the line protocols (POP3, POP2, ManageSieve) share: bounded reads,
the idle timeout, and the one loop that parses a command, checks the state
table, runs the handler and maps its failures to replies.

The reader keeps its own buffer so that no line longer than `limit` is ever
held in memory: an overlong line is dropped as it arrives, up to its line
end, and reported as LineTooLong (the session answers and reads on).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar

from django.conf import settings

from mailboxes import store
from mailhost import metrics
from protocols import account_sessions
from protocols.pop3.parser import ParseError

if TYPE_CHECKING:
    from protocols.listener import Connection

T = TypeVar("T")
S = TypeVar("S")  # a protocol's states

CHUNK = 4096


class LineTooLong(Exception):
    """A line passed the limit; it has been discarded up to its LF."""


class LineReader:
    def __init__(self, reader: asyncio.StreamReader, limit: int) -> None:
        self._reader = reader
        self._buffer = bytearray()
        self.limit = limit

    def discard_buffered(self) -> None:
        """Drop what the client sent ahead (after STLS, RFC 2595 4)."""
        self._buffer.clear()

    async def readline(self) -> bytes:
        """One line with its line end. EOFError when the peer closes first
        (a partial last line is dropped: it was never a command)."""
        overlong = False
        while True:
            end = self._buffer.find(b"\n")
            if end >= 0:
                line = bytes(self._buffer[: end + 1])
                del self._buffer[: end + 1]
                if overlong or len(line) > self.limit:
                    raise LineTooLong()
                return line
            if len(self._buffer) > self.limit:
                overlong = True
                self._buffer.clear()
            chunk = await self._reader.read(CHUNK)
            if not chunk:
                raise EOFError()
            self._buffer += chunk

    async def read_exactly(self, size: int, *, keep: bool = True) -> bytes:
        """The next `size` octets (a ManageSieve literal); with keep=False they
        are read and dropped as they arrive, never held (an oversized one)."""
        kept = bytearray()
        while size > 0:
            if not self._buffer:
                chunk = await self._reader.read(CHUNK)
                if not chunk:
                    raise EOFError()
                self._buffer += chunk
            taken = bytes(self._buffer[:size])
            del self._buffer[:size]
            size -= len(taken)
            if keep:
                kept += taken
        return bytes(kept)


class Closed(Exception):
    """The session is over: stop reading commands."""


#: Bad commands a line session answers before it hangs up (a client looping on garbage).
MAX_BAD_COMMANDS = 20


Handler = Callable[[Any, Any], Awaitable[None]]


class LineSession(Generic[S]):
    """What POP3, POP2 and ManageSieve sessions share: bounded reads under
    the idle timeout (RFC 1939 3: close without a reply), whole-response
    writes, a budget of bad commands, a goodbye when the worker shuts down
    between commands, and the command loop (`handle`). Each protocol says
    how to read a command, how to word its replies and its state table."""

    #: Names the logger (protocols.<protocol>) and the metrics label.
    protocol: ClassVar[str]
    #: Whether commands are counted in the metrics (POP2's are not).
    metered: ClassVar[bool] = True
    #: The rules of the states: command class -> (states it is valid in, handler).
    commands: ClassVar[Mapping[Any, tuple[frozenset[Any], Handler]]]
    #: The reply (text, response code) to a failure nothing else explains.
    internal_error: ClassVar[tuple[str, str]]
    #: The reply to a line over the limit (a bad command).
    too_long: ClassVar[str]
    #: The kind of reply a handler gives unless it says otherwise (metrics).
    ok_result: ClassVar[str] = ""
    state: S

    def __init__(self, conn: Connection, limit: int) -> None:
        self.conn = conn
        self.lines = LineReader(conn.reader, limit)
        self.log = logging.getLogger(f"protocols.{self.protocol}")
        self.idle_timeout: float = settings.MAIL_POP_IDLE_TIMEOUT
        self.result = self.ok_result
        self.closing = False
        self.bad_commands = 0
        self.session_token: tuple[int, str] | None = None  # (account, token) counted by protocols.account_sessions
        self._waiting = False
        self._unsubscribe: Callable[[], None] | None = None
        self._ending: asyncio.Future[None] | None = None

    @property
    def label(self) -> str:
        return f"{self.conn.listener}#{self.conn.id}"

    async def write(self, data: bytes) -> None:
        self.conn.writer.write(data)
        await asyncio.wait_for(self.conn.writer.drain(), self.idle_timeout)

    async def readline(self) -> bytes:
        """The next line; Closed at EOF or when idle past the timeout."""
        self._waiting = True
        try:
            return await self._within_timeout(self.lines.readline())
        finally:
            self._waiting = False

    async def read_exactly(self, size: int, *, keep: bool = True) -> bytes:
        """The next `size` octets (LineReader.read_exactly); Closed at EOF or
        when idle past the timeout."""
        return await self._within_timeout(self.lines.read_exactly(size, keep=keep))

    async def _within_timeout(self, pending: Awaitable[T]) -> T:
        try:
            return await asyncio.wait_for(pending, self.idle_timeout)
        except TimeoutError:
            self.log.info("%s: idle for %ss, closing", self.label, self.idle_timeout)
            raise Closed() from None
        except EOFError:
            raise Closed() from None

    # --- what each protocol fills in ------------------------------------------

    def greeting(self) -> bytes:
        raise NotImplementedError

    def goodbye(self) -> bytes:
        """Sent when the worker shuts down between commands."""
        raise NotImplementedError

    def signed_out(self) -> bytes:
        """Sent when the account is signed out everywhere (store.SIGN_OUT)."""
        raise NotImplementedError

    def too_many_bad_commands(self) -> bytes:
        """Sent before hanging up on the MAX_BAD_COMMANDS-th bad command."""
        raise NotImplementedError

    async def error(self, text: str, code: str = "") -> None:
        """Send the protocol's error reply: text, with a response code if any."""
        raise NotImplementedError

    def out_of_state(self, name: str) -> str:
        """The error text for command `name` sent in a state it is not valid in."""
        raise NotImplementedError

    async def read_command(self, line: bytes) -> Any:
        """The command that starts with this line (ParseError if it is not
        one), or None when it has been answered already."""
        raise NotImplementedError

    def received(self, command: Any) -> None:
        """A command was parsed, before its state is checked."""

    def store_error(self, exc: store.StoreError) -> tuple[str, str] | None:
        """The reply (text, response code) to a store error from a handler;
        None: an internal error. Here RFC 2449's SYS/TEMP for Unavailable."""
        if isinstance(exc, store.Unavailable):
            return "the mail store is temporarily unavailable, try again later", "SYS/TEMP"
        return None

    # --- the command loop ---------------------------------------------------------

    async def bad_command(self) -> None:
        """Count a bad command; at MAX_BAD_COMMANDS say so and hang up."""
        self.bad_commands += 1
        if self.bad_commands >= MAX_BAD_COMMANDS:
            await self.write(self.too_many_bad_commands())
            raise Closed()

    async def refuse(self, text: str) -> None:
        """Answer a bad command (syntax, state, length) and count it."""
        await self.error(text)
        await self.bad_command()

    async def line_too_long(self) -> None:
        await self.refuse(self.too_long)

    async def handle(self, line: bytes) -> None:
        """One command: parse, check the state table, run the handler. A
        failure is answered in the protocol's words, never the exception's."""
        try:
            command = await self.read_command(line)
        except ParseError as exc:
            await self.refuse(exc.message)
            return
        if command is None:
            return
        states, handler = self.commands[type(command)]
        self.received(command)
        if self.state not in states:
            await self.refuse(self.out_of_state(command.name))
            return
        started, self.result = time.perf_counter(), self.ok_result
        try:
            await handler(self, command)
        except (Closed, ConnectionError, TimeoutError):
            raise
        except Exception as exc:
            reply = self.store_error(exc) if isinstance(exc, store.StoreError) else None
            if reply is None:
                self.log.exception("%s: %s failed", self.label, command.name)
                reply = self.internal_error
            await self.error(*reply)
        if self.metered:
            metrics.command(self.protocol, command.name, self.result, time.perf_counter() - started)

    async def finish(self) -> None:
        """After the last command, however the session ended: the account's
        session count given back (a protocol also releases its locks)."""
        if self.session_token is not None:
            account_sessions.release(*self.session_token)
            self.session_token = None

    async def run(self) -> None:
        try:
            await self.write(self.greeting())
            while not self.closing:
                try:
                    line = await self.readline()
                except LineTooLong:
                    await self.line_too_long()
                    continue
                await self.handle(line)
        except Closed:
            pass
        finally:
            if self._unsubscribe is not None:
                self._unsubscribe()
            await self.finish()

    async def shutdown(self, goodbye: bytes | None = None) -> None:
        """The worker is stopping (or the account was signed out): between
        commands, say so and hang up at once; in the middle of one, let it
        finish and stop after it."""
        self.closing = True
        if self._waiting:
            try:
                self.conn.writer.write(goodbye or self.goodbye())
            finally:
                self.conn.writer.close()

    def end_on_sign_out(self, account_id: int) -> None:
        """After a login: hang up when the account's password changes or it
        signs out everywhere (the event bus's SIGN_OUT, from any worker)."""
        loop = asyncio.get_running_loop()

        def event(account: int, folder_id: int) -> None:  # on the event bus's thread
            if folder_id == store.SIGN_OUT:
                try:
                    loop.call_soon_threadsafe(self._signed_out)
                except RuntimeError:  # the loop is closed: the session is gone
                    pass

        self._unsubscribe = store.subscribe(account_id, event)

    def _signed_out(self) -> None:
        self._ending = asyncio.ensure_future(self.shutdown(self.signed_out()))

    def hang_up(self) -> None:
        self.closing = True
        self.conn.writer.close()
