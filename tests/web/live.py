"""Serve the site with uvicorn in a background thread (its own event loop), for a browser."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from bot.config import Settings, WebSettings
from storage.db import Database
from web.server import serve_site

START_TIMEOUT_S = 30


class _Runner:
    """The thread's state: its loop, the stop event, the address or the failure."""

    def __init__(self) -> None:
        self.ready = threading.Event()
        self.loop: asyncio.AbstractEventLoop | None = None
        self.stop: asyncio.Event | None = None
        self.url: str | None = None
        self.error: BaseException | None = None

    def started(self, url: str) -> None:
        self.url = url
        self.ready.set()


@contextmanager
def serving(database_url: str, settings: Settings, web: WebSettings) -> Iterator[str]:
    """Serve the site on a free 127.0.0.1 port; yield its address without the final `/`."""
    runner = _Runner()

    async def main() -> None:
        db = Database(database_url)
        runner.loop, runner.stop = asyncio.get_running_loop(), asyncio.Event()
        try:
            await serve_site(db, settings, "127.0.0.1", 0, runner.stop, web=web,
                             ready=runner.started)
        except BaseException as exc:
            runner.error = exc
            raise
        finally:
            await db.dispose()
            runner.ready.set()

    thread = threading.Thread(target=lambda: asyncio.run(main()), daemon=True)
    thread.start()
    assert runner.ready.wait(START_TIMEOUT_S), "the site did not start"
    assert runner.url is not None, f"the site failed: {runner.error!r}"
    try:
        yield runner.url.rstrip("/")
    finally:
        if runner.loop is not None and runner.stop is not None:
            runner.loop.call_soon_threadsafe(runner.stop.set)
        thread.join(START_TIMEOUT_S)
