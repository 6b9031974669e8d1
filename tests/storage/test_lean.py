"""The hottest reads, straight on sqlite3, give what SQLAlchemy's path gives."""

from __future__ import annotations

from datetime import UTC

from storage.alerts import subscriptions_of, toggle
from storage.conversations import FlowState, get_state, set_state
from storage.db import Database
from storage.models import Citizen, Comuna
from storage.surveys import known_comunas


async def _reads(db: Database) -> tuple[object, ...]:
    async with db.session() as session:
        return (
            await get_state(session, chat_id=7, user_id=7),
            await get_state(session, chat_id=8, user_id=8),
            await subscriptions_of(session, chat_id=7),
            await known_comunas(session, telegram_id=7, chat_id=7),
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
    ordinary = Database(database_url, sqlite_on_loop=False)  # PostgreSQL: the same path
    try:
        assert await _reads(db) == await _reads(ordinary)
    finally:
        await ordinary.dispose()
    state, nobody, subscriptions, comunas = await _reads(db)
    assert isinstance(state, FlowState) and state.data == {"tema": "obras", "n": [1, 2]}
    assert state.updated_at is not None and state.updated_at.tzinfo is UTC
    assert nobody is None
    assert subscriptions == {("comuna", "4"), ("tema", "obras")}
    assert comunas == {4, 9}


async def test_a_read_sees_what_its_unit_wrote_before_the_commit(db: Database) -> None:
    async with db.unit(), db.session() as session:
        await set_state(session, chat_id=7, user_id=7, state=FlowState("encuesta", "1"))
        state = await get_state(session, chat_id=7, user_id=7)
        assert state is not None and state.flow == "encuesta"
