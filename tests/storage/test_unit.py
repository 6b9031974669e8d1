"""A unit of work: one session for everything a task does, committed by the unit's owner."""

from __future__ import annotations

import asyncio

import pytest
from sqlmodel import select

from storage.db import Database, commit_current_unit
from storage.models import Comuna


async def _names(db: Database) -> list[str]:
    """What another session (another connection, outside any unit) sees now."""
    async def read() -> list[str]:
        async with db.session() as s:
            return sorted((await s.exec(select(Comuna.nombre))).all())

    return await asyncio.create_task(read())  # its own task: never the unit's session


async def _add(db: Database, name: str) -> None:
    async with db.session() as s:
        s.add(Comuna(codigo=name[:3], nombre=name, tipo="comuna"))


async def test_blocks_share_one_session_and_others_see_the_work_once_committed(
    db: Database,
) -> None:
    async with db.unit() as unit:
        async with db.session() as first:
            first.add(Comuna(codigo="01", nombre="Norte", tipo="comuna"))
        async with db.session() as second:
            assert second is first
            # the second block finds what the first added (flushed, one transaction)
            assert (await second.exec(select(Comuna.nombre))).all() == ["Norte"]
        assert await _names(db) == []  # not committed yet
        await commit_current_unit()  # what the bot does before each Bot API request
        assert await _names(db) == ["Norte"]
        await _add(db, "Sur")
    assert unit.sessions_opened == 1
    assert await _names(db) == ["Norte", "Sur"]  # the end of the unit commits


async def test_a_block_that_fails_undoes_what_was_not_committed_and_the_unit_goes_on(
    db: Database,
) -> None:
    async with db.unit():
        await _add(db, "Norte")
        await commit_current_unit()
        with pytest.raises(RuntimeError):
            async with db.session() as s:
                s.add(Comuna(codigo="02", nombre="Centro", tipo="comuna"))
                await s.flush()
                raise RuntimeError("handler bug")
        await _add(db, "Sur")
    assert await _names(db) == ["Norte", "Sur"]


async def test_an_error_leaving_the_unit_keeps_only_what_was_committed(db: Database) -> None:
    with pytest.raises(LookupError):
        async with db.unit():
            await _add(db, "Norte")
            await commit_current_unit()
            await _add(db, "Sur")
            raise LookupError
    assert await _names(db) == ["Norte"]


async def test_objects_loaded_in_one_block_stay_readable_and_the_next_block_reads_again(
    db: Database,
) -> None:
    async with db.unit():
        await _add(db, "Norte")
    async with db.unit():
        async with db.session() as s:
            comuna = (await s.exec(select(Comuna))).one()
        async with db.session() as s:
            again = (await s.exec(select(Comuna))).one()
            again.nombre = "Norte Alto"
        await commit_current_unit()
        assert comuna.nombre == "Norte"  # detached when its block ended, still readable
        assert again is not comuna
    assert await _names(db) == ["Norte Alto"]


async def test_a_task_started_inside_a_unit_has_sessions_of_its_own(db: Database) -> None:
    async with db.unit() as unit:
        async with db.session() as mine:
            mine.add(Comuna(codigo="01", nombre="Norte", tipo="comuna"))

        async def elsewhere() -> list[str]:
            async with db.session() as theirs:
                assert theirs is not mine
            await commit_current_unit()  # not this task's unit: commits nothing of it
            return await _names(db)

        assert await asyncio.create_task(elsewhere()) == []
    assert unit.sessions_opened == 1
    assert await _names(db) == ["Norte"]


async def test_another_database_inside_a_unit_is_not_shared(
    db: Database, database_url: str
) -> None:
    other = Database(database_url)
    try:
        async with db.unit(), db.session() as mine, other.session() as theirs:
            assert theirs is not mine
    finally:
        await other.dispose()
