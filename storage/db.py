"""The database handle: one async engine and its sessions, for SQLite or PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import warnings
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import partial
from typing import Any, TypeVar

from sqlalchemy import (
    JSON,
    ColumnElement,
    Select,
    Table,
    any_,
    bindparam,
    event,
    func,
    literal_column,
    select,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, async_sessionmaker, create_async_engine
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lean, snapshot
from storage.snapshot import Snapshot
from storage.sqlite_inline import InlineDBAPI
from storage.version_feed import VersionFeed

T = TypeVar("T")

# SQLite has no decimal type; money round-trips through NUMERIC affinity, which is exact
# for the 2-decimal peso amounts this project stores.
warnings.filterwarnings("ignore", message=r".*does \*not\* support Decimal objects natively")

log = logging.getLogger(__name__)


def normalize_database_url(url: str) -> str:
    """Return the URL with the async driver this project uses for its backend."""
    if url.startswith("sqlite:"):
        return "sqlite+aiosqlite:" + url[len("sqlite:") :]
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url


def insert_for(conn: AsyncConnection, table: Table) -> postgresql.Insert | sqlite.Insert:
    """Return an INSERT on `table` in the connection's dialect, with its ON CONFLICT clauses
    (`on_conflict_do_nothing`, `on_conflict_do_update`: both backends spell them alike)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def per_dialect(build: Callable[[Callable[[Table], Any]], T]) -> dict[str, T]:
    """Build a statement once for each backend, from its dialect's `insert` (whose ON
    CONFLICT clauses both spell alike); pick it with `dialect_of(session)`."""
    return {"sqlite": build(sqlite.insert), "postgresql": build(postgresql.insert)}


def with_lists(build: Callable[[Callable[[ColumnElement[Any], str], ColumnElement[bool]]], T],
               ) -> dict[str, T]:
    """Build a statement once for each backend (pick it by the session's dialect) from
    `build(one_of)`, where `one_of(column, name)` is `column IN :name` with the list bound at
    each run: SQLAlchemy's own `in_` list is rewritten at each run, which the direct path
    cannot take. PostgreSQL: `= ANY(:name)`, an array; SQLite: the values of `:name` bound as
    a JSON array (`json_each`)."""
    return {dialect: build(partial(_one_of, dialect)) for dialect in ("postgresql", "sqlite")}


