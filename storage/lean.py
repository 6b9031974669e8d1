"""The hottest statements straight on the driver, past SQLAlchemy's execution machinery.

Every update reads the person's pending step (`storage.conversations`), and most read the
versions of the public data (`storage.snapshot`). Through SQLAlchemy's async path such a
read costs about 250 µs of CPU; the database's own work is a fraction of that. Only
prebuilt statements take this path, with SQLAlchemy's own compiled SQL and its types'
converters (JSON, timestamps); anything else, and any failure, goes SQLAlchemy's way.

- SQLite on the event loop's thread (`storage.sqlite_inline`): reads and writes run on the
  same `sqlite3` connection as the session, in its transaction; a session that has not
  begun reads on a connection of its own (`SQLite`) instead, and so never begins for them.
  A write calls the engine's `before_cursor_execute` listeners (the snapshot forgets the
  versions it read). aiosqlite's thread keeps SQLAlchemy's path.
- PostgreSQL (`Postgres`): reads go to asyncpg on the session's connection once the session
  began, and on a connection borrowed from the pool for that one read before, so an update
  that only reads never sends BEGIN or COMMIT. Writes keep SQLAlchemy's path, which begins
  the transaction and reports failures as SQLAlchemy errors.
- On both, the person's own idempotent writes (the pending step, the last visit) are held
  back (`defer`) until the transaction begins for something else, or the commit: an update
  whose only write it is sends it alone, committed by itself, and never opens a session
  (PostgreSQL, measured: 0.3 ms of CPU instead of 1.3, one round trip instead of three;
  SQLite: one statement on a connection in autocommit mode instead of a session's begin,
  statement and commit through SQLAlchemy's greenlet).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy import (
    CompoundSelect,
    Delete,
    Float,
    Insert,
    Select,
    TextClause,
    Update,
    event,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlalchemy.orm import configure_mappers
from sqlalchemy.orm.instrumentation import ClassManager, manager_of_class
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.sql import TableClause
from sqlalchemy.sql.sqltypes import NumericCommon
from sqlalchemy.sql.util import find_tables
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlalchemy.util import greenlet_spawn
from sqlmodel import Session, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.sqlite_inline import Connection as InlineConnection

Convert = Callable[[Any], Any] | None
Query = Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]] | TextClause
Write = Insert | Update | Delete
M = TypeVar("M", bound=SQLModel)


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...]  # the bound parameters, in the order of the `?`s
    fixed: dict[str, Any]  # the values the statement itself binds (`kind == "comuna"`)
    converters: tuple[Convert, ...]  # one per column; None: as sqlite3 returns it
    binders: tuple[Convert, ...] = ()  # one per parameter; None: as given
    reads: frozenset[str] | None = None  # the tables a SELECT reads (None: not known)

    def arguments(self, params: Mapping[str, Any]) -> tuple[Any, ...]:
        given = {**self.fixed, **params}
        if not self.binders:
            return tuple(given[n] for n in self.names)
        return tuple(given[n] if b is None else b(given[n])
                     for n, b in zip(self.names, self.binders, strict=True))


# By statement and dialect: a process may hold databases of both kinds (the benchmark does).
_PLANS: dict[tuple[int, str], tuple[object, _Plan | None]] = {}
_NUMERIC, _FLOAT8 = 1700, 701  # PostgreSQL's type ids


_CONNECTION = "cabildo.connection"  # (transaction, connection) of the session's last lookup


async def connection(session: AsyncSession) -> AsyncConnection:
    """The session's connection, beginning its transaction if needed: `session.connection()`
    but without a trip through SQLAlchemy's greenlet while the same transaction holds it
    (each trip costs about 40 µs, and an update made several)."""
    transaction = session.sync_session.get_transaction()
    kept = session.info.get(_CONNECTION)
    if kept is not None and transaction is not None and kept[0] is transaction and (
            transaction.is_active and not kept[1].closed and not kept[1].invalidated):
        return kept[1]
    conn = await session.connection()
    session.info[_CONNECTION] = (session.sync_session.get_transaction(), conn)
    return conn


async def rows(
    session: AsyncSession, statement: Query, params: Mapping[str, Any]
) -> list[tuple[Any, ...]]:
    """Return the rows of a prebuilt SELECT, converted as SQLAlchemy converts them: straight
    from the driver where it can (see the module doc), through the session otherwise.

    `statement` must live as long as the process (a module constant): its plan is kept.
    """
    found = await _direct(session, statement, params)
    if found is None:
        conn = await connection(session)
        found = [tuple(row) for row in await conn.execute(statement, dict(params))]
    return found


async def _direct(
    session: AsyncSession, statement: Query, params: Mapping[str, Any]
) -> list[tuple[Any, ...]] | None:
    """The rows straight from the driver; None when this database or statement cannot."""
    lane: SQLite | Postgres | None = session.info.get("lean")
    if isinstance(lane, Postgres):
        return await _direct_postgres(session, lane, statement, params)
    if isinstance(lane, SQLite):
        return await _direct_sqlite(session, lane, statement, params)
    return None


async def _direct_sqlite(
    session: AsyncSession, reader: SQLite, statement: Query, params: Mapping[str, Any]
) -> list[tuple[Any, ...]] | None:
    plan = _plan(statement, reader.dialect)
    if plan is None:
        return None
    if session.in_transaction() or _reads_held_back(session, plan):  # it may have written:
        conn = await connection(session)  # read in its transaction (it begins: they go first)
        driver = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
        sqlite = driver.sqlite if isinstance(driver, InlineConnection) else None
    else:  # nothing of its own to see: no need to begin one
        sqlite = reader.connection()
    if sqlite is None:
        return None
    try:
        found = sqlite.execute(plan.sql, plan.arguments(params)).fetchall()
    except sqlite3.OperationalError:
        return None  # busy (it waits there) or worse (it is reported there)
    return _converted(plan, found)


async def _direct_postgres(
    session: AsyncSession, lane: Postgres, statement: Query, params: Mapping[str, Any]
) -> list[tuple[Any, ...]] | None:
    """On the session's connection once it began (in its transaction once it wrote); before,
    on a connection borrowed from the pool for this one read: what a transaction at READ
    COMMITTED would see, and the session never begins."""
    plan = _plan(statement, lane.dialect)
    if plan is None:
        return None
    if session.in_transaction() or _reads_held_back(session, plan):  # (it begins: they go
        conn = await connection(session)  # first in it)
        return await _fetch(conn.sync_connection.connection, plan, params)  # type: ignore[union-attr]
    pooled = await lane.engine.raw_connection()
    try:
        found = await _fetch(pooled, plan, params)
    except BaseException:  # cancelled in the middle: what the connection is doing is unknown
        await greenlet_spawn(pooled.invalidate)
        raise
    await greenlet_spawn(pooled.close)  # the pool may close it (an overflow): that awaits
    return found


async def _fetch(
    pooled: PoolProxiedConnection, plan: _Plan, params: Mapping[str, Any]
) -> list[tuple[Any, ...]] | None:
    try:
        async with pooled.dbapi_connection._execute_mutex:  # type: ignore[union-attr]
            records = await pooled.driver_connection.fetch(  # type: ignore[union-attr]
                plan.sql, *plan.arguments(params))
    except Exception:  # SQLAlchemy's path runs it again and reports what fails
        return None
    return _converted(plan, [tuple(record) for record in records])


def _converted(plan: _Plan, found: list[Any]) -> list[tuple[Any, ...]]:
    if not any(plan.converters):
        return found
    return [tuple(v if c is None else c(v) for c, v in zip(plan.converters, row, strict=True))
            for row in found]


async def execute(session: AsyncSession, statement: Write, params: Mapping[str, Any]) -> int:
    """Run a prebuilt INSERT, UPDATE or DELETE in the session's transaction (beginning it);
    return how many rows it changed. Straight on `sqlite3` where it can (see the module
    doc); the engine's `before_cursor_execute` listeners are called as for any statement.

    `statement` must live as long as the process (a module constant): its plan is kept.
    """
    conn = await connection(session)
    reader: SQLite | Postgres | None = session.info.get("lean")
    if isinstance(reader, SQLite):
        sync = conn.sync_connection
        driver = sync.connection.driver_connection  # type: ignore[union-attr]
        sqlite = driver.sqlite if isinstance(driver, InlineConnection) else None
        plan = _plan(statement, reader.dialect) if sqlite is not None else None
        if sqlite is not None and plan is not None:
            arguments = plan.arguments(params)
            sync.dispatch.before_cursor_execute(  # type: ignore[union-attr]
                sync, None, plan.sql, arguments, None, False)
            try:
                return sqlite.execute(plan.sql, arguments).rowcount
            except sqlite3.OperationalError:
                pass  # busy: SQLAlchemy's path waits its turn (`sqlite_inline.patiently`)
    result = await conn.execute(statement, dict(params))
    return int(result.rowcount or 0)


async def objects(
    session: AsyncSession, model: type[M], statement: Select[*tuple[Any, ...]],
    params: Mapping[str, Any],
) -> list[M]:
    """`rows` of a prebuilt SELECT of `model`'s table, as objects no session holds (a
    change to one is written by a statement, never by `session.add`)."""
    names = statement.selected_columns.keys()
    return [built(model, dict(zip(names, row, strict=True)))
            for row in await rows(session, statement, params)]


_MANAGERS: dict[type[Any], ClassManager[Any]] = {}


def built(model: type[M], values: Mapping[str, Any]) -> M:
    """A `model` object holding a row's values as the database gave them (converted), no
    session holding it: without pydantic's validation, which costs ten times the read
    (220 µs for a work, against 20)."""
    manager = _MANAGERS.get(model)
    if manager is None:
        configure_mappers()  # an object's attributes work once the mappers are configured
        manager = _MANAGERS[model] = manager_of_class(model)
    made = model.model_construct(**values)
    manager.setup_instance(made)
    return made


class Postgres:
    """Marks a PostgreSQL session (asyncpg) whose prebuilt statements go straight to the
    driver; `engine` lends a connection to a read made before the session began."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine
        self.dialect = engine.dialect


