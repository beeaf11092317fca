"""The aiosmtpd private members protocols/smtp/aiosmtpd_adapter.py relies on
still exist and still mean what it assumes, on the pinned aiosmtpd version.
An aiosmtpd upgrade that moves them fails here, not in a session."""

from __future__ import annotations

import asyncio
import importlib.metadata
import re
import ssl
from pathlib import Path

import pytest
from aiosmtpd.smtp import SMTP, Envelope

from protocols.smtp.aiosmtpd_adapter import ASSUMED_VERSION, PRIVATE_ATTRIBUTES, PRIVATE_METHODS, AdaptedSMTP
from tests.certs import TestCa

REQUIREMENTS = Path(__file__).resolve().parents[2] / "requirements.txt"


class NoHooks:
    """A handler without handle_* hooks: aiosmtpd's own behaviour only."""


def test_installed_aiosmtpd_is_the_pinned_version_the_adapter_was_written_against() -> None:
    pinned = re.search(r"^aiosmtpd==(\S+)\s*$", REQUIREMENTS.read_text(), re.MULTILINE)
    assert pinned is not None, "aiosmtpd is not pinned with == in requirements.txt"
    assert importlib.metadata.version("aiosmtpd") == pinned.group(1) == ASSUMED_VERSION


@pytest.mark.parametrize("name", PRIVATE_METHODS)
def test_each_private_method_the_adapter_uses_is_still_a_method_of_aiosmtpd_smtp(name: str) -> None:
    assert callable(getattr(SMTP, name, None))


def test_the_adapters_own_names_are_not_members_aiosmtpd_defines_itself() -> None:
    # Else a later aiosmtpd could call one of them for its own purpose.
    own = {name for name in vars(AdaptedSMTP) if not name.startswith("__")} - set(PRIVATE_METHODS)
    assert own and not own & set(dir(SMTP))


