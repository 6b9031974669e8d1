"""Fixtures: every test gets a fresh, migrated database (SQLite, or PostgreSQL when asked).

Set CABILDO_TEST_DATABASE_URL=postgresql://user@host:port/postgres to run the suite on
PostgreSQL; the schema is built once per pytest process (each pytest-xdist worker has its
own) by the real Alembic migrations into a template database, and each test gets a database
of its own name holding exactly the template's schema and rows. Copying the template costs
the server a quarter of a second of CPU, so a database a test is done with is truncated back
to the template's rows and renamed for the next test instead (a third of the cost), when
its schema is still the template's (a test that migrated it down and not up again gets a
new copy).
"""

from __future__ import annotations

import asyncio
import io
import logging
import os
import shutil
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from bot.config import Settings, normalize_database_url
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.demo import load_demo
from storage.migrate import upgrade
from tests.utils.harness import polling_bot

PG_URL = os.environ.get("CABILDO_TEST_DATABASE_URL", "")
# One template per pytest process (each pytest-xdist worker: gw0, gw1…), so several runs
# and workers can share one server.
TEMPLATE_DB = f"cabildo_template_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"
# Set by `dev.py test` on its PostgreSQL pass, which runs beside a SQLite pass of the whole
# suite: there, a test that never touches the database under test would only repeat itself.
DATABASE_TESTS_ONLY = bool(PG_URL) and os.environ.get("CABILDO_TEST_DATABASE_ONLY") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Slow tests first; on `dev.py test`'s PostgreSQL pass, only the tests that use its database.

    A test uses it through the `database_url` fixture (`db`, `settings`, `bot` and the rest
    build on it) or, when it reads CABILDO_TEST_DATABASE_URL itself, by the `database` mark.
    """
    # The slow tests go first: pytest-xdist hands out one test at a time (`dev.py test`
    # asks --maxschedchunk=1), so they spread over the workers instead of one worker
    # finishing the last of them alone.
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)
    if not DATABASE_TESTS_ONLY:
        return
    kept, dropped = [], []
    for item in items:
        uses = ("database_url" in getattr(item, "fixturenames", ())
                or item.get_closest_marker("database") is not None)
        (kept if uses else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


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


# What makes two PostgreSQL schemas the same, for reusing a test's database: relations
# and their columns, constraints, indexes, types and enum labels, functions, triggers,
# views, schemas and extensions.
SCHEMA_FINGERPRINT = """
SELECT md5(string_agg(item, E'\\n' ORDER BY item)) FROM (
    SELECT 'rel ' || c.relname || ' ' || c.relkind::text || ' ' || coalesce(string_agg(
        a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || ' ' || a.attnotnull::text
        || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), ''), ', ' ORDER BY a.attnum), '')
    FROM pg_class c
    JOIN pg_namespace n ON n.oid = c.relnamespace
    LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    LEFT JOIN pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
    WHERE n.nspname NOT IN ('pg_catalog', 'information_schema')
      AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp%'
    GROUP BY n.nspname, c.relname, c.relkind
    UNION ALL SELECT 'con ' || conrelid::regclass::text || ' ' || conname || ' '
        || pg_get_constraintdef(oid) FROM pg_constraint
        WHERE connamespace NOT IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace)
    UNION ALL SELECT 'idx ' || indexdef FROM pg_indexes
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
    UNION ALL SELECT 'type ' || t.typname || ' ' || coalesce(string_agg(
        e.enumlabel, ', ' ORDER BY e.enumsortorder), '') FROM pg_type t
        LEFT JOIN pg_enum e ON e.enumtypid = t.oid
        WHERE t.typnamespace NOT IN ('pg_catalog'::regnamespace,
                                     'information_schema'::regnamespace)
        GROUP BY t.typname
    UNION ALL SELECT 'fn ' || p.oid::regprocedure::text || ' ' || md5(p.prosrc) FROM pg_proc p
        WHERE p.pronamespace NOT IN ('pg_catalog'::regnamespace,
                                     'information_schema'::regnamespace)
    UNION ALL SELECT 'trg ' || tgrelid::regclass::text || ' ' || tgname FROM pg_trigger
        WHERE NOT tgisinternal
    UNION ALL SELECT 'view ' || viewname || ' ' || definition FROM pg_views
        WHERE schemaname NOT IN ('pg_catalog', 'information_schema')
    UNION ALL SELECT 'ns ' || nspname FROM pg_namespace
    UNION ALL SELECT 'ext ' || extname || ' ' || extversion FROM pg_extension
) AS schema(item)
"""


@dataclass
class PgTemplate:
    """This process's migrated template, what it holds, and emptied databases to reuse."""

    name: str
    fingerprint: str = ""
    tables: list[str] = field(default_factory=list)  # quoted, schema-qualified
    rows: dict[str, bytes] = field(default_factory=dict)  # binary COPY of non-empty tables
    sequences: list[tuple[str, int, bool]] = field(default_factory=list)  # for setval()
    spares: list[str] = field(default_factory=list)

    async def read(self) -> None:
        """Record the template's schema fingerprint, rows and sequence positions."""
        import asyncpg

        conn = await asyncpg.connect(_pg_dsn(self.name))
        try:
            self.fingerprint = await conn.fetchval(SCHEMA_FINGERPRINT)
            self.tables = [r[0] for r in await conn.fetch(
                "SELECT format('%I.%I', schemaname, tablename) FROM pg_tables"
                " WHERE schemaname NOT IN ('pg_catalog', 'information_schema')"
            )]
            for table in self.tables:
                if await conn.fetchval(f"SELECT EXISTS (SELECT FROM {table})"):
                    out = io.BytesIO()
                    schema, name = table.split(".", 1)
                    await conn.copy_from_table(name.strip('"'), schema_name=schema.strip('"'),
                                               output=out, format="binary")
                    self.rows[table] = out.getvalue()
            self.sequences = [
                (r["seq"], r["last_value"] if r["last_value"] is not None else r["start_value"],
                 r["last_value"] is not None)
                for r in await conn.fetch(
                    "SELECT format('%I.%I', schemaname, sequencename) AS seq, last_value,"
                    " start_value FROM pg_sequences"
                )
            ]
        finally:
            await conn.close()

    async def take(self) -> str:
        """Return the name of a database holding exactly the template, for one test."""
        if self.spares:
            return self.spares.pop()
        name = f"t_{uuid.uuid4().hex[:16]}"
        await _pg_exec(f"CREATE DATABASE {name} TEMPLATE {self.name}")
        return name

    async def give_back(self, name: str) -> None:
        """Empty a test's database back to the template under a new name, or drop it."""
        import asyncpg

        admin = await asyncpg.connect(_pg_admin_dsn())
        others = ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                  " WHERE datname = $1 AND pid <> pg_backend_pid()")
        try:
            # Whatever the test left connected (an undisposed engine) goes, as DROP ... FORCE did.
            await admin.execute(others, name)
            if await self._reset(name):
                fresh = f"t_{uuid.uuid4().hex[:16]}"  # a new URL, as a new copy would have
                for _ in range(100):
                    # Our own reset session may linger after its close (seen for minutes,
                    # idle after its COMMIT), and ALTER waits 5 s for every other session
                    # before it gives up: end it first, each time.
                    await admin.execute(others, name)
                    try:
                        await admin.execute(f"ALTER DATABASE {name} RENAME TO {fresh}")
                    except asyncpg.ObjectInUseError:
                        await asyncio.sleep(0.01)
                        continue
                    self.spares.append(fresh)
                    return
            await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        finally:
            await admin.close()

    async def _reset(self, name: str) -> bool:
        """Empty every table and restore the template's rows; False if the schema changed."""
        import asyncpg

        try:
            conn = await asyncpg.connect(_pg_dsn(name))
        except (OSError, asyncpg.PostgresError):
            return False
        try:
            if await conn.fetchval(SCHEMA_FINGERPRINT) != self.fingerprint:
                return False
            # Only the tables the test wrote to (or the template filled) are emptied: a
            # TRUNCATE costs the server about a millisecond a table, and most tests touch a
            # handful of the thirty. CASCADE takes along the tables whose foreign keys point
            # at them (empty or not, PostgreSQL insists).
            probe = " UNION ALL ".join(f"SELECT {i} WHERE EXISTS (SELECT FROM {table})"
                                       for i, table in enumerate(self.tables))
            used = {self.tables[row[0]] for row in await conn.fetch(probe)} | set(self.rows)
            async with conn.transaction():
                # The template's rows go back as they were, whatever order the tables come
                # in: no foreign key checks and no triggers (the data versions are copied
                # too). Without this a child copied before its parent (pbproject before
                # pbround) failed the reset, and every test on the example data paid for a
                # new copy of the database.
                await conn.execute("SET LOCAL session_replication_role = replica")
                # TRUNCATE, not DELETE: new empty files, so rows land where they would in a
                # new copy and a query without ORDER BY sees them in the same order; and the
                # planner's figures (pg_class) are reset. Statistics an ANALYZE may have left
                # go too (this needs a superuser, as the suite's throwaway server has; without
                # one the database is dropped and the next test gets a new copy).
                if used:
                    await conn.execute(f"TRUNCATE {', '.join(sorted(used))} RESTART IDENTITY"
                                       " CASCADE")
                await conn.execute(
                    "DELETE FROM pg_statistic WHERE starelid IN (SELECT c.oid FROM pg_class c"
                    " JOIN pg_namespace n ON n.oid = c.relnamespace"
                    " WHERE n.nspname NOT IN ('pg_catalog', 'information_schema'))")
                for table, data in self.rows.items():
                    schema, table_name = table.split(".", 1)
                    await conn.copy_to_table(table_name.strip('"'), schema_name=schema.strip('"'),
                                             source=io.BytesIO(data), format="binary")
                if self.sequences:
                    await conn.execute("SELECT " + ", ".join(
                        f"setval('{seq}', {value}, {called})"
                        for seq, value, called in self.sequences))
            return True
        except asyncpg.PostgresError as error:
            # Still correct (the database is dropped and copied again) but slow: say so.
            warnings.warn(f"test database not reset, copied again: {error!r}", stacklevel=1)
            return False
        finally:
            await conn.close()

    async def drop_all(self) -> None:
        """Drop the spare databases and the template."""
        await _pg_exec(*(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                         for name in [*self.spares, self.name]))
        self.spares.clear()


