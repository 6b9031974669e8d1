"""Serve the site with uvicorn inside an asyncio program until asked to stop."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable

from bot.config import Settings, WebSettings
from storage.db import Database
from web.serving import serving
from web.site import build_site

log = logging.getLogger(__name__)


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
    async with serving(build_site(db, settings, web), host, port,
                       proxy_headers=True) as sock:
        url = local_url(sock)
        log.info("web site at %s", url)
        if ready is not None:
            ready(url)
        await stop.wait()
