"""The IMAP listeners: "imap" (143, STARTTLS) and "imaps" (993, implicit TLS)."""

from __future__ import annotations

from protocols.listener import Listener, serve

from .connection import ImapConnection, tls_context

__all__ = ["start"]


async def start(name: str, host: str, port: int) -> Listener:
    """runmailserver's entry point for both IMAP listeners."""
    tls = tls_context() if name == "imaps" else None
    return await serve(name, host, port, ImapConnection, tls=tls)
