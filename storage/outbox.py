"""The outbox: one row per message per recipient, claimed and settled by the sender.

Statuses: pendiente → enviando → enviado | fallido | bloqueado (pendiente again for a retry).
Claiming is an `UPDATE … WHERE status = 'pendiente' … RETURNING`, so two senders (two
processes, or two instances on PostgreSQL) never take the same row. A row left `enviando`
by a sender that died may or may not have reached Telegram; it is settled as `fallido`
("interrumpido") rather than sent again, because nothing may arrive twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Citizen, OutboxMessage
from storage.types import utcnow

PENDING, SENDING, SENT, FAILED, BLOCKED = "pendiente", "enviando", "enviado", "fallido", "bloqueado"
STATUSES = (PENDING, SENDING, SENT, FAILED, BLOCKED)
OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Claimed:
    """A row a sender now owns: what to send and to whom."""

    id: int
    chat_id: int
    kind: str
    payload: dict[str, Any]
    attempts: int


async def enqueue(
    session: AsyncSession,
    *,
    chat_ids: Iterable[int],
    payload: dict[str, Any],
    kind: str = "text",
    broadcast_id: int | None = None,
    dedupe: str | None = None,
    not_before: datetime | None = None,
) -> int:
    """Queue one message per chat (skipping blocked chats and `dedupe` repeats); commit."""
    conn = await session.connection()
    citizens: Table = Citizen.__table__  # type: ignore[attr-defined]
    blocked = set(
        (await conn.execute(
            select(citizens.c.chat_id).where(citizens.c.blocked_at.is_not(None))
        )).scalars().all()
    )
    now = utcnow()
    rows = [
        {
            "broadcast_id": broadcast_id, "chat_id": chat, "kind": kind, "payload": payload,
            "dedupe_key": f"{dedupe}:{chat}" if dedupe else None, "status": PENDING,
            "attempts": 0, "not_before": not_before or now, "created_at": now,
        }
        for chat in dict.fromkeys(chat_ids)
        if chat not in blocked
    ]
    if not rows:
        return 0
    table = OUTBOX
    dialect = conn.dialect.name
    insert = postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table)
    statement = insert.on_conflict_do_nothing(index_elements=["dedupe_key"]).returning(
        table.c.id
    )
    inserted = 0
    for start in range(0, len(rows), 1000):
        result = await conn.execute(statement, rows[start : start + 1000])
        inserted += len(result.all())
    await session.commit()
    return inserted


async def claim(session: AsyncSession, *, limit: int, now: datetime | None = None) -> list[Claimed]:
    """Take up to `limit` due rows for this sender (oldest first) and commit the claim."""
    now = now or utcnow()
    due = (
        select(OUTBOX.c.id)
        .where(OUTBOX.c.status == PENDING, OUTBOX.c.not_before <= now)
        .order_by(OUTBOX.c.id)
        .limit(limit)
    )
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list((await conn.execute(due)).scalars().all())
    if not ids:
        await session.commit()
        return []
    c = OUTBOX.c
    claimed = await conn.execute(
        update(OUTBOX)
        .where(c.id.in_(ids), c.status == PENDING)
        .values(status=SENDING, claimed_at=now)
        .returning(c.id, c.chat_id, c.kind, c.payload, c.attempts)
    )
    rows = [Claimed(*row) for row in claimed.all()]
    await session.commit()
    return sorted(rows, key=lambda r: r.id)


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed row: the status to settle it in, and the details."""

    row_id: int
    chat_id: int
    status: str  # enviado | pendiente (retry) | fallido | bloqueado
    message_id: int | None = None
    error: str | None = None
    retry_at: datetime | None = None
    count_attempt: bool = True


