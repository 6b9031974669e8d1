"""Whether the database has its schema: checked before the bot, the site or a command uses it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import inspect

from storage.db import Database


class DatabaseNotReady(RuntimeError):
    """The database has no schema yet; `cabildo db upgrade` creates it."""


async def ensure_schema(database: Database) -> None:
    """Raise DatabaseNotReady unless the migrations have been applied."""

    def has_tables(sync_conn: Any) -> bool:
        return bool(inspect(sync_conn).has_table("alembic_version"))

    async with database.engine.connect() as conn:
        ready = await conn.run_sync(has_tables)
    if not ready:
        raise DatabaseNotReady(
            "La base de datos no tiene tablas todavía: ejecute «cabildo db upgrade»."
        )
