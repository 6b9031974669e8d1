"""Writes held back until the commit (`storage.lean.defer`) are written exactly as if run
at once: seen by whatever the unit reads next, undone with it, committed with it."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from sqlalchemy import bindparam, event, func, select, update

from storage import lean
from storage.citizens import touch_citizen
from storage.conversations import FlowState, forget_state, get_state, set_state
from storage.db import Database
from storage.models import Citizen, ConversationState
from storage.privacy import has_consent

TOPIC = FlowState("tema", "obra", {"codigo": "OB-1"})


@contextmanager
def begun(db: Database) -> Iterator[list[int]]:
    """Count the transactions the engine begins meanwhile."""
    count = [0]

    def seen(_conn: object) -> None:
        count[0] += 1

    event.listen(db.engine.sync_engine, "begin", seen)
    try:
        yield count
    finally:
        event.remove(db.engine.sync_engine, "begin", seen)


async def _state(db: Database, chat: int = 5) -> FlowState | None:
    async with db.session() as session:
        return await get_state(session, chat_id=chat, user_id=chat)


def _holds_back(db: Database) -> bool:
    """PostgreSQL, and SQLite on the loop's thread in a file, hold writes back; SQLite
    through aiosqlite's thread writes at once."""
    return not db.is_sqlite or db.sqlite is not None


async def test_a_units_only_write_is_stored_without_a_transaction(db: Database) -> None:
    with begun(db) as transactions:
        async with db.unit(), db.session() as session:
            await set_state(session, chat_id=5, user_id=5, state=TOPIC)
    assert transactions[0] == (0 if _holds_back(db) else 1)
    assert await _state(db) == TOPIC


async def test_the_units_next_read_sees_what_it_held_back(db: Database) -> None:
    async with db.unit(), db.session() as session:
        await touch_citizen(session, telegram_id=5, chat_id=5)
        await set_state(session, chat_id=5, user_id=5, state=TOPIC)
        assert await get_state(session, chat_id=5, user_id=5) == TOPIC  # the direct path
        assert not await has_consent(session, telegram_id=5)
        count = select(func.count()).select_from(Citizen)
        assert await session.scalar(count) == 1  # SQLAlchemy's path
    assert await _state(db) == TOPIC


async def test_what_is_held_back_is_undone_with_its_unit(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.unit(), db.session() as session:
            await set_state(session, chat_id=5, user_id=5, state=TOPIC)
            raise RuntimeError("the handler failed")
    with pytest.raises(RuntimeError):
        async with db.unit(), db.session() as session:
            await set_state(session, chat_id=6, user_id=6, state=TOPIC)
            session.add(Citizen(telegram_id=6, chat_id=6))
            await session.flush()
            raise RuntimeError("the handler failed after a write")
    assert await _state(db) is None and await _state(db, 6) is None
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(Citizen)) == 0


async def test_writes_held_back_are_committed_together_and_in_order(db: Database) -> None:
    async with db.unit(), db.session() as session:
        await touch_citizen(session, telegram_id=5, chat_id=5)
        await set_state(session, chat_id=5, user_id=5, state=FlowState("encuesta", "1"))
        await forget_state(session, chat_id=5, user_id=5, flow="encuesta")
        await set_state(session, chat_id=5, user_id=5, state=TOPIC)
    assert await _state(db) == TOPIC
    async with db.session() as session:
        citizen = (await session.exec(select(Citizen))).one()[0]
        assert citizen.telegram_id == 5 and citizen.last_seen_at is not None


async def test_a_commit_called_on_the_session_writes_what_it_held_back(db: Database) -> None:
    async with db.unit() as unit:
        async with db.session() as session:
            await set_state(session, chat_id=5, user_id=5, state=TOPIC)
            await session.commit()
        assert await _state(db) == TOPIC  # read in the same unit, after the commit
        async with db.session() as session:
            await forget_state(session, chat_id=5, user_id=5, flow="otro")
            await forget_state(session, chat_id=5, user_id=5, flow=TOPIC.flow)
        await unit.commit()
    assert await _state(db) is None
    async with db.session() as session:
        assert await session.scalar(select(func.count()).select_from(ConversationState)) == 0


async def test_a_read_of_other_tables_does_not_wait_for_what_is_held_back(db: Database) -> None:
    """A command leaves the topic (held back) and lists events: the list's reads need not
    begin a transaction for it; a read of the steps does."""
    async with db.session() as session:
        session.add(Citizen(telegram_id=5, chat_id=5))
    async with db.unit(), db.session() as session:
        await forget_state(session, chat_id=5, user_id=5, flow=TOPIC.flow)
        assert not await has_consent(session, telegram_id=5)
        assert session.in_transaction() != _holds_back(db)
        assert await get_state(session, chat_id=5, user_id=5) is None
        assert session.in_transaction()


async def test_a_rollback_before_anything_began_forgets_what_was_held_back(
    db: Database,
) -> None:
    async with db.unit(), db.session() as session:
        await set_state(session, chat_id=5, user_id=5, state=TOPIC)
        await session.rollback()  # a flow that changed its mind, before any statement
    assert await _state(db) is None


# --- a write committed alone (`lean.execute_alone`) -------------------------------------

_NAME_CHAT = update(Citizen.__table__).where(  # type: ignore[attr-defined]
    Citizen.__table__.c.telegram_id == bindparam("who")).values(  # type: ignore[attr-defined]
    chat_id=bindparam("chat"))


async def _chat_of(db: Database, telegram_id: int = 5) -> int | None:
    async with db.session() as session:
        query = select(Citizen.chat_id).where(Citizen.telegram_id == telegram_id)
        return await session.scalar(query)


async def test_a_write_alone_is_committed_at_once_and_stays_when_the_unit_fails(
    db: Database,
) -> None:
    async with db.session() as session:
        session.add(Citizen(telegram_id=5, chat_id=5))
    with begun(db) as transactions, pytest.raises(RuntimeError):
        async with db.unit(), db.session() as session:
            await set_state(session, chat_id=5, user_id=5, state=TOPIC)  # held back
            assert await lean.execute_alone(session, _NAME_CHAT, {"who": 5, "chat": 6}) == 1
            assert await lean.execute_alone(session, _NAME_CHAT, {"who": 9, "chat": 6}) == 0
            assert await asyncio.create_task(_chat_of(db)) == 6  # another unit sees it
            raise RuntimeError("the handler failed after it")
    # the other unit's read began one; this unit none, where writes are held back
    assert transactions[0] == (1 if _holds_back(db) else 2)
    assert await _chat_of(db) == 6
    assert await _state(db) is None  # what was held back went with the unit


async def test_a_write_alone_goes_in_the_transaction_once_one_began(db: Database) -> None:
    async with db.session() as session:
        session.add(Citizen(telegram_id=5, chat_id=5))
    with pytest.raises(RuntimeError):
        async with db.unit(), db.session() as session:
            session.add(Citizen(telegram_id=6, chat_id=6))
            await session.flush()  # the transaction began
            assert await lean.execute_alone(session, _NAME_CHAT, {"who": 5, "chat": 7}) == 1
            raise RuntimeError("the handler failed after it")
    assert await _chat_of(db) == 5  # undone with the rest
    async with db.unit(), db.session() as session:
        await touch_citizen(session, telegram_id=5, chat_id=5)  # held back, same table: first
        assert await lean.execute_alone(session, _NAME_CHAT, {"who": 5, "chat": 8}) == 1
    assert await _chat_of(db) == 8