async def settle(session: AsyncSession, outcomes: Iterable[Outcome]) -> None:
    """Settle a batch of claimed rows in one transaction.

    Only rows still `enviando` are touched. A blocked chat also marks its citizen blocked and
    its other pending rows `bloqueado`, so nothing more is sent there.
    """
    conn = await session.connection()
    c = OUTBOX.c
    now = utcnow()
    guard = (c.id == bindparam("rid")) & (c.status == SENDING)
    groups: dict[str, list[dict[str, Any]]] = {}
    blocked_chats: set[int] = set()
    for o in outcomes:
        error = (o.error or "")[:500] or None
        if o.status == SENT:
            groups.setdefault("sent", []).append(
                {"rid": o.row_id, "mid": o.message_id, "at": now}
            )
        elif o.status == PENDING:
            key = "retry_count" if o.count_attempt else "retry_free"
            groups.setdefault(key, []).append(
                {"rid": o.row_id, "err": error, "nb": o.retry_at or now}
            )
        elif o.status == BLOCKED:
            blocked_chats.add(o.chat_id)
            groups.setdefault("blocked", []).append({"rid": o.row_id, "err": error})
        else:
            groups.setdefault("failed", []).append({"rid": o.row_id, "err": error})
    statements = {
        "sent": update(OUTBOX).where(guard).values(
            status=SENT, telegram_message_id=bindparam("mid"), sent_at=bindparam("at")
        ),
        "retry_count": update(OUTBOX).where(guard).values(
            status=PENDING, last_error=bindparam("err"), not_before=bindparam("nb"),
            attempts=c.attempts + 1,
        ),
        "retry_free": update(OUTBOX).where(guard).values(
            status=PENDING, last_error=bindparam("err"), not_before=bindparam("nb")
        ),
        "blocked": update(OUTBOX).where(guard).values(status=BLOCKED, last_error=bindparam("err")),
        "failed": update(OUTBOX).where(guard).values(
            status=FAILED, last_error=bindparam("err"), attempts=c.attempts + 1
        ),
    }
    for key, params in groups.items():
        await conn.execute(statements[key], params)
    if blocked_chats:
        citizens: Table = Citizen.__table__  # type: ignore[attr-defined]
        await conn.execute(
            update(citizens).where(citizens.c.chat_id.in_(blocked_chats)).values(blocked_at=now)
        )
        await conn.execute(
            update(OUTBOX)
            .where(c.chat_id.in_(blocked_chats), c.status == PENDING)
            .values(status=BLOCKED, last_error="el chat bloqueó al bot")
        )
    await session.commit()


async def cancel_pending(session: AsyncSession, *, broadcast_id: int) -> int:
    """Withdraw a broadcast's rows that have not been sent; return how many."""
    conn = await session.connection()
    result = await conn.execute(
        OUTBOX.delete().where(OUTBOX.c.broadcast_id == broadcast_id, OUTBOX.c.status == PENDING)
    )
    await session.commit()
    return int(result.rowcount or 0)


async def settle_interrupted(session: AsyncSession, *, older_than: timedelta) -> int:
    """Settle rows a dead sender left `enviando` as failed, never resending them."""
    cutoff = utcnow() - older_than
    conn = await session.connection()
    result = await conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.status == SENDING, OUTBOX.c.claimed_at < cutoff)
        .values(status=FAILED, last_error="interrumpido: no se reenvía para no duplicar")
    )
    await session.commit()
    return int(result.rowcount or 0)


async def status_counts(
    session: AsyncSession, *, broadcast_id: int | None = None
) -> dict[str, int]:
    """Return how many rows are in each status (for one broadcast, or all)."""
    query = select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status)
    if broadcast_id is not None:
        query = query.where(OUTBOX.c.broadcast_id == broadcast_id)
    counts = dict.fromkeys(STATUSES, 0)
    conn = await session.connection()
    for status, count in (await conn.execute(query)).all():
        counts[status] = int(count)
    return counts


async def queued_before(session: AsyncSession, *, dedupe: str) -> bool:
    """Tell whether any message was queued with this dedupe key (for anyone)."""
    conn = await session.connection()
    query = select(OUTBOX.c.id).where(OUTBOX.c.dedupe_key.startswith(f"{dedupe}:")).limit(1)
    return (await conn.execute(query)).first() is not None
