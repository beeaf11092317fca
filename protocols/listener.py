"""The shared asyncio listener for stream protocols (IMAP, POP3, POP2).

One event loop per worker process serves every connection. A protocol
supplies a session factory; the listener accepts, wraps TLS for implicit-TLS
ports, tracks live sessions so a shutdown can say goodbye to each, and makes
sure no exception from a session ever escapes into the loop.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import itertools
import logging
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings

from mailhost import metrics

from . import limits, proxy, workers

log = logging.getLogger("protocols.listener")
_ids = itertools.count(1)


@functools.lru_cache(maxsize=4096)
def _is_loopback(ip: str) -> bool:
    """Kept per address: asked on every connection (the plaintext-AUTH rule)."""
    try:
        return ipaddress.ip_address(ip).is_loopback
    except ValueError:
        return False


@dataclass
class Connection:
    """Who is on the other end, and how: what every session needs to decide policy."""

    id: int
    listener: str
    peer_ip: str
    peer_port: int
    tls: bool
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    extra: dict = field(default_factory=dict)

    @property
    def loopback(self) -> bool:
        return _is_loopback(self.peer_ip)

    @property
    def plaintext_auth_allowed(self) -> bool:
        """Credentials in clear text only over TLS, from loopback, or when a setting says so."""
        trusted = self.loopback and settings.MAIL_TRUST_LOOPBACK
        return self.tls or trusted or settings.MAIL_ALLOW_PLAINTEXT_AUTH

    async def start_tls(self, context: ssl.SSLContext, reply: bytes = b"") -> None:
        """Send `reply` (the go-ahead) and upgrade in place (STARTTLS/STLS).

        Anything the client pipelined before the go-ahead is discarded (RFC
        3207 4.2, RFC 2595 3.1). The client starts its handshake as soon as it
        reads the reply, so reading stops before the reply is written and no
        await comes between: its ClientHello must reach TLS, not our buffer."""
        self.reader._buffer.clear()  # type: ignore[attr-defined]
        transport = self.writer.transport
        if isinstance(transport, asyncio.ReadTransport):
            transport.pause_reading()
        if reply:
            self.writer.write(reply)
        await self.writer.start_tls(context)
        self.tls = True


class Session(Protocol):
    async def run(self) -> None: ...
    async def shutdown(self) -> None: ...


SessionFactory = Callable[[Connection], Session]


class Listener:
    def __init__(self, name: str, server: asyncio.Server, sessions: set) -> None:
        self.name = name
        self.server = server
        self.sessions = sessions

    @property
    def addresses(self) -> list[tuple]:
        return [sock.getsockname() for sock in self.server.sockets]

    async def stop(self, grace: float = 10.0) -> None:
        """Stop accepting, tell every session goodbye, give them `grace` seconds."""
        self.server.close()
        for session in list(self.sessions):
            try:
                await asyncio.wait_for(session.shutdown(), 2)
            except Exception:
                pass
        deadline = asyncio.get_running_loop().time() + grace
        while self.sessions and asyncio.get_running_loop().time() < deadline:
            await asyncio.sleep(0.05)


async def serve(
    name: str, host: str, port: int, factory: SessionFactory, *, tls: ssl.SSLContext | None = None, backlog: int = 1024
) -> Listener:
    sessions: set = set()
    admitted = limits.ConnectionLimits()

    async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("", 0)
        conn = Connection(next(_ids), name, str(peer[0]), int(peer[1]), tls is not None, reader, writer)
        session = None
        counted = metrics.ConnectionCount(name)
        try:
            counted.__enter__()
            if settings.MAIL_PROXY_TRUSTED and not await _proxied(conn):
                return
            if not admitted.admit(conn.peer_ip):
                log.warning("%s#%s: connection limit reached, %s refused", name, conn.id, conn.peer_ip)
                writer.write(limits.try_later(name))
                return
            conn.extra["admitted"] = True
            session = factory(conn)
            sessions.add(session)
            await session.run()
        except (ConnectionError, asyncio.IncompleteReadError, ssl.SSLError, TimeoutError):
            pass
        except Exception:
            log.exception("%s#%s: session failed", name, conn.id)
        finally:
            counted.__exit__()
            if conn.extra.pop("admitted", False):
                admitted.release(conn.peer_ip)
            if session is not None:
                sessions.discard(session)
            writer.close()
            try:
                await asyncio.wait_for(writer.wait_closed(), 5)
            except Exception:
                pass

    server = await asyncio.start_server(
        accept,
        **workers.listen_args(host, port),
        ssl=tls,
        backlog=backlog,
        ssl_handshake_timeout=30 if tls else None,
        limit=256 * 1024,
    )
    return Listener(name, server, sessions)


async def _proxied(conn: Connection) -> bool:
    """Behind a load balancer (MAIL_PROXY_TRUSTED): the connection must come
    from a trusted address and open with a PROXY header (v1 or v2), whose
    source becomes conn.peer_ip (logging, plaintext-auth policy, throttling).
    False (and the connection is dropped, nothing said) otherwise. The
    balancer's own address stays in conn.extra["proxy_peer"]."""
    if not proxy.trusted(conn.peer_ip, settings.MAIL_PROXY_TRUSTED):
        log.warning(
            "%s#%s: connection from %s, not a trusted PROXY peer: refused", conn.listener, conn.id, conn.peer_ip
        )
        return False
    try:
        header = await asyncio.wait_for(_read_proxy_header(conn.reader), settings.MAIL_PROXY_TIMEOUT)
    except (proxy.ProxyError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError) as exc:
        log.warning(
            "%s#%s: no valid PROXY header from %s (%s): refused",
            conn.listener,
            conn.id,
            conn.peer_ip,
            type(exc).__name__,
        )
        return False
    conn.extra["proxy_peer"] = conn.peer_ip
    if header.source is not None:
        conn.peer_ip, conn.peer_port = header.source
    return True


async def _read_proxy_header(reader: asyncio.StreamReader) -> proxy.ProxyHeader:
    """Read exactly the header, not one octet of what follows it."""
    data = await reader.readexactly(5)
    while (size := proxy.needed(data)) > len(data):
        if size > proxy.V2_MAX:
            raise proxy.ProxyError("v2 header too long")
        data += await reader.readexactly(size - len(data))
    if size == 0:  # a v1 line: up to its LF, at most 107 octets
        while not data.endswith(b"\n"):
            if len(data) >= proxy.V1_MAX:
                raise proxy.ProxyError("v1 line too long")
            data += await reader.readexactly(1)
    return proxy.parse(data)


StartFunc = Callable[[str, str, int], Awaitable[Listener]]