def _one_of(dialect: str, column: ColumnElement[Any], name: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return column == any_(bindparam(name, type_=postgresql.ARRAY(column.type)))
    values: Select[tuple[Any]] = select(literal_column("value")).select_from(
        func.json_each(bindparam(name, type_=JSON)))
    return column.in_(values.scalar_subquery())


def dialect_of(session: AsyncSession) -> str:
    """The name of the session's database kind (`sqlite`, `postgresql`), with no I/O."""
    return session.sync_session.get_bind().dialect.name


async def insert_if_absent(session: AsyncSession, table: Table, **values: Any) -> bool:
    """Insert the row unless one with the same unique key exists; return whether it was.

    For rows two updates may create at the same moment (a double tap, two instances):
    the loser finds the row instead of an error, so there is nothing to roll back and the
    rest of its unit of work stands.
    """
    conn = await connection_flushed(session)
    result = await conn.execute(insert_for(conn, table).values(**values).on_conflict_do_nothing())
    return result.rowcount == 1


async def connection_flushed(session: AsyncSession) -> AsyncConnection:
    """The session's connection, for Core statements, after writing the ORM's pending
    changes (so a statement sees them, as one run through the session would)."""
    await flush_pending(session)
    return await lean.connection(session)


async def flush_pending(session: AsyncSession) -> None:
    """Write what the ORM holds pending; nothing (no round trip) when it holds none."""
    if session.new or session.dirty or session.deleted:
        await session.flush()


# PostgreSQL connections an engine keeps open, and how many more a burst may open. Size the
# pool for the updates in flight at once: a connection opened past it is closed again as
# soon as it is returned, and opening one costs a dozen round trips (startup, types, every
# statement prepared anew). With 10, 16 people at a time made 60 connections in 12 seconds
# and PostgreSQL's p99 doubled (docs/benchmarks.md, session 21).
POOL_SIZE = 20
POOL_OVERFLOW = 10


class Database:
    """An async engine plus a session factory; built once at start, disposed at shutdown."""

    def __init__(
        self, url: str, *, echo: bool = False, sqlite_on_loop: bool = True, direct: bool = True,
        pool_size: int = POOL_SIZE,
    ) -> None:
        """`sqlite_on_loop`: run SQLite on the event loop's thread (`storage.sqlite_inline`),
        bulk statements excepted; False: aiosqlite's thread per connection. PostgreSQL
        ignores it. `direct`: the hottest statements straight to the driver (`storage.lean`);
        False: every statement through SQLAlchemy (tests compare the two). `pool_size`:
        PostgreSQL connections kept open (`POOL_SIZE`); SQLite ignores it."""
        self.url = normalize_database_url(url)
        self.is_sqlite = self.url.startswith("sqlite")
        kwargs: dict[str, Any] = {"echo": echo}
        busy_ms = SQLITE_BUSY_SECONDS * 1000
        if self.is_sqlite and sqlite_on_loop:  # a busy write waits with asyncio.sleep instead
            kwargs["module"] = InlineDBAPI(patience=SQLITE_BUSY_SECONDS)
            busy_ms = 0  # never block the loop
        elif self.is_sqlite:
            kwargs["connect_args"] = {"timeout": SQLITE_BUSY_SECONDS}
        else:
            kwargs.update(pool_size=pool_size, max_overflow=POOL_OVERFLOW)
        self.engine = create_async_engine(self.url, **kwargs)
        snapshot.watch(self.engine.sync_engine)
        lean.hold_back_writes()
        if self.is_sqlite:
            event.listen(self.engine.sync_engine, "connect", partial(_sqlite_pragmas, busy_ms))
            event.listen(self.engine.sync_engine, "checkin", _sqlite_back_to_normal)
        else:
            event.listen(self.engine.sync_engine, "checkin", _checked_in)
            event.listen(self.engine.sync_engine, "checkout", _ping_if_idle)
        self.snapshot = Snapshot()  # public data in memory (storage.snapshot)
        path = self.engine.url.database
        self.sqlite = (lean.SQLite(path, self.engine.dialect)
                       if direct and self.is_sqlite and sqlite_on_loop and path
                       and path != ":memory:" and not self.engine.url.query else None)
        lane = self.sqlite if self.is_sqlite or not direct else lean.Postgres(self.engine)
        # PostgreSQL's notifications keep the data versions (`storage.version_feed`)
        self.feed = None if self.is_sqlite or not direct else VersionFeed(
            self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False))
        self._sessions = async_sessionmaker(
            self.engine, class_=_Session, expire_on_commit=False,
            # `storage.lean` runs the hottest statements straight on the driver
            info={"snapshot": self.snapshot, "lean": lane, "feed": self.feed},
        )

    @asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """Yield the session of the running task's unit of work (`unit`), opening one for
        this block when the task has none: then it commits when the block ends well.

        Storage functions never commit: whoever opens the unit does, at its end, or by
        calling `commit()` before acting on what was written (the outbox sender before it
        hands a message to Telegram). A block that raises keeps nothing uncommitted.

        Blocks of one task share the unit's session, nested or one after another: a block
        that ends flushes what it added and forgets the objects it loaded (the next block
        reads afresh, as a new session would); a block that raises rolls the unit's
        uncommitted work back. A task started meanwhile has units of its own.
        """
        unit = _current_unit.get()
        if unit is None or unit.db is not self or unit.task is not asyncio.current_task():
            async with self.unit() as own, own.block() as session:
                yield session
            return
        async with unit.block() as session:
            yield session

    @asynccontextmanager
    async def unit(self) -> AsyncIterator[Unit]:
        """Share one session among every `session()` this task opens until the block ends.

        The session is opened at the first `session()`, committed by `Unit.commit` (the bot
        calls it before each Bot API request, so no transaction waits on Telegram) and once
        more at the end; an exception leaving the block rolls back what was not committed.
        """
        unit = Unit(self, asyncio.current_task())
        token = _current_unit.set(unit)
        try:
            yield unit
            await unit.commit()
        finally:
            _current_unit.reset(token)
            await unit.close()

    async def dispose(self) -> None:
        """Close every pooled connection, SQLite's own (`storage.lean.SQLite`) and the
        listening one."""
        if self.sqlite is not None:
            self.sqlite.close()
        if self.feed is not None:
            await self.feed.close()
        await self.engine.dispose()


class _Session(AsyncSession):
    """A session whose rollback also forgets the writes it held back (`lean.defer`), even
    when its transaction never began."""

    async def rollback(self) -> None:
        lean.drop_held_back(self)
        await super().rollback()


class Unit:
    """One task's shared session (`Database.unit`): opened lazily, committed by its owner."""

    def __init__(self, db: Database, task: asyncio.Task[Any] | None) -> None:
        self.db = db
        self.task = task
        self.session: AsyncSession | None = None
        self.sessions_opened = 0  # 0 or 1 (tests/storage/test_unit.py counts it)
        self._depth = 0

    @asynccontextmanager
    async def block(self) -> AsyncIterator[AsyncSession]:
        """Lend the session to one `Database.session()` block (blocks may nest)."""
        if self.session is None:
            self.session = self.db._sessions()
            self.sessions_opened += 1
        session = self.session
        self._depth += 1
        try:
            yield session
        except BaseException:
            await session.rollback()
            session.expunge_all()
            raise
        else:
            if self._depth == 1:
                await flush_pending(session)
                if session.sync_session.identity_map:  # (emptying an empty one costs 3 µs)
                    session.expunge_all()
        finally:
            self._depth -= 1

    async def commit(self) -> None:
        """Commit what the unit's blocks did so far and give the connection back.

        Only from the unit's own task: a task it started has its own sessions.
        """
        if self.session is not None and asyncio.current_task() is self.task:
            await _commit_if_sound(self.session)

    async def close(self) -> None:
        """Roll back anything uncommitted and release the session."""
        if self.session is not None:
            session, self.session = self.session, None
            sync = session.sync_session
            if sync.get_transaction() is not None or sync.identity_map:
                await session.close()  # (one that never began holds nothing to release)


