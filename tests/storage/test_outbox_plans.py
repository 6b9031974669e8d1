"""The sender's queries read only the live rows of an outbox that is never pruned.

With a long delivered history, SQLite's planner (after ANALYZE, as a real database gets)
took `status` for unselective and walked the whole outbox for every claim: 36 ms with
200,000 rows, on the event loop's thread, several times a second (`python -m bench.large`).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event, text

from storage import outbox
from storage.db import Database
from storage.operations import outbox_health
from storage.types import utcnow

DELIVERED = 20_000


async def _history(db: Database, *, pending: int) -> None:
    """A delivered history, a few rows still to send, and the statistics ANALYZE keeps."""
    long_ago = utcnow() - timedelta(days=30)
    rows = [{"chat_id": 1_000 + i, "kind": "text", "payload": {"text": "Aviso"},
             "status": "enviado", "attempts": 1, "not_before": long_ago,
             "sent_at": long_ago, "created_at": long_ago} for i in range(DELIVERED)]
    async with db.session() as session:
        conn = await session.connection()
        await conn.execute(outbox.OUTBOX.insert(), rows)
    async with db.session() as session:
        await outbox.enqueue(session, chat_ids=list(range(50, 50 + pending)),
                             payload={"text": "Nuevo"})
    async with db.session() as session:
        await (await session.connection()).execute(text("ANALYZE"))


async def test_the_sender_and_healthz_read_only_the_live_rows(db: Database) -> None:
    if not db.is_sqlite:
        pytest.skip("PostgreSQL's planner knows how rare each status is")
    await _history(db, pending=3)
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, params: Any, *_: Any) -> None:
        if "outboxmessage" in statement and not statement.startswith("EXPLAIN"):
            seen.append((statement, params))

    event.listen(db.engine.sync_engine, "before_cursor_execute", record)
    async with db.session() as session:
        claimed = await outbox.reserve(session, by="emisor", limit=20)
        assert [row.chat_id for row in claimed] == [50, 51, 52]
        assert await outbox.release(session, by="emisor") == 3
        await outbox.sweep(session)
        health = await outbox_health(session, now=utcnow())
        assert (health.pending, health.stuck, health.uncertain_day) == (3, 0, 0)
    event.remove(db.engine.sync_engine, "before_cursor_execute", record)
    # The claim's SELECT and UPDATE, the release, the sweep's two, /healthz's three.
    assert len(seen) == 8

    async with db.session() as session:
        conn = await session.connection()
        for statement, params in seen:
            plan = (await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)).all()
            details = [row[-1] for row in plan]
            # Either the primary key (a claim's UPDATE of the ids it chose) or a live-rows
            # index; never a walk through all 20,003 rows.
            assert all("USING" in d for d in details if "outboxmessage" in d), (statement, details)
            assert not any(d.startswith("SCAN outboxmessage USING INTEGER PRIMARY KEY")
                           or d == "SCAN outboxmessage" for d in details), (statement, details)
