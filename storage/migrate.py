"""Alembic, driven from code: `cabildo db upgrade` and the tests call these."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util.exc import CommandError
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from storage.db import normalize_database_url

MIGRATIONS = Path(__file__).parent / "migrations"


class MigrationError(Exception):
    """A schema change that cannot be made; `str()` says why in Spanish."""


@dataclass(frozen=True)
class Step:
    """One migration: its revision id and its one-line description."""

    revision: str
    title: str

    def __str__(self) -> str:
        return f"{self.revision} ({self.title})" if self.title else self.revision


def alembic_config(database_url: str) -> Config:
    """Return an Alembic config pointing at this package's migrations and `database_url`."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    # ConfigParser interpolates %, which URL-encoded passwords contain.
    cfg.set_main_option("sqlalchemy.url", normalize_database_url(database_url).replace("%", "%%"))
    return cfg


@contextmanager
def quiet_alembic() -> Iterator[None]:
    """Keep Alembic's INFO lines (plugins, «Running upgrade») out of the operator's terminal."""
    logger = logging.getLogger("alembic")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the schema up to `revision` (blocking; run it off the event loop)."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str) -> None:
    """Take the schema down to `revision`."""
    command.downgrade(alembic_config(database_url), revision)


def current(database_url: str) -> None:
    """Print the revision the database is at."""
    command.current(alembic_config(database_url), verbose=False)


def steps(database_url: str) -> list[Step]:
    """Return every migration, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(database_url))
    found = [
        Step(rev.revision, (rev.doc or "").strip().splitlines()[0] if rev.doc else "")
        for rev in script.walk_revisions()
    ]
    return list(reversed(found))


def head(database_url: str) -> str:
    """Return the newest revision id."""
    script = ScriptDirectory.from_config(alembic_config(database_url))
    return str(script.get_current_head())


def revision_of(database_url: str) -> str | None:
    """Return the revision the database is at, or None when it has no tables (blocking)."""

    def read(connection: Connection) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async def run() -> str | None:
        engine = create_async_engine(normalize_database_url(database_url),
                                     poolclass=pool.NullPool)
        try:
            async with engine.connect() as connection:
                return await connection.run_sync(read)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def move_to(database_url: str, revision: str, *, down: bool = False) -> list[Step]:
    """Upgrade (or downgrade) to `revision` quietly; return the steps applied, in order.

    Raises MigrationError, in Spanish, for an unknown revision or one in the wrong direction.
    """
    known = steps(database_url)
    before = revision_of(database_url)
    with quiet_alembic():
        try:
            if down:
                downgrade(database_url, revision)
            else:
                upgrade(database_url, revision)
        except CommandError as exc:
            raise MigrationError(_command_error(revision, known, down=down, detail=str(exc))) \
                from None
    after = revision_of(database_url)
    ids = [step.revision for step in known]
    start = ids.index(before) + 1 if before in ids else 0
    end = ids.index(after) + 1 if after in ids else 0
    if down:
        return list(reversed(known[end:start]))
    return known[start:end]


def _command_error(revision: str, known: list[Step], *, down: bool, detail: str) -> str:
    names = ", ".join(step.revision for step in known)
    choices = f"Las revisiones son: {names}, y también «head» (la más reciente)"
    choices += " y «base» (sin tablas)." if down else "."
    if "Can't locate revision" in detail or "No such revision" in detail:
        return f"No existe la revisión «{revision}». {choices}"
    if down:
        return f"No se puede volver a la revisión «{revision}» desde la actual. {choices}"
    return f"No se puede actualizar a la revisión «{revision}» desde la actual. {choices}"
