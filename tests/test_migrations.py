"""Migrations build exactly the schema the models describe, and go down and up again."""

from __future__ import annotations

import asyncio

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

import storage.models  # noqa: F401
from storage.db import Database
from storage.migrate import downgrade, upgrade


async def _diff(db: Database) -> list[object]:
    def compare(sync_conn: object) -> list[object]:
        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})  # type: ignore[arg-type]
        return list(compare_metadata(context, SQLModel.metadata))

    async with db.engine.connect() as conn:
        return await conn.run_sync(compare)


async def test_migrated_schema_matches_the_models(db: Database) -> None:
    assert await _diff(db) == []


async def test_downgrade_to_base_and_upgrade_again(db: Database, database_url: str) -> None:
    await db.dispose()
    await asyncio.to_thread(downgrade, database_url, "base")
    await asyncio.to_thread(upgrade, database_url)
    assert await _diff(db) == []
