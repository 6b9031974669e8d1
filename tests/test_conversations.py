"""Flow state lives in the database: another Database handle (another instance) sees it."""

from __future__ import annotations

from storage.conversations import FlowState, clear_state, get_state, set_state
from storage.db import Database


async def test_state_survives_across_database_handles(db: Database, database_url: str) -> None:
    async with db.session() as s:
        await set_state(s, chat_id=-100200, user_id=7, state=FlowState("encuesta", "p3", {"id": 2}))
    other = Database(database_url)
    try:
        async with other.session() as s:
            assert await get_state(s, chat_id=-100200, user_id=7) == FlowState(
                "encuesta", "p3", {"id": 2}
            )
            assert await get_state(s, chat_id=-100200, user_id=8) is None
            await set_state(s, chat_id=-100200, user_id=7, state=FlowState("encuesta", "p4"))
            assert (await get_state(s, chat_id=-100200, user_id=7)) == FlowState("encuesta", "p4")
            assert await clear_state(s, chat_id=-100200, user_id=7) is True
            assert await clear_state(s, chat_id=-100200, user_id=7) is False
    finally:
        await other.dispose()
