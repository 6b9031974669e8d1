"""Telegram updates already taken, so a webhook redelivery is handled once.

Telegram sends an update again when it did not get our 200 in time; behind a load balancer
the copy may land on another instance. Each instance records the `update_id` before it
queues the update (a unique key, so exactly one insert wins); a copy seen within the hour
is dropped. Rows older than an hour are pruned as updates arrive (every PRUNE_EVERY-th
update id), so the table holds about an hour of traffic.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert_for
from storage.models import SeenUpdate
from storage.types import utcnow

KEEP = timedelta(hours=1)
PRUNE_EVERY = 100
SEEN = SeenUpdate.__table__  # type: ignore[attr-defined]


async def first_sighting(
    session: AsyncSession, update_id: int, *, now: datetime | None = None
) -> bool:
    """Record `update_id`; return False when it was already taken within the last hour."""
    now = now or utcnow()
    conn = await session.connection()
    statement = (
        insert_for(conn, SEEN)
        .values(update_id=update_id, seen_at=now)
        .on_conflict_do_update(  # a row older than KEEP is a different, recycled update
            index_elements=["update_id"],
            set_={"seen_at": now},
            where=SEEN.c.seen_at < now - KEEP,
        )
        .returning(SEEN.c.update_id)
    )
    fresh = (await conn.execute(statement)).first() is not None
    if fresh and update_id % PRUNE_EVERY == 0:
        await conn.execute(delete(SEEN).where(SEEN.c.seen_at < now - KEEP))
    await session.flush()
    return fresh
