"""Line I/O shared by the POP protocols (POP3, POP2): bounded reads, idle timeout.

The reader keeps its own buffer so that no line longer than `limit` is ever
held in memory: an overlong line is dropped as it arrives, up to its line
end, and reported as LineTooLong (the session answers and reads on).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING

from django.conf import settings

from mailboxes import store

if TYPE_CHECKING:
    from protocols.listener import Connection

log = logging.getLogger("protocols.pop3")

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


class LineSession:
    """What POP3, POP2 and ManageSieve sessions share: bounded reads under
    the idle timeout (RFC 1939 3: close without a reply), whole-response
    writes, a budget of bad commands, and a goodbye when the worker shuts
    down between commands."""

    def __init__(self, conn: Connection, limit: int) -> None:
        self.conn = conn
        self.lines = LineReader(conn.reader, limit)
        self.idle_timeout: float = settings.MAIL_POP_IDLE_TIMEOUT
        self.closing = False
        self.bad_commands = 0
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
            return await asyncio.wait_for(self.lines.readline(), self.idle_timeout)
        except TimeoutError:
            log.info("%s: idle for %ss, closing", self.label, self.idle_timeout)
            raise Closed() from None
        except EOFError:
            raise Closed() from None
        finally:
            self._waiting = False

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

    async def handle(self, line: bytes) -> None:
        raise NotImplementedError

    async def bad_command(self) -> None:
        """Count a bad command; at MAX_BAD_COMMANDS say so and hang up."""
        self.bad_commands += 1
        if self.bad_commands >= MAX_BAD_COMMANDS:
            await self.write(self.too_many_bad_commands())
            raise Closed()

    async def line_too_long(self) -> None:
        raise NotImplementedError

    async def finish(self) -> None:
        """After the last command, however the session ended (release locks)."""

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
