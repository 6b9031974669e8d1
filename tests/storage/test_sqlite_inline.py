"""With SQLITE_ON_LOOP, SQLite runs on the loop's thread, and a lock never freezes the bot.

What an operator would see otherwise: a CLI import (another process) holding the write lock
for a few seconds, and every chat waiting that long; or two updates of this process, one
holding its transaction across a Bot API call, stuck on each other for the whole 30 s busy
timeout and then failing.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlmodel import select

from storage.citizens import touch_citizen
from storage.db import Database
from storage.models import Citizen
from storage.sqlite_inline import BULK, off_loop, patiently
from tests.conftest import PG_URL

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="SQLite's own locking")


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """The test database, with SQLite on the loop's thread (`SQLITE_ON_LOOP=1`)."""
    database = Database(database_url, sqlite_on_loop=True)
    try:
        yield database
    finally:
        await database.dispose()


def _path(db: Database) -> str:
    return db.url.split("///", 1)[1]


async def test_a_write_waits_for_another_process_without_freezing_the_loop(db: Database) -> None:
    other = sqlite3.connect(_path(db), isolation_level=None)  # a CLI import, say
    other.execute("BEGIN IMMEDIATE")  # it holds the write lock

    async def write() -> None:
        async with db.session() as s:
            await touch_citizen(s, telegram_id=7001, chat_id=7001)
            await s.commit()

    writing = asyncio.create_task(write())
    ticks, started = 0, time.monotonic()
    while time.monotonic() - started < 0.5:  # meanwhile the loop serves everyone else
        await asyncio.sleep(0.01)
        ticks += 1
        async with db.session() as s:  # and readers read
            assert (await s.exec(select(Citizen))).all() == []
    assert not writing.done()
    assert ticks >= 20  # 0.5 s of 10 ms sleeps: none was held up by the waiting write
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writing, 5)  # the write goes through once the lock is free
    async with db.session() as s:
        assert [c.telegram_id for c in (await s.exec(select(Citizen))).all()] == [7001]


async def test_an_updates_lone_write_waits_for_another_process_too(db: Database) -> None:
    """The last visit, an update's only write, goes alone on a connection of its own
    (`storage.lean.SQLite`); finding the lock taken, it goes the patient way instead."""
    other = sqlite3.connect(_path(db), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")

    async def update() -> None:
        async with db.unit(), db.session() as s:
            await touch_citizen(s, telegram_id=7002, chat_id=7002)

    writing = asyncio.create_task(update())
    ticks, started = 0, time.monotonic()
    while time.monotonic() - started < 0.3:
        await asyncio.sleep(0.01)
        ticks += 1
    assert not writing.done() and ticks >= 12
    other.execute("COMMIT")
    other.close()
    await asyncio.wait_for(writing, 5)
    async with db.session() as s:
        assert [c.telegram_id for c in (await s.exec(select(Citizen))).all()] == [7002]


async def test_two_sessions_of_one_process_holding_writes_across_awaits_both_finish(
    db: Database,
) -> None:
    """One update writes, then awaits a (slow) Bot API call before committing."""
    async def update(person: int, pause: float) -> None:
        async with db.session() as s:
            await touch_citizen(s, telegram_id=person, chat_id=person)
            await s.flush()  # the write lock is taken here...
            await asyncio.sleep(pause)  # ...and held across a call to Telegram
            await s.commit()

    await asyncio.wait_for(asyncio.gather(update(7101, 0.3), update(7102, 0.0),
                                          update(7103, 0.1)), 10)
    async with db.session() as s:
        ids = sorted(c.telegram_id for c in (await s.exec(select(Citizen))).all())
    assert ids == [7101, 7102, 7103]


async def test_a_lock_held_past_the_patience_fails_the_statement() -> None:
    tries = 0

    def busy() -> None:
        nonlocal tries
        tries += 1
        error = sqlite3.OperationalError("database is locked")
        error.sqlite_errorcode = sqlite3.SQLITE_BUSY
        raise error

    with pytest.raises(sqlite3.OperationalError, match="locked"):
        await patiently(busy, patience=0.2)
    assert tries > 3  # it did try again meanwhile


async def test_other_errors_are_not_retried() -> None:
    tries = 0

    def broken() -> None:
        nonlocal tries
        tries += 1
        raise sqlite3.OperationalError("no such table: nada")

    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        await patiently(broken, patience=5)
    assert tries == 1


async def test_bulk_work_runs_on_a_worker_thread_and_an_updates_statements_in_place(
    db: Database,
) -> None:
    """A broadcast's queued rows or an import's upserts must not hold every chat up."""
    here = threading.get_ident()
    threads: list[int] = []

    def where(value: int) -> int:  # a SQL function that notes the thread running it
        threads.append(threading.get_ident())
        return value

    async with db.session() as s:
        conn = await s.connection()
        raw = (await conn.get_raw_connection()).driver_connection
        await raw.create_function("noted", 1, where)

        assert (await conn.execute(text("SELECT noted(1)"))).scalar_one() == 1
        assert set(threads) == {here}  # a small statement: in place

        threads.clear()
        many = {f"p{i}": i for i in range(BULK + 1)}
        statement = text(f"SELECT noted(1) WHERE 7 IN ({', '.join(':' + p for p in many)})")
        assert (await conn.execute(statement, many)).scalar_one() == 1
        assert here not in threads  # more parameters than BULK: on a worker thread

        threads.clear()
        counted = text("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n"
                       " WHERE i < 1000) SELECT noted(i) FROM n")
        assert list((await conn.execute(counted)).scalars()) == list(range(1, 1001))
        assert threads.count(here) <= BULK + 1  # the first rows in place, the rest elsewhere
        assert len(threads) == 1000


async def test_a_cancelled_bulk_statement_lets_sqlite_finish_before_the_connection_goes_on(
) -> None:
    started, release = threading.Event(), threading.Event()
    finished: list[str] = []

    def slow() -> str:
        started.set()
        release.wait(5)
        finished.append("done")
        return "done"

    task = asyncio.create_task(off_loop(slow))
    await asyncio.to_thread(started.wait, 5)
    task.cancel()
    await asyncio.sleep(0.05)
    assert not task.done()  # still waiting for SQLite, not gone with the connection in use
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert finished == ["done"]