# How every SQLite connection that writes is set (`storage.db` sets the engine's the same).
WRITER_PRAGMAS = ("PRAGMA foreign_keys=ON", "PRAGMA synchronous=NORMAL")  # see `db.durably`


class SQLite:
    """Marks a SQLite session on the loop's thread; holds two `sqlite3` connections of its
    own, for what a session that has not begun does.

    Reads (`connection`): an update whose reads are all of this kind (a menu tap: is a step
    pending? the goal tree from memory) then never opens a session: no connection out of
    the pool, no transaction, no commit. Reads only (`query_only`), each a transaction of
    its own; it sees what was committed, which is all a session that has not begun could
    see. The lone write held back (`writer`): one statement in autocommit mode, atomic by
    itself. Both on the loop's thread like every other statement here, and never waiting
    for a lock (a busy database sends the write SQLAlchemy's patient way).
    """

    def __init__(self, path: str, dialect: Dialect) -> None:
        self.path = path
        self.dialect = dialect
        self._reads: sqlite3.Connection | None = None
        self._writes: sqlite3.Connection | None = None

    def connection(self) -> sqlite3.Connection | None:
        """The connection for reads (opened at first use); None when the file cannot be
        read."""
        if self._reads is None:
            self._reads = self._open("PRAGMA query_only=ON")
        return self._reads

    def writer(self) -> sqlite3.Connection | None:
        """The connection for a lone write (opened at first use), set as the engine sets
        its own (`storage.db`); None when the file cannot be opened."""
        if self._writes is None:
            self._writes = self._open(*WRITER_PRAGMAS)
        return self._writes

    def _open(self, *pragmas: str) -> sqlite3.Connection | None:
        try:
            opened = sqlite3.connect(self.path, timeout=0, isolation_level=None,
                                     check_same_thread=False)
            for pragma in pragmas:
                opened.execute(pragma)
        except sqlite3.Error:
            return None
        return opened

    def close(self) -> None:
        """Close the connections (they open again if used)."""
        for opened in (self._reads, self._writes):
            if opened is not None:
                opened.close()
        self._reads = self._writes = None


