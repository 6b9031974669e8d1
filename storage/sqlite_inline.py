"""SQLite on the event loop's own thread: SQLAlchemy's aiosqlite dialect, without the thread.

aiosqlite gives every connection a thread of its own and hands each call over to it and
back. For statements that take microseconds the hand-overs cost more than the work: about
17 per update, a quarter of the bot's CPU in issue #17's profile. Here the same dialect
(`sqlite+aiosqlite`, so SQL, types and migrations are unchanged) drives `sqlite3` directly,
on the thread that runs the loop.

What keeps the loop from ever blocking on a lock:

- SQLite never waits: its busy timeout is 0 (`Database` sets it). A write that finds the
  database locked — by another process (a second instance, a CLI import) or by a session
  of this one that holds its transaction across an `await` — gets SQLITE_BUSY at once.
- That statement is then retried after `asyncio.sleep`, with growing pauses, for up to
  `patience` seconds (the busy timeout's role): meanwhile the loop serves everyone else,
  and a holder in this process can finish. Only plain SQLITE_BUSY is retried, as SQLite's
  own busy handler would; a stale snapshot (SQLITE_BUSY_SNAPSHOT) fails as it did before.

Every other statement (reads in WAL mode never wait) simply runs to completion where it is
awaited, so a session's statements no longer interleave with other updates mid-way.

Bulk work is the exception: a statement carrying more than `BULK` parameters or rows (an
import's upserts, a broadcast's queued messages) and the rows of a result past the first
`BULK` run on a worker thread, as aiosqlite would run them, so the loop keeps serving people
while SQLite works. What one person's update runs never gets that big.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar, cast

import aiosqlite
from sqlalchemy.dialects.sqlite.aiosqlite import (
    AsyncAdapt_aiosqlite_connection,
    AsyncAdapt_aiosqlite_cursor,
    AsyncAdapt_aiosqlite_dbapi,
)

T = TypeVar("T")

# SQLITE_BUSY and SQLITE_BUSY_RECOVERY: someone else holds the lock for now.
_RETRIED = {sqlite3.SQLITE_BUSY, sqlite3.SQLITE_BUSY | (1 << 8)}
_FIRST_PAUSE, _LONGEST_PAUSE = 0.001, 0.05
# Parameters of one statement, rows of one executemany or of one result: above this it is
# bulk work, run on a worker thread.
BULK = 256


async def off_loop(call: Callable[..., T], *args: Any) -> T:
    """Run `call` on a worker thread; if the caller is cancelled, still wait for it to end
    (the connection must not be closed or used again while SQLite works on it)."""
    running = asyncio.ensure_future(asyncio.to_thread(call, *args))
    try:
        return await asyncio.shield(running)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            await running
        raise


async def patiently(call: Callable[..., T], *args: Any, patience: float,
                    bulk: bool = False) -> T:
    """Run `call` (`bulk`: on a worker thread); while SQLite says busy, pause without
    blocking and run it again."""
    deadline: float | None = None
    pause = _FIRST_PAUSE
    while True:
        try:
            return await off_loop(call, *args) if bulk else call(*args)
        except sqlite3.OperationalError as error:
            if getattr(error, "sqlite_errorcode", None) not in _RETRIED:
                raise
            now = time.monotonic()
            if deadline is None:
                deadline = now + patience
            elif now >= deadline:
                raise
        await asyncio.sleep(pause)
        pause = min(pause * 2, _LONGEST_PAUSE)


class Cursor:
    """The part of aiosqlite's cursor that SQLAlchemy's adapter calls, run in place."""

    def __init__(self, cursor: sqlite3.Cursor, patience: float) -> None:
        self._cursor = cursor
        self._patience = patience

    async def __aenter__(self) -> Cursor:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Sequence[Any] | dict[str, Any] = ()) -> Cursor:
        await patiently(self._cursor.execute, sql, parameters, patience=self._patience,
                        bulk=len(parameters) > BULK)
        return self

    async def executemany(self, sql: str, rows: Iterable[Any]) -> Cursor:
        rows = list(rows)  # a retry must see every row again
        await patiently(self._cursor.executemany, sql, rows, patience=self._patience,
                        bulk=len(rows) > BULK)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        size = size if size is not None else self._cursor.arraysize
        if size > BULK:  # a batch of a streamed result
            return await off_loop(self._cursor.fetchmany, size)
        return self._cursor.fetchmany(size)

    async def fetchall(self) -> list[Any]:
        rows = self._cursor.fetchmany(BULK)
        if len(rows) < BULK:
            return rows
        return rows + await off_loop(self._cursor.fetchall)

    async def setinputsizes(self, *sizes: Any) -> None:
        """Nothing to do (sqlite3 ignores input sizes)."""

    async def close(self) -> None:
        self._cursor.close()


class Connection:
    """The part of aiosqlite's connection that SQLAlchemy's adapter calls, run in place."""

    def __init__(self, connection: sqlite3.Connection, patience: float) -> None:
        self._connection: sqlite3.Connection | None = connection
        self._patience = patience

    @property
    def sqlite(self) -> sqlite3.Connection | None:
        """The open `sqlite3` connection, None once closed (`storage.lean` reads on it)."""
        return self._connection

    @property
    def _live(self) -> sqlite3.Connection:
        if self._connection is None:
            raise sqlite3.ProgrammingError("Cannot operate on a closed database.")
        return self._connection

    @property
    def isolation_level(self) -> str | None:
        return self._live.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._live.isolation_level = value

    def cursor(self) -> Cursor:
        return Cursor(self._live.cursor(), self._patience)

    async def commit(self) -> None:
        await patiently(self._live.commit, patience=self._patience)

    async def rollback(self) -> None:
        self._live.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._live.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        """Close at once (SQLAlchemy's forced terminate; nothing runs elsewhere to stop)."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def _busy(error: sqlite3.OperationalError) -> bool:
    return getattr(error, "sqlite_errorcode", None) in _RETRIED


class _InPlaceCursor(AsyncAdapt_aiosqlite_cursor):
    """SQLAlchemy's adapter cursor, opening and closing the `sqlite3` cursor in place.

    The adapter awaits every call from inside SQLAlchemy's greenlet (two greenlet switches
    and a coroutine each); here only the statement itself is awaited (SQLAlchemy insists
    on one await a statement, and a busy database or bulk work may truly wait).
    """

    __slots__ = ()
    _awaitable_cursor_close = False

    def _aenter_cursor(self, cursor: Any) -> Any:
        return cursor  # `Cursor.__aenter__` does nothing

    def close(self) -> None:
        self._rows.clear()
        self._cursor._cursor.close()  # type: ignore[attr-defined]


class _AdaptedConnection(AsyncAdapt_aiosqlite_connection):
    """SQLAlchemy's aiosqlite adapter, minus the one setter that reaches into its thread,
    with cursors opened and closed in place."""

    __slots__ = ()
    _cursor_cls = _InPlaceCursor


class InlineDBAPI(AsyncAdapt_aiosqlite_dbapi):
    """The DBAPI module the aiosqlite dialect is given (`create_async_engine(module=…)`)."""

    def __init__(self, *, patience: float) -> None:
        super().__init__(aiosqlite, sqlite3)
        self.patience = patience

    def connect(self, *args: Any, **kwargs: Any) -> _AdaptedConnection:
        """Open the file on this thread; SQLite itself never waits for a lock."""
        kwargs.pop("async_creator_fn", None)
        kwargs.update(timeout=0, check_same_thread=False)
        connection = sqlite3.connect(*args, **kwargs)
        # It speaks the asyncio DBAPI protocol the adapter expects (typed loosely there).
        return _AdaptedConnection(self, cast(Any, Connection(connection, self.patience)))

