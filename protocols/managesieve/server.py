"""The ManageSieve listener (RFC 5804): port 4190, STARTTLS."""

from __future__ import annotations

from protocols import tls
from protocols.listener import Connection, Listener, serve

from .session import ManageSieveSession


async def start(name: str, host: str, port: int) -> Listener:
    if name != "managesieve":
        raise ValueError(f"not a ManageSieve listener: {name}")
    context = tls.server_context()

    def factory(conn: Connection) -> ManageSieveSession:
        return ManageSieveSession(conn, context)

    return await serve(name, host, port, factory)