def _plan(statement: Query | Write, dialect: Dialect) -> _Plan | None:
    key = (id(statement), dialect.name)
    kept = _PLANS.get(key)
    if kept is not None and kept[0] is statement:
        return kept[1]
    plan = _compile(statement, dialect)
    _PLANS[key] = (statement, plan)
    return plan


def _compile(statement: Query | Write, dialect: Dialect) -> _Plan | None:
    compiled = statement.compile(dialect=dialect)
    if compiled.post_compile_params or compiled.literal_execute_params:
        return None  # IN lists that SQLAlchemy expands at each run
    names = tuple(compiled.positiontup or ())
    binders = tuple(compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect)
                    for n in names)
    fixed = {n: compiled.binds[n].value for n in names if not compiled.binds[n].required}
    if not any(binders):
        binders = ()
    if isinstance(statement, Insert | Update | Delete):
        return _Plan(compiled.string, names, fixed, (), binders)
    if isinstance(statement, TextClause):
        return _Plan(compiled.string, names, fixed, (), binders)
    try:
        converters = tuple(_converter(c.type, dialect) for c in statement.selected_columns)
    except TypeError:  # a converter chosen by a type on the wire that the column does not
        return None  # tell: only SQLAlchemy's cursor knows it
    reads = frozenset(t.name for t in find_tables(statement, check_columns=True,
                                                  include_aliases=True)
                      if isinstance(t, TableClause))
    return _Plan(compiled.string, names, fixed, converters, binders, reads)


