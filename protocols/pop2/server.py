"""The POP2 listener, "pop2" (port 109; RFC 937)."""

from __future__ import annotations

from protocols.listener import Listener, serve

from .session import Pop2Session


async def start(name: str, host: str, port: int) -> Listener:
    if name != "pop2":
        raise ValueError(f"not a POP2 listener: {name}")
    return await serve(name, host, port, Pop2Session)