def test_each_private_attribute_the_adapter_uses_is_set_on_an_aiosmtpd_connection_and_tracks_starttls(
    tmp_path: Path,
) -> None:
    certificate, key = TestCa(tmp_path).issue(["localhost"])
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(certificate, key)
    client_tls = ssl.create_default_context()
    client_tls.check_hostname = False
    client_tls.verify_mode = ssl.CERT_NONE

    async def converse() -> None:
        loop = asyncio.get_running_loop()
        made: list[SMTP] = []

        def factory() -> SMTP:
            made.append(SMTP(NoHooks(), tls_context=server_tls, loop=loop))
            return made[-1]

        server = await loop.create_server(factory, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            assert (await reader.readline()).startswith(b"220 ")
            smtp = made[0]
            for name in PRIVATE_ATTRIBUTES:
                assert hasattr(smtp, name), name
            assert isinstance(smtp._handler_coroutine, asyncio.Task)
            assert smtp._tls_protocol is None and smtp._original_transport is None
            assert smtp._auth_require_tls is True
            assert isinstance(smtp._handle_hooks, dict)
            assert {"EHLO", "MAIL", "RCPT", "DATA", "STARTTLS", "AUTH"} <= set(smtp._smtp_methods)
            # BDAT reads its chunk from the stream aiosmtpd reads commands from,
            # and ends a transaction with the envelope aiosmtpd would make.
            assert isinstance(smtp._reader, asyncio.StreamReader)
            assert type(smtp._create_envelope()) is Envelope
            before = smtp.envelope
            smtp._set_post_data_state()
            assert isinstance(smtp.envelope, Envelope) and smtp.envelope is not before

            writer.write(b"STARTTLS\r\n")
            assert (await reader.readline()).startswith(b"220 ")
            await writer.start_tls(client_tls)
            writer.write(b"NOOP\r\n")
            assert (await reader.readline()).startswith(b"250 ")
            assert smtp._tls_protocol is not None and smtp._original_transport is not None
            writer.write(b"QUIT\r\n")
            assert (await reader.readline()).startswith(b"221 ")
        finally:
            writer.close()
            server.close()
            await server.wait_closed()

    asyncio.run(converse())


def test_the_dispatch_tables_are_the_ones_aiosmtpd_builds_itself_but_for_properties_named_auth() -> None:
    # The adapter answers dir() from a per-class list while aiosmtpd constructs.
    class Session(AdaptedSMTP):
        @property
        def auth_offered(self) -> bool:  # a property, not a mechanism
            return True

        async def smtp_XTEST(self, arg: str) -> None:
            await self.push("250 OK")

    class Stock(SMTP):
        async def smtp_XTEST(self, arg: str) -> None:
            await self.push("250 OK")

    async def build() -> tuple[SMTP, SMTP]:
        loop = asyncio.get_running_loop()
        return Session(NoHooks(), loop=loop), Stock(NoHooks(), loop=loop)

    adapted, stock = asyncio.run(build())
    assert set(adapted._smtp_methods) == set(stock._smtp_methods) and "XTEST" in adapted._smtp_methods
    assert set(adapted._auth_methods) == set(stock._auth_methods) == {"LOGIN", "PLAIN"}
    assert {"transport", "auth_offered", "event_handler"} <= set(dir(adapted))  # dir() whole again


def test_a_mailhost_session_has_its_hooks_and_the_two_mechanisms() -> None:
    from protocols.smtp.handlers import Handler
    from protocols.smtp.policy import PROFILES
    from protocols.smtp.server import limits_from_settings
    from protocols.smtp.session import SMTPSession

    async def build() -> SMTPSession:
        limits = limits_from_settings()
        loop = asyncio.get_running_loop()
        return SMTPSession(
            Handler(limits), profile=PROFILES["submission"], limits=limits, tls_context=None, sessions=set(), loop=loop
        )

    session = asyncio.run(build())
    assert set(session._handle_hooks) == {"EHLO", "MAIL", "RCPT", "DATA", "PROXY"}
    assert set(session._auth_methods) == {"LOGIN", "PLAIN"}  # not "OFFERED" (the auth_offered property)
    assert {"EHLO", "MAIL", "RCPT", "DATA", "BDAT", "AUTH", "STARTTLS", "QUIT"} <= set(session._smtp_methods)


def test_the_tables_made_from_the_handler_are_the_ones_aiosmtpd_makes_from_it() -> None:
    # The adapter builds them once per handler, not on every connection.
    class Hooks:
        async def handle_EHLO(self, server, session, envelope, hostname, responses):  # type: ignore[no-untyped-def]
            return responses

        async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
            return "250 OK"

        async def auth_PLAIN(self, server, args):  # type: ignore[no-untyped-def]  # replaces the builtin one
            return None

        async def auth_X__TEST(self, server, args):  # type: ignore[no-untyped-def]
            return None

    class Session(AdaptedSMTP):
        pass

    handler = Hooks()

    async def build() -> tuple[SMTP, SMTP, SMTP]:
        loop = asyncio.get_running_loop()
        return Session(handler, loop=loop), Session(handler, loop=loop), SMTP(handler, loop=loop)

    first, second, stock = asyncio.run(build())
    for adapted in (first, second):
        assert adapted.event_handler is handler
        assert adapted._handle_hooks == stock._handle_hooks and adapted._ehlo_hook_ver == stock._ehlo_hook_ver == "new"
        assert (
            {k: v.is_builtin for k, v in adapted._auth_methods.items()}
            == {k: v.is_builtin for k, v in stock._auth_methods.items()}
            == {"LOGIN": True, "PLAIN": False, "X-TEST": False}
        )
        assert adapted._smtp_methods["EHLO"].__self__ is adapted  # bound to this connection
    first.add_handler_hook("PROXY", stock._handle_hooks["DATA"])
    assert "PROXY" not in second._handle_hooks  # each connection has its own table
