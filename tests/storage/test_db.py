"""The SQLite handle: files end up in WAL mode even when many connections open them at once;
commits are durable against a crash, and the outbox's hand-over against a power cut too."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, text

from storage.citizens import touch_citizen
from storage.db import Database, durably
from storage.migrate import upgrade


def _journal_mode(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA journal_mode").fetchone()[0])


def test_migrating_a_new_file_leaves_it_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "cabildo.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    assert _journal_mode(path) == "wal"


async def test_opening_a_file_while_another_connection_writes_waits_instead_of_failing(
    tmp_path: Path,
) -> None:
    # SQLite answers "database is locked" at once, without its busy timeout, when a
    # connection asks for WAL mode while another holds the write lock.
    path = tmp_path / "cabildo.db"
    with sqlite3.connect(path) as setup:
        setup.execute("PRAGMA journal_mode=DELETE")
        setup.execute("CREATE TABLE t (x INTEGER)")
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    holder.execute("INSERT INTO t VALUES (1)")
    release = threading.Timer(0.3, lambda: holder.execute("COMMIT"))
    release.start()
    database = Database(f"sqlite+aiosqlite:///{path}")
    try:
        async with database.session() as session:
            rows = (await session.exec(text("SELECT count(*) FROM t"))).one()[0]
    finally:
        release.join()
        holder.close()
        await database.dispose()
    assert rows == 1
    assert _journal_mode(path) == "wal"


async def test_many_sessions_opening_a_new_file_at_once_all_succeed(tmp_path: Path) -> None:
    path = tmp_path / "cabildo.db"
    for attempt in range(10):
        with sqlite3.connect(path) as setup:
            setup.execute("PRAGMA journal_mode=DELETE")
        handles = [Database(f"sqlite+aiosqlite:///{path}") for _ in range(6)]

        async def ask(handle: Database) -> int:
            async with handle.session() as session:
                return int((await session.exec(text("SELECT 1"))).one()[0])

        try:
            answers = await asyncio.gather(*(ask(h) for h in handles * 2))
        finally:
            for handle in handles:
                await handle.dispose()
        assert answers == [1] * 12, f"attempt {attempt}"


def _synchronous_at_each_commit(db: Database) -> list[int]:
    """Record SQLite's `synchronous` level (1 NORMAL, 2 FULL) as each commit is made: a
    session's, or a lone write's, committed by itself on the connection kept for it
    (`storage.lean.SQLite`)."""
    levels: list[int] = []
    writer = db.sqlite.writer() if db.sqlite is not None else None
    if writer is not None:
        level = writer.execute("PRAGMA synchronous").fetchone()[0]
        writer.set_trace_callback(
            lambda statement: None if statement.startswith("PRAGMA") else levels.append(level))

    def seen(conn: Any) -> None:
        cursor = conn.connection.dbapi_connection.cursor()
        cursor.execute("PRAGMA synchronous")
        levels.append(cursor.fetchone()[0])
        cursor.close()

    event.listen(db.engine.sync_engine, "commit", seen)
    return levels


@pytest.mark.parametrize("on_loop", [True, False], ids=["on the loop", "aiosqlite"])
async def test_commits_survive_a_crash_and_only_a_durable_one_waits_for_the_disk(
    tmp_path: Path, on_loop: bool
) -> None:
    # WAL with synchronous=NORMAL: a killed process loses nothing, a power cut may undo
    # the last moments; `durably` (the outbox's hand-over) waits for the disk.
    url = f"sqlite+aiosqlite:///{tmp_path / 'cabildo.db'}"
    await asyncio.to_thread(upgrade, url)
    db = Database(url, sqlite_on_loop=on_loop)
    try:
        levels = _synchronous_at_each_commit(db)
        for telegram_id, durable in ((1, False), (2, True), (3, False), (4, True), (5, False)):
            async with db.session() as session:
                if durable:
                    async with durably(session):
                        await touch_citizen(session, telegram_id=telegram_id, chat_id=1)
                else:
                    await touch_citizen(session, telegram_id=telegram_id, chat_id=1)
        assert levels == [1, 2, 1, 2, 1]
        async with db.session() as session:
            conn = await session.connection()
            assert (await conn.execute(text("SELECT count(*) FROM citizen"))).scalar() == 5
    finally:
        await db.dispose()