def _pg_dsn(name: str) -> str:
    return make_url(_pg_admin_dsn()).set(database=name).render_as_string(hide_password=False)


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Build the schema once with the real migrations; yield where the template lives."""
    if PG_URL:
        template = PgTemplate(TEMPLATE_DB)
        asyncio.run(
            _pg_exec(
                f"DROP DATABASE IF EXISTS {TEMPLATE_DB} WITH (FORCE)",
                f"CREATE DATABASE {TEMPLATE_DB}",
            )
        )
        upgrade(_pg_url_for(TEMPLATE_DB))
        asyncio.run(template.read())
        _PG_TEMPLATES[TEMPLATE_DB] = template
        yield TEMPLATE_DB
        for demo in _DEMO_TEMPLATES.values():
            asyncio.run(_PG_TEMPLATES[demo].drop_all())
        asyncio.run(template.drop_all())
    else:
        path = tmp_path_factory.mktemp("template") / "template.db"
        upgrade(f"sqlite+aiosqlite:///{path}")
        yield str(path)


_PG_TEMPLATES: dict[str, PgTemplate] = {}
# The example data loaded into a copy of the template, once per process and day (its
# events and rounds are dated from today): {(time zone, day): template}.
_DEMO_TEMPLATES: dict[tuple[str, date], str] = {}


async def _demo_template(migrated_template: str) -> str:
    """Return a template holding the schema and the example data, as `load_demo` leaves it.

    Importing the example data costs a fifth of a second of CPU; a copy of this template
    costs what the empty one does.
    """
    tz = Settings().tz
    key = (str(tz), datetime.now(tz).date())
    if key in _DEMO_TEMPLATES:
        return _DEMO_TEMPLATES[key]
    name = f"{TEMPLATE_DB}_demo_{len(_DEMO_TEMPLATES)}"
    if PG_URL:
        await _pg_exec(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)",
                       f"CREATE DATABASE {name} TEMPLATE {migrated_template}")
        url = _pg_url_for(name)
    else:
        path = Path(migrated_template).with_name(f"{name}.db")
        shutil.copyfile(migrated_template, path)
        url = f"sqlite+aiosqlite:///{path}"
    database = Database(url)
    try:
        async with database.session() as session:
            outcome = await load_demo(session, tz=tz)
        assert outcome.loaded
    finally:
        await database.dispose()
    if PG_URL:
        template = PgTemplate(name)
        await template.read()
        _PG_TEMPLATES[name] = template
    else:
        name = str(path)
    _DEMO_TEMPLATES[key] = name
    return name


@pytest.fixture
async def database_url(
    request: pytest.FixtureRequest, migrated_template: str, tmp_path: Path
) -> AsyncIterator[str]:
    """Yield the URL of a fresh database holding the migrated, empty schema — and the
    example data, as `load_demo` loads it, for a test that uses `demo_data`."""
    if "demo_data" in request.fixturenames:
        migrated_template = await _demo_template(migrated_template)
    if PG_URL:
        template = _PG_TEMPLATES[migrated_template]
        name = await template.take()
        try:
            yield _pg_url_for(name)
        finally:
            await template.give_back(name)
    else:
        target = tmp_path / "cabildo.db"
        shutil.copyfile(migrated_template, target)
        yield f"sqlite+aiosqlite:///{target}"


@pytest.fixture
def demo_data() -> None:
    """The test's database starts with the example data, as `load_demo` leaves it.

    `database_url` looks for this name among the test's fixtures (directly, through another
    fixture, or `pytest.mark.usefixtures("demo_data")` on a module) and copies a template
    that already holds the data, instead of importing it again for every test.
    """


@pytest.fixture(autouse=True)
def _logging_as_found() -> Iterator[None]:
    """Undo what a test's `setup_logging` (the CLI run in-process) does to the root logger.

    Otherwise every later test in the same process (which ones depends on how pytest-xdist
    shares them out) logs at INFO through a handler whose captured stream is closed: a
    "--- Logging error ---" with a stack for every fake Bot API request.
    """
    root = logging.getLogger()
    level, before = root.level, list(root.handlers)
    yield
    root.setLevel(level)
    for handler in list(root.handlers):
        if type(handler) is logging.StreamHandler and handler not in before:
            root.removeHandler(handler)


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
    request: pytest.FixtureRequest, settings: Settings, api: LocalBotAPI, seed: None
) -> AsyncIterator[CabildoApp]:
    """Run the real Application, polling the fake Bot API, after `seed`: in-process, or
    over HTTP for a test marked `http` (the transport's own tests, and those written
    around its pace)."""
    http = request.node.get_closest_marker("http") is not None
    async with polling_bot(settings, api, http=http) as app:
        yield app