async def _commit_if_sound(session: AsyncSession) -> None:
    """Commit the session's transaction; one that a failed statement spoiled (the failure
    caught and dealt with) is rolled back instead, as SQLAlchemy would insist."""
    transaction = session.get_transaction()
    if transaction is None:  # nothing began: only writes held back, if any
        if not await lean.write_held_back_alone(session):
            await session.connection()  # begins: the writes held back go first
            await session.commit()
        return
    if transaction.is_active:
        await session.commit()
    else:
        await session.rollback()


_current_unit: ContextVar[Unit | None] = ContextVar("cabildo_unit", default=None)


@asynccontextmanager
async def durably(session: AsyncSession) -> AsyncIterator[None]:
    """Commit what the block writes so that a power cut cannot undo it; the block must be
    the first to write in the session's transaction.

    SQLite runs with `synchronous=NORMAL` in WAL mode: a commit survives the process being
    killed, but reaches the disk only at the next checkpoint, so a power cut or an operating
    system crash can undo the last moments' writes. This block's commit waits for the disk
    (`synchronous=FULL`), and with it every earlier commit. For the few writes that must
    never come undone: the outbox marking a row «enviando» before Telegram gets it (undone,
    the row would be sent again). PostgreSQL commits durably anyway.
    """
    conn = await session.connection()
    if conn.dialect.name == "sqlite":
        # Only outside a transaction; the setting returns to NORMAL when the connection
        # goes back to the pool (`_sqlite_back_to_normal`).
        await conn.exec_driver_sql("PRAGMA synchronous=FULL")
        conn.info[_DURABLE] = True
    yield
    await session.commit()


async def commit_current_unit() -> None:
    """Commit the running task's unit of work, if it has one (before a slow call)."""
    unit = _current_unit.get()
    if unit is not None:
        await unit.commit()


SQLITE_BUSY_SECONDS = 30
# A pooled PostgreSQL connection unused this long is pinged before it is lent out.
PING_AFTER_IDLE_SECONDS = 1.0


def _checked_in(_dbapi_connection: Any, record: Any) -> None:
    record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    """Replace a pooled connection that died while it sat idle (the server restarted).

    SQLAlchemy's `pool_pre_ping` pings on every checkout: a round trip that cost 0.22 ms of
    CPU per session (a third of one). Under load a connection comes back within
    milliseconds, and when one dies in use SQLAlchemy drops every connection pooled before
    it; so only one idle for a while is pinged. Raising DisconnectionError makes the pool
    discard it and connect again.
    """
    checked_in = record.info.get("checked_in_at")
    if checked_in is None or time.monotonic() - checked_in < PING_AFTER_IDLE_SECONDS:
        return
    try:
        dbapi_connection.ping()
    except Exception as exc:
        raise DisconnectionError(str(exc)) from exc


def _sqlite_pragmas(busy_ms: int, dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        for pragma in lean.WRITER_PRAGMAS:
            cursor.execute(pragma)
        use_wal(cursor)
    finally:
        cursor.close()


_DURABLE = "cabildo_durable"


def _sqlite_back_to_normal(dbapi_connection: Any, record: Any) -> None:
    """Put a connection `durably` set to `synchronous=FULL` back to NORMAL as it returns to
    the pool (after SQLAlchemy rolled back what was left open). If that fails, the
    connection just keeps committing durably."""
    if not record.info.pop(_DURABLE, False):
        return
    try:
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()
    except Exception:  # slower commits on one connection, never wrong ones
        log.debug("a connection stays at synchronous=FULL", exc_info=True)


def use_wal(cursor: Any, *, patience: float = SQLITE_BUSY_SECONDS) -> None:
    """Put the SQLite file in WAL mode (readers never wait on the writer).

    The mode is stored in the file, so this only writes once. Switching takes a lock for
    which SQLite does not call the busy handler: several connections opening a new file at
    the same moment (two instances starting, a burst of sessions) would see "database is
    locked". So look first, and retry the switch while someone else holds the lock.
    """
    deadline = time.monotonic() + patience
    pause = 0.005
    while True:
        cursor.execute("PRAGMA journal_mode")
        if str(cursor.fetchone()[0]).lower() == "wal":
            return
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        time.sleep(pause)
        pause = min(pause * 2, 0.25)
