"""Read-mostly public data held in memory, read again when the database says it changed.

Comunas, the goal tree and the survey definitions change only on an import or a staff
edit, yet citizens' taps read them all day. Each `Database` keeps a `Snapshot`: what a
loader read, with the versions of the tables it read (`dataversion`, moved by a trigger on
every write, migration 0014). A read costs one small query for the versions (once a
transaction, `watch`); the loader runs again only when one moved, so an import by the CLI,
the site or another instance is seen at the next read, and a write rolled back never
leaves its data behind (the versions are random, never reused). On PostgreSQL the versions
come from its notifications instead (`storage.version_feed`), with no query, whenever
they are known to be current.

What a loader returns is shared by every reader: built from plain rows, never attached to
a session, and never to be changed. Staff tools that edit a row read it from the session.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from sqlalchemy import Connection, Engine, Table, column, event, select, table
from sqlmodel import Session, SQLModel
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lean
from storage.version_feed import VersionFeed, local_write

T = TypeVar("T")
M = TypeVar("M", bound=SQLModel)

Loader = Callable[[AsyncSession], Awaitable[T]]
VERSIONS = "SELECT table_name, version FROM dataversion"
_TABLE = table("dataversion", column("table_name"), column("version"))
_VERSIONS = select(_TABLE.c.table_name, _TABLE.c.version)  # VERSIONS, as a statement
_READ = "cabildo.data_versions"  # the versions a connection read in its transaction
_OUTSIDE = "cabildo.data_versions_outside"  # (when, versions) a session read before it began
OUTSIDE_SECONDS = 1.0
_WROTE = "cabildo.wrote_public"  # the connection wrote a public table since it was lent
_TRACKED: set[str] = set()  # the tables that have a version, once read


class Snapshot:
    """What the loaders read from one database, by loader, with the versions it was read at."""

    def __init__(self) -> None:
        self.held: dict[Callable[..., Any], tuple[tuple[int, ...], Any]] = {}
        self.loads = 0  # how many times a loader ran (tests and the benchmark read it)


async def held(session: AsyncSession, load: Loader[T], tables: Sequence[str]) -> T:
    """Return what `load` reads from `tables`, from memory while none of them changed.

    A session that no `Database` opened (no snapshot in its `info`) reads every time.
    """
    snapshot: Snapshot | None = session.info.get("snapshot")
    if snapshot is None:
        return await load(session)
    versions = await _versions(session)
    if any(t not in versions for t in tables):  # a schema without the triggers
        return await load(session)
    key = tuple(versions[t] for t in tables)
    kept = snapshot.held.get(load)
    if kept is not None and kept[0] == key:
        return kept[1]
    value = await load(session)
    snapshot.loads += 1
    snapshot.held[load] = (key, value)
    return value


async def _versions(session: AsyncSession) -> dict[str, int]:
    """The tables' versions: on PostgreSQL from its notifications (`storage.version_feed`)
    unless this transaction wrote a public table; else read once a transaction (`watch`);
    a session that has not begun reads them on `storage.lean`'s direct path and keeps them
    for at most `OUTSIDE_SECONDS`, then in its transaction once it begins
    (`_carry_outside`)."""
    feed: VersionFeed | None = session.info.get("feed")
    if session.in_transaction():
        conn = await lean.connection(session)
        if feed is not None and not conn.info.get(_WROTE):
            notified = feed.current()
            if notified is not None:
                return notified
        kept: dict[str, int] | None = conn.info.get(_READ)
        if kept is not None:
            return kept
    else:
        notified = feed.current() if feed is not None else None
        if notified is not None:
            return notified
        outside: tuple[float, dict[str, int]] | None = session.info.get(_OUTSIDE)
        if outside is not None and time.monotonic() - outside[0] < OUTSIDE_SECONDS:
            return outside[1]
    versions = {name: version for name, version in await lean.rows(session, _VERSIONS, {})}
    _TRACKED.update(versions)
    if session.in_transaction():  # begun before, or by this read
        (await lean.connection(session)).info[_READ] = versions
    else:
        session.info[_OUTSIDE] = (time.monotonic(), versions)
    return versions


def watch(engine: Engine) -> None:
    """Let a connection reuse the versions it read until it writes or its transaction ends.

    One update may read several kinds (a survey tap: the survey, then its questions); the
    versions are read once. A write forgets them (it may move one) unless it writes a table
    that has none (a survey answer, a pending step); so do a commit and a rollback. Reads
    later in the same transaction may see newer rows than the versions say (PostgreSQL
    reads what was committed meanwhile): what is then kept under the older versions is read
    again at the next fresh look.
    """
    event.listen(engine, "before_cursor_execute", _forget_on_write)
    event.listen(engine, "commit", _forget)
    event.listen(engine, "rollback", _forget)
    event.listen(engine, "checkin", _forget_on_return)
    if not event.contains(Session, "after_begin", _carry_outside):
        event.listen(Session, "after_begin", _carry_outside)


def _carry_outside(session: Session, _transaction: Any, connection: Connection) -> None:
    """The versions a session read before it began go on with its transaction, where a
    write forgets them as any read there (they are no older than the session may keep
    them outside)."""
    outside: tuple[float, dict[str, int]] | None = session.info.pop(_OUTSIDE, None)
    if outside is not None and time.monotonic() - outside[0] < OUTSIDE_SECONDS:
        connection.info.setdefault(_READ, outside[1])


def _forget_on_write(conn: Connection, _cursor: Any, statement: str, *_: Any) -> None:
    if statement.startswith("SELECT"):
        return
    kept: dict[str, int] | None = conn.info.get(_READ)
    table = written_table(statement)
    if table is None or not _TRACKED or table in _TRACKED:  # a public table, or may be
        local_write()  # the feed's versions no longer count: now, and after the commit
        conn.info[_WROTE] = True
    if kept is not None and table is not None and table not in kept:
        return  # a table without a version (a response, a step): the versions stand
    conn.info.pop(_READ, None)


def written_table(statement: str) -> str | None:
    """The table an INSERT, UPDATE or DELETE writes; None for any other statement."""
    words = statement.split(None, 3)
    if len(words) > 2 and (words[0], words[1]) in (("INSERT", "INTO"), ("DELETE", "FROM")):
        return words[2].strip('"')
    if len(words) > 1 and words[0] == "UPDATE":
        return words[1].strip('"')
    return None


def _forget(conn: Connection) -> None:
    # An invalidated connection (the database went away) has lost its `info` with it, and
    # reaching for it would try to reconnect in the middle of the rollback.
    if not conn.invalidated and not conn.closed:
        conn.info.pop(_READ, None)


def _forget_on_return(_dbapi_connection: Any, record: Any) -> None:
    record.info.pop(_READ, None)
    if record.info.pop(_WROTE, False):
        local_write()  # back in the pool: committed (or rolled back) by now


async def rows_of(session: AsyncSession, model: type[M], *order: Any) -> list[M]:
    """Read a whole table as detached model objects (no session holds them)."""
    table: Table = model.__table__  # type: ignore[attr-defined]
    conn = await session.connection()
    result = await conn.execute(select(table).order_by(*order))
    return [lean.built(model, dict(row)) for row in result.mappings()]
