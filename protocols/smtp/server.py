"""Start one SMTP listener: "smtp" (MX), "submission" or "smtps" (policy.PROFILES)."""

from __future__ import annotations

import asyncio

from django.conf import settings

from .. import limits as connection_limits
from .. import tls, workers
from ..listener import Listener
from .handlers import Handler
from .policy import PROFILES, Limits
from .session import SMTPSession, quiet_aiosmtpd_log


def limits_from_settings() -> Limits:
    return Limits(
        max_message_size=settings.MAIL_MAX_MESSAGE_SIZE,
        max_recipients=settings.MAIL_MAX_RECIPIENTS,
        max_line_length=settings.MAIL_SMTP_MAX_LINE_LENGTH,
        idle_timeout=settings.MAIL_SMTP_IDLE_TIMEOUT,
        command_limit=settings.MAIL_SMTP_COMMAND_LIMIT,
    )


async def start(name: str, host: str, port: int) -> Listener:
    profile = PROFILES[name]
    limits = limits_from_settings()
    context = tls.server_context()
    loop = asyncio.get_running_loop()
    handler = Handler(limits)
    sessions: set[SMTPSession] = set()
    admitted = connection_limits.ConnectionLimits()  # the shared listener's limits, per listener
    quiet_aiosmtpd_log()

    def factory() -> SMTPSession:
        return SMTPSession(
            handler,
            profile=profile,
            limits=limits,
            tls_context=context,
            sessions=sessions,
            loop=loop,
            admitted=admitted,
        )

    # aiosmtpd is an asyncio.Protocol: serve it directly; implicit TLS wraps the socket.
    implicit = context if profile.implicit_tls else None
    server = await loop.create_server(
        factory,
        **workers.listen_args(host, port),
        ssl=implicit,
        backlog=1024,
        ssl_handshake_timeout=30 if implicit else None,
    )
    return Listener(name, server, sessions)
