"""The POP3 listeners: "pop3" (port 110, STLS) and "pop3s" (port 995, implicit TLS)."""

from __future__ import annotations

from protocols import tls
from protocols.listener import Connection, Listener, serve

from .session import Pop3Session


async def start(name: str, host: str, port: int) -> Listener:
    if name not in ("pop3", "pop3s"):
        raise ValueError(f"not a POP3 listener: {name}")
    context = tls.server_context()
    implicit = context if name == "pop3s" else None

    def factory(conn: Connection) -> Pop3Session:
        return Pop3Session(conn, None if implicit else context)

    return await serve(name, host, port, factory, tls=implicit)
