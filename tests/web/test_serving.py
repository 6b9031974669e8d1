"""The one place that serves HTTP (site, webhook, local Bot API) answers without delay."""

from __future__ import annotations

import asyncio
import socket

from web.serving import listening_socket


async def test_connections_accepted_by_the_server_have_nagle_off() -> None:
    """With Nagle on, a response written as headers then body waited for the client's
    delayed ACK: 44 ms per request, measured on every Bot API call of the local chat."""
    sock = listening_socket("127.0.0.1", 0)
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def on_connection(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = writer.get_extra_info("socket")
        accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(on_connection, sock=sock)
    async with server:
        _, writer = await asyncio.open_connection(*sock.getsockname()[:2])
        assert await asyncio.wait_for(accepted, 5) == 1
        writer.close()
