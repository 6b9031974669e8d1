"""Fixtures: every test gets a fresh, migrated database (SQLite, or PostgreSQL when asked).

Set CABILDO_TEST_DATABASE_URL=postgresql://user@host:port/postgres to run the suite on
PostgreSQL; the schema is built once by the real Alembic migrations into a template
database, and each test gets its own copy of it.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.config import Settings, normalize_database_url
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.migrate import upgrade
from tests.utils.harness import polling_bot

PG_URL = os.environ.get("CABILDO_TEST_DATABASE_URL", "")
# One template per pytest process, so several runs can share one server.
TEMPLATE_DB = f"cabildo_template_{os.getpid()}"


def _pg_admin_dsn() -> str:
    url = make_url(normalize_database_url(PG_URL))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _pg_exec(*statements: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(_pg_admin_dsn())
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


def _pg_url_for(name: str) -> str:
    return make_url(normalize_database_url(PG_URL)).set(database=name).render_as_string(
        hide_password=False
    )


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Build the schema once with the real migrations; yield where the template lives."""
    if PG_URL:
        asyncio.run(
            _pg_exec(
                f"DROP DATABASE IF EXISTS {TEMPLATE_DB} WITH (FORCE)",
                f"CREATE DATABASE {TEMPLATE_DB}",
            )
        )
        upgrade(_pg_url_for(TEMPLATE_DB))
        yield TEMPLATE_DB
        asyncio.run(_pg_exec(f"DROP DATABASE IF EXISTS {TEMPLATE_DB} WITH (FORCE)"))
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        upgrade(f"sqlite+aiosqlite:///{path}")
        yield str(path)


@pytest.fixture
async def database_url(migrated_template: str, tmp_path: Path) -> AsyncIterator[str]:
    """Yield the URL of a fresh database holding the migrated, empty schema."""
    if PG_URL:
        name = f"t_{uuid.uuid4().hex[:16]}"
        await _pg_exec(f"CREATE DATABASE {name} TEMPLATE {migrated_template}")
        try:
            yield _pg_url_for(name)
        finally:
            await _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    else:
        target = tmp_path / "cabildo.db"
        shutil.copyfile(migrated_template, target)
        yield f"sqlite+aiosqlite:///{target}"


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """Yield a `Database` on a fresh schema, disposed after the test."""
    database = Database(database_url)
    try:
        yield database
    finally:
        await database.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    """Return settings for a local run (no token) on the test database."""
    return Settings(
        database_url=database_url,
        # No catch-up of scheduled work unless a test asks for it (the clock varies).
        schedule_grace_hours=0,
        admin_ids=frozenset({1000}),
        chat_files_dir=str(tmp_path / "chat-files"),
    )


@pytest.fixture
def api() -> LocalBotAPI:
    """Return a fresh fake Bot API (override it to add groups or admins)."""
    return LocalBotAPI()


@pytest.fixture
async def seed(db: Database, settings: Settings) -> None:
    """Put data in the database before the bot starts (modules override this)."""


@pytest.fixture
async def bot(
    settings: Settings, api: LocalBotAPI, seed: None
) -> AsyncIterator[CabildoApp]:
    """Run the real Application, polling the fake Bot API over HTTP, after `seed`."""
    async with polling_bot(settings, api) as app:
        yield app
