"""The hottest statements, straight on the driver, do what SQLAlchemy's path does."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from datetime import UTC, date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event
from sqlalchemy.engine import make_url

from storage.alerts import subscriptions_of, toggle
from storage.citizens import get_citizen, touch_citizen
from storage.conversations import FlowState, clear_state, get_state, set_state, touch_state
from storage.db import Database
from storage.lean import held_back
from storage.migrate import upgrade
from storage.models import Citizen, Comuna, Work
from storage.surveys import known_comunas
from storage.works import nearest_works, work_by_code, works_in


async def _reads(db: Database) -> tuple[object, ...]:
    async with db.session() as session:
        return (
            await get_state(session, chat_id=7, user_id=7),
            await get_state(session, chat_id=8, user_id=8),
            await subscriptions_of(session, chat_id=7),
            await known_comunas(session, telegram_id=7, chat_id=7),
            await work_by_code(session, "OB-7"),
            await works_in(session, comuna_id=9),
            await nearest_works(session, latitude=7.1190, longitude=-73.1230),
        )


async def test_the_same_answers_on_every_path(db: Database, database_url: str) -> None:
    async with db.session() as session:
        session.add(Comuna(id=4, codigo="4", nombre="Occidental"))
        session.add(Comuna(id=9, codigo="9", nombre="La Pedregosa"))
        await session.flush()
        session.add(Citizen(telegram_id=7, chat_id=7, comuna_id=9))
        await session.flush()
        await set_state(session, chat_id=7, user_id=7,
                        state=FlowState("pregunta", "texto", {"tema": "obras", "n": [1, 2]}))
        await toggle(session, chat_id=7, kind="comuna", value="4")
        await toggle(session, chat_id=7, kind="tema", value="obras")
        for n, lat in ((7, 7.1193), (8, 7.1301), (9, None)):
            session.add(Work(
                codigo=f"OB-{n}", nombre=f"Parque {n}", comuna_id=9, estado="En ejecución",
                latitud=lat, longitud=-73.1227 if lat else None, avance_fisico=26.5,
                valor_contrato=Decimal("1180000000.50"), fecha_inicio=date(2026, 2, 1)))
    ordinary = Database(database_url, sqlite_on_loop=False, direct=False)
    try:
        assert await _reads(db) == await _reads(ordinary)
    finally:
        await ordinary.dispose()
    state, nobody, subscriptions, comunas, work, listed, near = await _reads(db)
    assert isinstance(state, FlowState) and state.data == {"tema": "obras", "n": [1, 2]}
    assert state.updated_at is not None and state.updated_at.tzinfo is UTC
    assert nobody is None
    assert subscriptions == {("comuna", "4"), ("tema", "obras")}
    assert comunas == {4, 9}
    assert work is not None and work.valor_contrato == Decimal("1180000000.50")
    assert work.avance_fisico == 26.5 and work.fecha_inicio == date(2026, 2, 1)
    assert [w.codigo for w in listed] == ["OB-7", "OB-8", "OB-9"]
    assert [(w.codigo, round(metres)) for w, metres in near] == [("OB-7", 47), ("OB-8", 1235)]


async def test_a_read_sees_what_its_unit_wrote_before_the_commit(db: Database) -> None:
    async with db.unit(), db.session() as session:
        await set_state(session, chat_id=7, user_id=7, state=FlowState("encuesta", "1"))
        state = await get_state(session, chat_id=7, user_id=7)
        assert state is not None and state.flow == "encuesta"


async def _write_and_read(db: Database) -> tuple[object, ...]:
    async with db.session() as session:
        await touch_citizen(session, telegram_id=7, chat_id=70)
        await set_state(session, chat_id=7, user_id=7,
                        state=FlowState("pregunta", "texto", {"tema": "obras", "n": [1, 2]}))
        await touch_state(session, chat_id=7, user_id=7, flow="pregunta")
        await set_state(session, chat_id=8, user_id=8, state=FlowState("encuesta", "1"))
        cleared = await clear_state(session, chat_id=8, user_id=8, flows=["encuesta"])
        missing = await clear_state(session, chat_id=9, user_id=9)
    async with db.session() as session:
        citizen = await get_citizen(session, telegram_id=7)
        assert citizen is not None and citizen.last_seen_at is not None
        return (await get_state(session, chat_id=7, user_id=7),
                await get_state(session, chat_id=8, user_id=8), cleared, missing,
                citizen.chat_id, citizen.role, citizen.last_seen_at.tzinfo)


async def test_the_same_writes_on_every_path(db: Database, database_url: str) -> None:
    direct = await _write_and_read(db)
    ordinary = Database(database_url, sqlite_on_loop=False, direct=False)
    try:
        assert await _write_and_read(ordinary) == direct
    finally:
        await ordinary.dispose()
    state, gone, cleared, missing, chat, role, tz = direct
    assert isinstance(state, FlowState) and state.data == {"tema": "obras", "n": [1, 2]}
    assert (gone, cleared, missing, chat, role, tz) == (None, True, False, 70, "ciudadano", UTC)


async def test_a_direct_write_is_undone_with_its_unit(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.unit(), db.session() as session:
            await set_state(session, chat_id=7, user_id=7, state=FlowState("encuesta", "1"))
            await touch_citizen(session, telegram_id=7, chat_id=7)
            raise RuntimeError("the handler failed after writing")
    async with db.session() as session:
        assert await get_state(session, chat_id=7, user_id=7) is None
        assert await get_citizen(session, telegram_id=7) is None


async def test_a_direct_write_is_heard_by_the_engines_listeners(db: Database) -> None:
    heard: list[str] = []
    listener = lambda *args: heard.append(args[2].split()[0])  # noqa: E731
    event.listen(db.engine.sync_engine, "before_cursor_execute", listener)
    try:
        async with db.session() as session:
            # In a transaction: a lone write held back on PostgreSQL (`lean.defer`) is sent
            # by itself at the commit, where no version read could need forgetting.
            await session.connection()
            await set_state(session, chat_id=7, user_id=7, state=FlowState("encuesta", "1"))
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", listener)
    assert "INSERT" in heard


async def test_a_direct_write_that_finds_the_database_busy_waits_its_turn(
    db: Database, database_url: str
) -> None:
    if not database_url.startswith("sqlite"):
        pytest.skip("SQLite's write lock")
    path = make_url(database_url).database
    assert path is not None
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process holds the write lock

    async def release() -> None:
        await asyncio.sleep(0.3)
        other.execute("COMMIT")

    releasing = asyncio.create_task(release())
    async with db.session() as session:
        await set_state(session, chat_id=7, user_id=7, state=FlowState("encuesta", "1"))
    await releasing
    other.close()
    async with db.session() as session:
        state = await get_state(session, chat_id=7, user_id=7)
    assert state is not None and state.flow == "encuesta"


async def test_reads_before_a_write_begin_no_transaction(db: Database) -> None:
    """A menu tap only reads: on either database the session never begins, so nothing is
    committed or rolled back for it."""
    async with db.session() as session:
        session.add(Comuna(id=4, codigo="4", nombre="Occidental"))
        await session.flush()
        session.add(Citizen(telegram_id=7, chat_id=7, comuna_id=4))
    async with db.unit(), db.session() as session:
        assert await get_state(session, chat_id=7, user_id=7) is None
        assert await known_comunas(session, telegram_id=7, chat_id=7) == {4}
        assert not session.in_transaction()
        await set_state(session, chat_id=7, user_id=7, state=FlowState("encuesta", "1"))
        # Written at once in a transaction, or held back until one begins (PostgreSQL)
        assert session.in_transaction() != held_back(session)
        state = await get_state(session, chat_id=7, user_id=7)
        assert state is not None and state.step == "1"
        assert session.in_transaction()


async def test_a_read_cut_short_leaves_the_pool_sound(db: Database) -> None:
    """A task cancelled while its read waits on the database (the person's update given up)
    does not leave a half-used connection for the next update."""

    async def read() -> None:
        async with db.unit(), db.session() as session:
            await get_state(session, chat_id=7, user_id=7)

    for _ in range(20):
        task = asyncio.create_task(read())
        await asyncio.sleep(0)
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    await asyncio.gather(*(read() for _ in range(30)))
    async with db.session() as session:
        await set_state(session, chat_id=7, user_id=7, state=FlowState("encuesta", "2"))
        state = await get_state(session, chat_id=7, user_id=7)
        assert state is not None and state.step == "2"


async def test_databases_of_both_kinds_in_one_process_each_get_their_own_sql(
    db: Database, tmp_path: Path
) -> None:
    """The benchmark runs SQLite, then PostgreSQL, in one process: a statement prepared for
    one must not be sent to the other."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    await asyncio.to_thread(upgrade, url)
    other = Database(url)
    try:
        for database in (other, db):
            async with database.unit(), database.session() as session:
                assert await get_state(session, chat_id=7, user_id=7) is None
                await set_state(session, chat_id=7, user_id=7, state=FlowState("encuesta", "3"))
                state = await get_state(session, chat_id=7, user_id=7)
                assert state is not None and state.step == "3"
    finally:
        await other.dispose()
