"""The supervisor's listening sockets (protocols/workers.py bind) behave as
asyncio's own: a connection accepted from one has Nagle's algorithm off, so a
response written in pieces is not held back for the client's delayed ACK
(with `--workers N` every multi-line IMAP answer waited some 40 ms)."""

from __future__ import annotations

import asyncio
import socket

import pytest

from protocols import workers


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_a_connection_accepted_from_a_prebound_socket_has_tcp_nodelay(host):
    if host == "::1" and not socket.has_ipv6:
        pytest.skip("no IPv6")
    sock = workers.bind(host, 0)
    port = sock.getsockname()[1]
    seen: list[int] = []

    async def main() -> None:
        async def accept(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            seen.append(writer.get_extra_info("socket").getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(accept, **workers.listen_args(host, 0))  # bound as port 0
        try:
            reader, writer = await asyncio.open_connection(host, port)
            await reader.read()
            writer.close()
        finally:
            server.close()
            await server.wait_closed()

    try:
        asyncio.run(main())
    finally:
        workers._prebound.pop(0, None)
        sock.close()
    assert seen and seen[0] != 0
