"""PostgreSQL's data versions kept in memory, moved by its notifications (LISTEN).

Without this, every update that reads public data first reads the versions
(`storage.snapshot`): a round trip each. On PostgreSQL the versions' trigger notifies
`cabildo_data` at every write's commit (migration 0015); one connection per `Database`
listens, and the versions are read on it when it starts and after each notification.
Until that read is back, and whenever they may be stale, `current()` says None and the
update reads them itself, as without the feed:

- after a notification (a commit elsewhere: the CLI, the site, another instance);
- after this process wrote a public table, by any engine (`local_write`, called when the
  statement is sent and again when its connection goes back to the pool, after the
  commit), until versions read after that are in;
- while the listening connection is down (the database gone): it is opened again at the
  next read, at most every `RETRY_SECONDS`;
- `FRESH_SECONDS` after they were last read: a connection that died without a word (a
  network cut) delivers no notifications, so the versions are read again on it that
  often, and a dead connection is found within that time.

So an update never sees versions older than a commit this process made or was notified
of; a commit by another process is seen once its notification arrives (milliseconds on a
local network, `tests/storage/test_version_feed.py` bounds it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Any

log = logging.getLogger(__name__)

CHANNEL = "cabildo_data"
VERSIONS = "SELECT table_name, version FROM dataversion"
RETRY_SECONDS = 5.0
FRESH_SECONDS = 10.0
APPLICATION_NAME = "cabildo-versions"  # the listening connection, in pg_stat_activity

_local_writes = 0  # writes to public tables this process sent or committed


def local_write() -> None:
    """Say that this process wrote a public table: no versions read before count."""
    global _local_writes
    _local_writes += 1


class VersionFeed:
    """The versions of one database, as its notifications leave them."""

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._versions: dict[str, int] | None = None
        self._fence = -1  # `_local_writes` when `_versions` were read
        self._notified = 0  # notifications received (a read that overlaps one is not kept)
        self._conn: Any = None
        self._task: asyncio.Task[None] | None = None
        self._retry_at = 0.0
        self._read_at = 0.0
        self._closed = False
        self.reads = 0  # versions read on the listening connection (tests count them)

    def current(self) -> dict[str, int] | None:
        """The versions, or None when they may be stale (then read them yourself)."""
        if (self._versions is not None and self._fence == _local_writes
                and time.monotonic() - self._read_at < FRESH_SECONDS):
            return self._versions
        self._wake()
        return None

    def _wake(self) -> None:
        if self._closed or self._task is not None or time.monotonic() < self._retry_at:
            return
        self._task = asyncio.get_running_loop().create_task(self._catch_up())

    async def _catch_up(self) -> None:
        import asyncpg

        try:
            if self._conn is None or self._conn.is_closed():
                self._conn = await asyncpg.connect(
                    self.dsn, timeout=RETRY_SECONDS,
                    server_settings={"application_name": APPLICATION_NAME})
                self._conn.add_termination_listener(self._lost)
                await self._conn.add_listener(CHANNEL, self._on_notify)
            while not self._closed:
                seen, fence, started = self._notified, _local_writes, time.monotonic()
                rows = await self._conn.fetch(VERSIONS, timeout=RETRY_SECONDS)
                self.reads += 1
                if seen == self._notified:  # no notification arrived while reading
                    self._versions, self._fence = {r[0]: r[1] for r in rows}, fence
                    self._read_at = started
                    return
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
            log.debug("data versions: not listening (%r), read at each update", error)
            self._versions = None
            self._retry_at = time.monotonic() + RETRY_SECONDS
            await self._drop_connection()
        finally:
            self._task = None

    def _on_notify(self, _conn: Any, _pid: int, _channel: str, _payload: str) -> None:
        self._notified += 1
        self._versions = None
        self._wake()

    def _lost(self, _conn: Any) -> None:
        self._versions = None
        self._conn = None

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and not conn.is_closed():
            with contextlib.suppress(Exception):
                await conn.close(timeout=1)

    async def close(self) -> None:
        """Stop listening."""
        self._closed = True
        self._versions = None
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(BaseException):
                await task
        await self._drop_connection()
