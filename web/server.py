"""Serve the site with uvicorn inside an asyncio program until asked to stop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable, Iterator

import uvicorn

from bot.config import Settings
from storage.db import Database
from web.settings import WebSettings
from web.site import build_site

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the program that runs it."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def bind(host: str, port: int) -> socket.socket:
    """Open the listening socket (port 0 picks a free one); OSError says why it failed."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def local_url(sock: socket.socket) -> str:
    """Return the http address a browser on this machine can open for `sock`."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", "::"):
        host = "127.0.0.1"
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


async def serve_site(
    db: Database,
    settings: Settings,
    host: str,
    port: int,
    stop: asyncio.Event,
    *,
    web: WebSettings | None = None,
    ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the site on host:port until `stop` is set; `ready` gets its local address.

    Raises OSError (before serving anything) if the address cannot be bound.
    """
    sock = bind(host, port)
    # log_config=None: the program has set up logging (bot.logs); uvicorn must not redo it.
    config = uvicorn.Config(build_site(db, settings, web), log_config=None,
                            lifespan="off", access_log=False, server_header=False,
                            proxy_headers=True)
    server = _Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started and not task.done():
            await asyncio.sleep(0.02)
        if server.started:
            url = local_url(sock)
            log.info("web site at %s", url)
            if ready is not None:
                ready(url)
        stopper = asyncio.create_task(stop.wait())
        await asyncio.wait({task, stopper}, return_when=asyncio.FIRST_COMPLETED)
        stopper.cancel()
    finally:
        server.should_exit = True
        with contextlib.suppress(asyncio.CancelledError):
            await task
        sock.close()
