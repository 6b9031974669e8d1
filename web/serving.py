"""Run an ASGI app (Starlette) with uvicorn inside the running event loop.

The one place that does it, for the site, the fake Bot API (`bot.localapi.server`) and the
tests' stand-in for datos.gov.co: the listening socket is bound before anything is served
(so a taken port is an OSError at once), logging is left to the program (no access log),
and signals to whoever runs the loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import uvicorn
from starlette.types import ASGIApp


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the program that runs it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


_quiet = contextvars.ContextVar("quiet", default=False)


def _no_access_lines(record: logging.LogRecord) -> bool:
    """Drop uvicorn's line per request (a Bot API request's path holds the token)."""
    return False


def _unless_quiet(record: logging.LogRecord) -> bool:
    """Drop a quiet server's lines below WARNING (started, shutting down); keep the rest."""
    return record.levelno >= logging.WARNING or not _quiet.get()


def listening_socket(host: str, port: int) -> socket.socket:
    """Bind and listen on host:port, with Nagle's algorithm off on every connection.

    asyncio turns Nagle off on the connections it accepts only when the listening socket
    says it is TCP (`proto`), and `socket.create_server` leaves that 0. With Nagle on, each
    response whose body uvicorn writes after its headers waited for the client's delayed
    ACK: 44 ms per request on Linux, whatever the work (every webhook call, every page, and
    every call to the local Bot API).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if os.name == "posix":  # as socket.create_server: rebind at once after a restart
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen()
    except BaseException:
        sock.close()
        raise
    return sock


@contextlib.asynccontextmanager
async def serving(
    app: ASGIApp, host: str, port: int, *, quiet: bool = False, **options: Any
) -> AsyncIterator[socket.socket]:
    """Serve `app` on host:port while the block runs; yield the listening socket.

    Port 0 picks a free one (read it from the socket). Raises OSError, before serving
    anything, if the address cannot be bound. `quiet` keeps uvicorn's start and stop lines
    out of the log (a stand-in for a remote service), warnings and errors still in;
    `options` go to `uvicorn.Config`. On leaving, the socket is closed and open connections
    are finished and closed.
    """
    # log_config=None: the program has set up logging (bot.logs); uvicorn must not redo it.
    config = uvicorn.Config(app, log_config=None, lifespan="off", access_log=False,
                            server_header=False, **options)
    sock = listening_socket(host, port)
    # access_log=False holds only until the logger is set up again (bot.logs lets uvicorn's
    # loggers propagate to its own handler, as a CLI command run beside this server does).
    logging.getLogger("uvicorn.access").addFilter(_no_access_lines)
    logging.getLogger("uvicorn.error").addFilter(_unless_quiet)
    server = _Server(config)
    context = contextvars.copy_context()  # what the server logs, it logs in this context
    context.run(_quiet.set, quiet)
    task = asyncio.create_task(server.serve(sockets=[sock]), context=context)
    try:
        while not server.started and not task.done():
            await asyncio.sleep(0.005)
        if not server.started:
            await task  # raises what stopped it
            raise OSError(f"the server on {host}:{port} did not start")
        yield sock
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
