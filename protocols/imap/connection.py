"""One IMAP connection: I/O only.

It reads bytes into a buffer and hands the buffer to the pure parser;
answers continuation requests for synchronizing literals (RFC 3501 7.5);
refuses what the parser refuses (BAD, NO [BADCHARSET], [TOOBIG]) and drops
exactly the bytes of the bad command; runs each command through the
session (:mod:`.state`); and reads the lines that are not commands
(AUTHENTICATE responses, IDLE's DONE).

COMPRESS=DEFLATE (RFC 4978): once the tagged OK is out, every write goes
through a raw DEFLATE compressor (``wbits=-15``) flushed with
``Z_SYNC_FLUSH``, so each response can be decoded as soon as it arrives,
and every read through the matching decompressor, which never inflates more
than ``READ_SIZE`` octets at a time (the rest waits in ``unconsumed_tail``),
so the line and literal limits still hold before memory is spent. Undecodable
input ends the connection (RFC 4978 4: there is no way back).

Timers and goodbyes: a client silent for ``MAIL_IMAP_IDLE_TIMEOUT``
seconds (30 minutes by default, RFC 3501 5.4), IDLE included, gets
``* BYE`` and is disconnected; at shutdown every session gets ``* BYE``,
at once if it is waiting for the client, else after its command completes.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
import zlib
from collections.abc import Awaitable, Callable
from typing import Final

from django.conf import settings

from protocols.listener import Connection
from protocols.tls import server_context

from . import notify
from .encoder import continuation, tagged, untagged_status
from .parser import (
    Framer,
    LineTooLong,
    LiteralTooBig,
    NeedContinuation,
    NeedMore,
    ParseError,
    parse_command,
)
from .replies import SessionEnd
from .state import Session, State

__all__ = ["ImapConnection"]

log = logging.getLogger("protocols.imap")

READ_SIZE: Final = 256 * 1024
MAX_LINE: Final = 65536
#: Literals before login are user names and passwords, nothing bigger...
MAX_LITERAL_BEFORE_LOGIN: Final = 8192
#: ... and a command before login carries at most this many literal octets
#: in all (issue 15 item 5: no chain of literals without end).
MAX_LITERALS_BEFORE_LOGIN: Final = 65536
#: Output waiting for a slow reader beyond which a write may time out.
WRITE_BUFFER: Final = 1 << 20
#: Consecutive syntax errors before the connection is closed.
MAX_BAD_COMMANDS: Final = 20


@functools.cache
def tls_context() -> ssl.SSLContext:
    return server_context()


class ImapConnection:
    """The listener's session object for the "imap" and "imaps" listeners."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.session = Session(self)
        self.timeout = float(settings.MAIL_IMAP_IDLE_TIMEOUT)
        self._buf = bytearray()
        self._framer = Framer(max_line=MAX_LINE)
        self._need = 1  # parse again once the buffer holds this many bytes
        self._wakeup = asyncio.Event()
        self._reading = False  # waiting for the client: a BYE may go out now
        self._stopping = False
        self._stop_text = "Server shutting down"
        self._bye_sent = False
        self._bad_commands = 0
        self._deflate: zlib._Compress | None = None
        self._inflate: zlib._Decompress | None = None

    # -- the listener's Session protocol ------------------------------------

    async def run(self) -> None:
        try:
            caps = self.session.capabilities()
            await self.send(untagged_status("OK", "CAPABILITY " + caps, "Mailhost IMAP4rev1 ready"))
            while self.session.state is not State.LOGOUT:
                command = await self._read_command()
                if command is not None:
                    await self.session.execute(command)
                if self._stopping:
                    await self.bye(self._stop_text)
                    return
        except SessionEnd:
            pass
        except (ConnectionError, ssl.SSLError):
            pass
        except Exception:
            log.exception("imap#%s: connection failed", self.conn.id)
            try:
                await self.bye("Internal error", code="SERVERBUG")
            except Exception:
                pass
        finally:
            self.session.close()

    async def shutdown(self) -> None:
        await self.end("Server shutting down")

    async def end(self, text: str) -> None:
        """Say goodbye (BYE text): now if the client has the turn, else after
        the command (the worker stops; the account was signed out)."""
        self._stopping, self._stop_text = True, text
        self._wakeup.set()
        if self._reading and not self._bye_sent:
            await self.bye(text)
            self.conn.writer.close()

    # -- output ----------------------------------------------------------------

    async def send(self, data: bytes) -> None:
        writer = self.conn.writer
        if writer.is_closing():
            raise SessionEnd()
        if self._deflate is not None:
            data = self._deflate.compress(data) + self._deflate.flush(zlib.Z_SYNC_FLUSH)
        writer.write(data)
        if writer.transport.get_write_buffer_size() <= WRITE_BUFFER:
            await writer.drain()
            return
        try:
            # A client that stops reading is held to the same timer as one that stops writing.
            await asyncio.wait_for(writer.drain(), self.timeout)
        except TimeoutError:
            raise SessionEnd() from None

    async def bye(self, text: str, code: str | None = None) -> None:
        if not self._bye_sent:
            self._bye_sent = True
            await self.send(untagged_status("BYE", code, text))

    # -- input -------------------------------------------------------------------

    async def _fill(self) -> None:
        """Read what the client sent next, or end the session."""
        if self._inflate is not None and self._inflate.unconsumed_tail:
            self._buf += self._inflated(self._inflate.unconsumed_tail)
            return
        try:
            data = await asyncio.wait_for(self.conn.reader.read(READ_SIZE), self.timeout)
        except TimeoutError:
            await self.bye("Autologout; idle for too long")  # RFC 3501 5.4
            raise SessionEnd() from None
        if not data:
            raise SessionEnd()
        self._buf += data if self._inflate is None else self._inflated(data)

    def _inflated(self, data: bytes) -> bytes:
        assert self._inflate is not None
        try:
            return self._inflate.decompress(data, READ_SIZE)
        except zlib.error:
            raise SessionEnd() from None

    async def start_compress(self, reply: bytes) -> bool:
        """Send ``reply`` and compress from then on (RFC 4978 3); False,
        with nothing sent, when compression is already on."""
        if self._deflate is not None:
            return False
        await self.send(reply)
        self._deflate = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        self._inflate = zlib.decompressobj(-15)
        # The client waits for the OK before compressing; anything it sent
        # after the command anyway is compressed already.
        rest = bytes(self._buf)
        self._buf.clear()
        if rest:
            self._buf += self._inflated(rest)
        return True

    async def _wait_input(self, between_commands: bool = False) -> None:
        if self._stopping:
            await self.bye(self._stop_text)
            raise SessionEnd()
        self._reading = True
        try:
            if between_commands and self.session.watch is not None:
                await self._fill_reporting()
            else:
                await self._fill()
        finally:
            self._reading = False
        if self._stopping:
            await self.bye(self._stop_text)
            raise SessionEnd()

    async def _fill_reporting(self) -> None:
        """:meth:`_fill`, sending NOTIFY's reports whenever the event bus
        wakes the session meanwhile (RFC 5465: the client has the turn and
        has sent nothing of its next command)."""
        fill = asyncio.ensure_future(self._fill())
        try:
            while True:
                woken = asyncio.ensure_future(self._wakeup.wait())
                try:
                    await asyncio.wait({fill, woken}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    woken.cancel()
                if fill.done():
                    fill.result()
                    return
                self._wakeup.clear()
                if self._stopping:
                    await fill  # end() said BYE and closed; the read ends the session
                    return
                await notify.report(self.session)
        finally:
            if not fill.done():
                fill.cancel()

    def _max_literals(self) -> tuple[int, int]:
        """Octets allowed in one literal and in all of a command's literals."""
        if self.session.state is State.NOT_AUTHENTICATED:
            return MAX_LITERAL_BEFORE_LOGIN, MAX_LITERALS_BEFORE_LOGIN
        size = int(settings.MAIL_MAX_MESSAGE_SIZE)
        return size, size

    def _drop(self, octets: int) -> None:
        """Forget the first ``octets`` bytes: the command just read or refused."""
        del self._buf[:octets]
        self._framer.reset()
        self._need = 1

    async def _read_command(self):  # type: ignore[no-untyped-def]
        """The next command, or None after answering a bad one."""
        while True:
            if self._buf and len(self._buf) >= self._need:
                each, total = self._max_literals()
                try:
                    command, used = parse_command(
                        self._buf,
                        max_literal=each,
                        max_literals=total,
                        framer=self._framer,
                        utf8=self.session.utf8,
                    )
                except NeedContinuation as signal:
                    self._need = len(self._buf) + max(signal.size, 1)
                    await self.send(continuation("Ready"))
                except NeedMore as signal:
                    self._need = max(signal.at_least, len(self._buf) + 1)
                except ParseError as error:
                    await self._refuse(error)
                    return None
                except LiteralTooBig as error:
                    await self._too_big(error)
                    return None
                except LineTooLong as error:
                    await self.send(tagged(error.tag or b"*", "BAD", None, error.message))
                    await self.bye("Command line too long")
                    raise SessionEnd() from None
                else:
                    self._drop(used)
                    self._bad_commands = 0
                    return command
            await self._wait_input(between_commands=not self._buf)

    async def _refuse(self, error: ParseError) -> None:
        consumed = error.consumed
        if consumed is None:
            newline = self._buf.find(b"\n")
            consumed = newline + 1 if newline >= 0 else len(self._buf)
        self._drop(consumed)
        if error.empties_saved and self.session.view is not None:
            self.session.view.saved = []  # RFC 5182 2.1: a failed SEARCH ... SAVE
        if error.no_code is not None:
            # RFC 3501 6.4.4: a charset we do not have is NO, with the ones we
            # do; a name modified UTF-7 does not allow is NO [CANNOT].
            await self.send(tagged(error.tag or b"*", "NO", error.no_code, error.message))
            return
        await self.send(tagged(error.tag or b"*", "BAD", None, error.message))
        self._bad_commands += 1
        if self._bad_commands >= MAX_BAD_COMMANDS:
            await self.bye("Too many invalid commands")
            raise SessionEnd()

    async def _too_big(self, error: LiteralTooBig) -> None:
        tag = error.tag or b"*"
        if not error.non_synchronizing:
            # The client waits for "+" and will not send the octets (RFC 3501 7.5).
            self._drop(error.consumed)
            await self.send(tagged(tag, "NO", "TOOBIG", "Literal too big"))
            return
        # RFC 7888 4: the octets are already on their way; refuse and hang up.
        await self.send(tagged(tag, "BAD", "TOOBIG", "Literal too big"))
        await self.bye("Literal too big")
        raise SessionEnd()

    async def read_line(self, limit: int) -> bytes:
        """One line that is not a command (AUTHENTICATE data, IDLE's DONE)."""
        while True:
            newline = self._buf.find(b"\n")
            if newline >= 0:
                line = bytes(self._buf[: newline + 1])
                del self._buf[: newline + 1]
                return line
            if len(self._buf) > limit:
                await self.bye("Line too long")
                raise SessionEnd()
            await self._wait_input()

    async def start_tls(self, reply: bytes) -> None:
        """Send the tagged OK and upgrade; Connection.start_tls keeps the
        client's ClientHello out of the plaintext buffer."""
        # RFC 3501 6.2.1: anything pipelined after STARTTLS is discarded.
        self._drop(len(self._buf))
        await self.conn.start_tls(tls_context(), reply)

    # -- IDLE ----------------------------------------------------------------------

    def wake(self) -> None:
        self._wakeup.set()

    async def idle(self, on_wake: Callable[[], Awaitable[None]], poll: float) -> bytes:
        """Wait for the client's next line, calling ``on_wake`` whenever the
        session is woken by an event and every ``poll`` seconds (RFC 2177)."""
        self._wakeup.clear()
        line = asyncio.ensure_future(self.read_line(1024))
        try:
            while True:
                woken = asyncio.ensure_future(self._wakeup.wait())
                self._reading = True
                try:
                    await asyncio.wait({line, woken}, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    self._reading = False
                    woken.cancel()
                if line.done():
                    return line.result()
                self._wakeup.clear()
                if self._stopping:
                    await self.bye(self._stop_text)
                    raise SessionEnd()
                await on_wake()
        finally:
            if not line.done():
                line.cancel()
            elif not line.cancelled():
                line.exception()  # retrieved: the hang-up that ended IDLE (a BYE closed the socket)