def _converter(declared: TypeEngine[Any], dialect: Dialect) -> Convert:
    impl = declared.dialect_impl(dialect)
    base = impl.impl_instance if isinstance(impl, TypeDecorator) else impl
    if isinstance(base, NumericCommon):  # asyncpg's picks by the type on the wire, which is the
        # one the column was created with: DOUBLE PRECISION for a Float, else NUMERIC
        wire = _FLOAT8 if isinstance(base, Float) else _NUMERIC
        return impl.result_processor(dialect, wire)
    return impl.result_processor(dialect, None)


# --- writes that wait for the commit --------------------------------------------------

_DEFERRED = "cabildo.deferred"  # the writes `defer` holds back, in order


async def defer(session: AsyncSession, statement: Write, params: Mapping[str, Any]) -> None:
    """Run a prebuilt write that must be idempotent (an upsert, a DELETE by key) of the
    person's own rows (never public data: the snapshot is not told) in the session's
    transaction, but only when the transaction begins for another statement, or at the
    commit: an update whose only write it is then sends it alone, committed by itself, and
    never begins a transaction (on PostgreSQL it spares BEGIN and COMMIT, two of an
    answered question's six round trips). Whatever the session runs or reads next sees it
    first.
    """
    if not isinstance(session.info.get("lean"), Postgres | SQLite) or session.in_transaction():
        await execute(session, statement, params)
        return
    session.info.setdefault(_DEFERRED, []).append((statement, dict(params)))


def held_back(session: AsyncSession | Session) -> bool:
    """Tell whether the session holds writes back (`defer`)."""
    return bool(session.info.get(_DEFERRED))


def _reads_held_back(session: AsyncSession, plan: _Plan) -> bool:
    """Tell whether the read may see a table the session holds writes back for."""
    writes = session.info.get(_DEFERRED)
    if not writes:
        return False
    return plan.reads is None or any(w.table.name in plan.reads for w, _ in writes)


def drop_held_back(session: AsyncSession | Session) -> None:
    """Forget the writes held back (the unit rolls back)."""
    session.info.pop(_DEFERRED, None)


