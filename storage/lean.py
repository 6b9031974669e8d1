"""The hottest reads straight on `sqlite3`, where SQLite runs on the event loop's thread.

Every update reads the person's pending step (`storage.conversations`), and most read the
versions of the public data (`storage.snapshot`). Through SQLAlchemy's async path such a
read costs about 250 µs of CPU, of which SQLite's own work is about 10; run on the same
`sqlite3` connection — the same transaction, so it sees what the update wrote — it costs a
fraction. Only prebuilt SELECTs take this path, with SQLAlchemy's own compiled SQL and its
types' converters (JSON, timestamps); PostgreSQL, aiosqlite's thread and a busy database
keep the ordinary path (`rows` returns None).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import CompoundSelect, Select, TextClause
from sqlalchemy.engine import Dialect
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.sqlite_inline import Connection as InlineConnection

Convert = Callable[[Any], Any] | None
Query = Select[*tuple[Any, ...]] | CompoundSelect[*tuple[Any, ...]] | TextClause


@dataclass(frozen=True)
class _Plan:
    sql: str
    names: tuple[str, ...]  # the bound parameters, in the order of the `?`s
    fixed: dict[str, Any]  # the values the statement itself binds (`kind == "comuna"`)
    converters: tuple[Convert, ...]  # one per column; None: as sqlite3 returns it


_PLANS: dict[int, tuple[object, _Plan | None]] = {}


async def rows(
    session: AsyncSession, statement: Query, params: Mapping[str, Any]
) -> list[tuple[Any, ...]] | None:
    """Run a prebuilt SELECT on the session's own `sqlite3` connection; its rows, converted
    as SQLAlchemy would; None when this database or statement takes the ordinary path.

    `statement` must live as long as the process (a module constant): its plan is kept.
    """
    if not session.info.get("lean"):
        return None
    conn = await session.connection()
    driver = conn.sync_connection.connection.driver_connection  # type: ignore[union-attr]
    sqlite = driver.sqlite if isinstance(driver, InlineConnection) else None
    if sqlite is None:
        return None
    plan = _plan(statement, conn.dialect)
    if plan is None:
        return None
    try:
        given = {**plan.fixed, **params}
        cursor = sqlite.execute(plan.sql, tuple(given[n] for n in plan.names))
        found = cursor.fetchall()
    except sqlite3.OperationalError:
        return None  # busy (it waits there) or worse (it is reported there)
    if not any(plan.converters):
        return found
    return [tuple(v if c is None else c(v) for c, v in zip(plan.converters, row, strict=True))
            for row in found]


def _plan(statement: Query, dialect: Dialect) -> _Plan | None:
    kept = _PLANS.get(id(statement))
    if kept is not None and kept[0] is statement:
        return kept[1]
    plan = _compile(statement, dialect)
    _PLANS[id(statement)] = (statement, plan)
    return plan


def _compile(statement: Query, dialect: Dialect) -> _Plan | None:
    compiled = statement.compile(dialect=dialect)
    names = tuple(compiled.positiontup or ())
    if any(compiled.binds[n].type.dialect_impl(dialect).bind_processor(dialect) is not None
           for n in names):
        return None  # parameters that need converting: not worth doing here
    fixed = {n: compiled.binds[n].value for n in names if not compiled.binds[n].required}
    if isinstance(statement, TextClause):
        return _Plan(compiled.string, names, fixed, ())
    converters = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None)
                       for c in statement.selected_columns)
    return _Plan(compiled.string, names, fixed, converters)
