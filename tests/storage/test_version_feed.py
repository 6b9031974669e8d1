"""PostgreSQL's notifications keep the data versions: what another process commits is seen
once its notification arrives, what this process writes at once, and without the
listening connection every update reads the versions itself."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from storage import version_feed
from storage.comunas import all_comunas
from storage.db import Database
from storage.models import Comuna


@pytest.fixture
def pg(db: Database) -> Database:
    if db.feed is None:
        pytest.skip("notifications are PostgreSQL's")
    return db


async def _names(db: Database) -> list[str]:
    async with db.session() as session:
        return [c.nombre for c in await all_comunas(session)]


async def _listening(db: Database) -> dict[str, int]:
    """Read until the feed holds the versions (it starts at the first read)."""
    assert db.feed is not None
    for _ in range(200):
        await _names(db)
        current = db.feed.current()
        if current is not None:
            return current
        await asyncio.sleep(0.01)
    raise AssertionError("the feed never started listening")


def _raw_dsn(db: Database) -> str:
    return make_url(db.url).set(drivername="postgresql").render_as_string(hide_password=False)


async def test_an_update_reads_no_versions_while_the_feed_listens(pg: Database) -> None:
    await _listening(pg)
    reads = []
    # Count the statements this process sends on its pooled connections.
    from sqlalchemy import event

    def seen(_conn: object, _cursor: object, statement: str, *_: object) -> None:
        reads.append(statement)

    event.listen(pg.engine.sync_engine, "before_cursor_execute", seen)
    try:
        assert await _names(pg) == []
    finally:
        event.remove(pg.engine.sync_engine, "before_cursor_execute", seen)
    assert not [s for s in reads if "dataversion" in s]


async def test_a_commit_by_another_process_is_seen_once_notified(pg: Database) -> None:
    await _listening(pg)
    assert pg.feed is not None
    reads = pg.feed.reads
    other = await asyncpg.connect(_raw_dsn(pg))  # the CLI importing: not this process's engine
    try:
        await other.execute(
            "INSERT INTO comuna (codigo, nombre, tipo) VALUES ('1', 'Norte', 'comuna')")
    finally:
        await other.close()
    for _ in range(500):  # the notification comes in milliseconds; allow 5 s
        if pg.feed.reads > reads and pg.feed.current() is not None:
            break
        await asyncio.sleep(0.01)
    else:
        raise AssertionError("no notification within 5 s")
    assert await _names(pg) == ["Norte"]


async def test_this_processs_own_write_is_seen_at_the_next_read(pg: Database) -> None:
    await _listening(pg)
    async with pg.session() as session:
        session.add(Comuna(codigo="1", nombre="Norte", tipo="comuna"))
    # no waiting for the notification: the write itself set the feed's versions aside
    assert await _names(pg) == ["Norte"]
    other = Database(pg.url)  # another instance in this process (tests run two at once)
    try:
        async with other.session() as session:
            session.add(Comuna(codigo="2", nombre="Nororiental", tipo="comuna"))
    finally:
        await other.dispose()
    assert await _names(pg) == ["Norte", "Nororiental"]


async def test_a_lost_listening_connection_falls_back_and_comes_back(
    pg: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Cut while a commit happens elsewhere, the feed gets no notification of it: the
    commit is seen once the loss is noticed, or at the latest once the versions are
    `FRESH_SECONDS` old (10 s; 0.3 here), and the feed listens again."""
    monkeypatch.setattr(version_feed, "RETRY_SECONDS", 0.05)
    monkeypatch.setattr(version_feed, "FRESH_SECONDS", 0.3)
    await _listening(pg)
    assert pg.feed is not None
    admin = await asyncpg.connect(_raw_dsn(pg))
    try:
        killed = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE application_name = $1 AND datname = current_database()",
            version_feed.APPLICATION_NAME)
        assert killed == 1
        await admin.execute(
            "INSERT INTO comuna (codigo, nombre, tipo) VALUES ('1', 'Norte', 'comuna')")
    finally:
        await admin.close()
    loop = asyncio.get_running_loop()
    cut = loop.time()
    while await _names(pg) != ["Norte"]:
        assert loop.time() - cut < 0.3 + 1.0, "the commit was not seen"
        await asyncio.sleep(0.01)
    for _ in range(100):
        if pg.feed.current() is not None:
            break
        await _names(pg)
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the feed did not listen again")
    assert await _names(pg) == ["Norte"]