async def write_held_back_alone(session: AsyncSession) -> bool:
    """For a session whose transaction never began: write its one held-back write alone on
    a pooled connection, committed by itself; say whether nothing is held back now. More
    than one, or a lone write that failed there, are left to the caller to write in a
    transaction (the write is idempotent: SQLAlchemy's path runs it again and reports what
    fails)."""
    writes = session.info.get(_DEFERRED)
    if not writes:
        return True
    if len(writes) == 1:
        statement, params = writes[0]
        if await _alone(session, statement, params) is not None:
            session.info.pop(_DEFERRED, None)
            return True
    return False


async def execute_alone(session: AsyncSession, statement: Write, params: Mapping[str, Any]) -> int:
    """`execute`, but committed by itself at once when the session's transaction has not
    begun (one round trip, no BEGIN or COMMIT; the writes held back stay held back): only
    for a write whose effect stands on its own, which nothing the unit does later needs to
    undo with it, and never to public data (the snapshot is not told). Return how many rows
    it changed.
    """
    writes = session.info.get(_DEFERRED) or ()
    table = statement.table
    mine = table.name if isinstance(table, TableClause) else None
    if mine is not None and not session.in_transaction() and not any(
            w.table.name == mine for w, _ in writes):  # (held back for its table: they go first)
        changed = await _alone(session, statement, params)
        if changed is not None:
            return changed
    return await execute(session, statement, params)


async def _alone(session: AsyncSession, statement: Write, params: Mapping[str, Any]) -> int | None:
    """Run the write committed by itself, outside the session; how many rows it changed, or
    None when it cannot (the caller runs it SQLAlchemy's way, which reports what fails)."""
    lane = session.info.get("lean")
    if not isinstance(lane, Postgres | SQLite):
        return None
    plan = _plan(statement, lane.dialect)
    if plan is None:
        return None
    if isinstance(lane, SQLite):
        return _alone_sqlite(lane, plan, params)
    return await _alone_postgres(lane, plan, params)


def _alone_sqlite(lane: SQLite, plan: _Plan, params: Mapping[str, Any]) -> int | None:
    writer = lane.writer()
    if writer is None:
        return None
    try:
        return writer.execute(plan.sql, plan.arguments(params)).rowcount
    except sqlite3.Error:  # busy (SQLAlchemy's path waits its turn) or worse (it reports it)
        return None


async def _alone_postgres(lane: Postgres, plan: _Plan, params: Mapping[str, Any]) -> int | None:
    pooled = await lane.engine.raw_connection()  # fails as SQLAlchemy's path would
    try:
        async with pooled.dbapi_connection._execute_mutex:  # type: ignore[union-attr]
            status = await pooled.driver_connection.execute(  # type: ignore[union-attr]
                plan.sql, *plan.arguments(params))
    except BaseException as error:  # what the connection is doing is unknown
        await greenlet_spawn(pooled.invalidate)
        if not isinstance(error, Exception):
            raise
        return None
    await greenlet_spawn(pooled.close)
    return int(status.rsplit(" ", 1)[-1])  # «INSERT 0 1», «UPDATE 1», «DELETE 0»


def _write_held_back(session: Session, _transaction: Any, connection: Any) -> None:
    """As the session's transaction begins, run the writes held back, first thing in it."""
    writes = session.info.pop(_DEFERRED, None)
    for statement, params in writes or ():
        connection.execute(statement, params)


def _begin_for_held_back(session: Session) -> None:
    """A commit called on a session that holds writes back and never began: begin it, so
    they are written (`_write_held_back`) and committed with it."""
    if session.info.get(_DEFERRED):
        session.connection()


def hold_back_writes() -> None:
    """Install `defer`'s listeners on every session (once)."""
    if not event.contains(Session, "after_begin", _write_held_back):
        event.listen(Session, "after_begin", _write_held_back)
        event.listen(Session, "before_commit", _begin_for_held_back)
