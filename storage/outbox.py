"""The outbox: one row per message per recipient, reserved, handed over and settled by a sender.

A row's life (like GOV.UK Notify's):

    pendiente ──(its own send starts)──▶ enviando ──▶ enviado | bloqueado | fallido | incierto
        ▲                                    │
        └──── connect error / 5xx / 429 ─────┘   (Telegram certainly did not take it)

- `pendiente`: waiting. A sender *reserves* a few due rows at a time (`reserve`: holder and a
  short lease); they stay `pendiente`, and go back to anyone when the lease runs out.
- `enviando`: handed to Telegram, one row at a time, just before its request (`hand_over`).
- `enviado` (accepted), `bloqueado` (the person blocked the bot or the chat is gone),
  `fallido` (Telegram refused it for good, or it kept failing), `incierto`: it was in flight
  when its sender died, or Telegram did not answer in time after the request was written. It
  may have arrived; it is final and never sent again, so nobody gets a message twice.

The minute sweep (`sweep`) puts reserved rows whose holder is gone back in the queue and
settles `enviando` rows whose lease ran out as `incierto`. Reserving is an
`UPDATE … WHERE` on rows nobody holds (`FOR UPDATE SKIP LOCKED` on PostgreSQL) and every later
step checks the holder, so two senders never take the same row.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, Table, bindparam, case, cast, func, literal, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert_for
from storage.models import Citizen, OutboxMessage, SendPace
from storage.types import utcnow

PENDING, SENDING, SENT = "pendiente", "enviando", "enviado"
FAILED, BLOCKED, UNCERTAIN = "fallido", "bloqueado", "incierto"
STATUSES = (PENDING, SENDING, SENT, FAILED, BLOCKED, UNCERTAIN)
FINAL = (SENT, FAILED, BLOCKED, UNCERTAIN)
OUTBOX: Table = OutboxMessage.__table__  # type: ignore[attr-defined]
# «Still to send», «in flight», «uncertain» as constants in the SQL, not parameters: a
# partial index (`ix_outbox_due`, `…_in_flight`, `…_uncertain`) serves a query that names
# its condition.
IS_PENDING = OUTBOX.c.status == literal(PENDING, literal_execute=True)
IS_SENDING = OUTBOX.c.status == literal(SENDING, literal_execute=True)
IS_UNCERTAIN = OUTBOX.c.status == literal(UNCERTAIN, literal_execute=True)
PACE: Table = SendPace.__table__  # type: ignore[attr-defined]
# A reservation lapses if its sender has not handed the row over by then; a row in flight
# is presumed lost with its sender after SEND_LEASE (PTB gives up on a request after ~16 s).
ROWS_PER_INSERT = 500  # messages queued by one statement (`enqueue`)
RESERVE_LEASE = timedelta(seconds=30)
SEND_LEASE = timedelta(seconds=45)
GONE = "en vuelo cuando su remitente se detuvo: pudo llegar; no se reenvía"


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
    """Queue one message per chat (skipping blocked chats and `dedupe` repeats)."""
    conn = await session.connection()
    citizens: Table = Citizen.__table__  # type: ignore[attr-defined]
    chats = list(dict.fromkeys(chat_ids))
    blocked_chats = select(citizens.c.chat_id).where(citizens.c.blocked_at.is_not(None))
    if len(chats) <= 500:  # a message to a few: look only them up (by the chat_id index)
        blocked_chats = blocked_chats.where(citizens.c.chat_id.in_(chats))
    blocked = set((await conn.execute(blocked_chats)).scalars().all())
    now = utcnow()
    table = OUTBOX
    statement = insert_for(conn, table).on_conflict_do_nothing(
        index_elements=["dedupe_key"]).returning(table.c.id)
    inserted = 0
    # A few hundred rows a statement, each built when it is sent: between two, the event
    # loop serves everyone else (a broadcast to the whole city is 100,000 rows).
    for start in range(0, len(chats), ROWS_PER_INSERT):
        rows = [
            {
                "broadcast_id": broadcast_id, "chat_id": chat, "kind": kind, "payload": payload,
                "dedupe_key": f"{dedupe}:{chat}" if dedupe else None,
                "dedupe_group": dedupe or None, "status": PENDING,
                "attempts": 0, "not_before": not_before or now, "created_at": now,
            }
            for chat in chats[start : start + ROWS_PER_INSERT]
            if chat not in blocked
        ]
        if rows:
            result = await conn.execute(statement, rows)
            inserted += len(result.all())
    await session.flush()
    return inserted


def _free(now: datetime) -> Any:
    """Rows nobody holds: never reserved, given back, or whose holder's lease ran out."""
    c = OUTBOX.c
    return or_(c.claimed_by.is_(None), c.lease_until.is_(None), c.lease_until < now)


async def reserve(
    session: AsyncSession, *, by: str, limit: int, now: datetime | None = None,
    again: bool = False,
) -> list[Claimed]:
    """Reserve up to `limit` due rows nobody holds for sender `by`, oldest first.

    They stay `pendiente` until `hand_over`; if `by` does not get to them within
    RESERVE_LEASE, anyone may take them. With `again` (only when `by` is holding none in
    hand, e.g. after a database outage kept it from letting them go), `by`'s own earlier
    reservations are taken too.
    """
    now = now or utcnow()
    c = OUTBOX.c
    free = or_(_free(now), c.claimed_by == by) if again else _free(now)
    due = (
        select(c.id)
        .where(IS_PENDING, c.not_before <= now, free)
        .order_by(c.id)
        .limit(limit)
    )
    conn = await session.connection()
    if conn.dialect.name == "postgresql":
        due = due.with_for_update(skip_locked=True)
    ids = list((await conn.execute(due)).scalars().all())
    if not ids:
        await session.flush()
        return []
    claimed = await conn.execute(
        update(OUTBOX)
        .where(c.id.in_(ids), IS_PENDING, free)
        .values(claimed_by=by, lease_until=now + RESERVE_LEASE)
        .returning(c.id, c.chat_id, c.kind, c.payload, c.attempts)
    )
    rows = [Claimed(*row) for row in claimed.all()]
    await session.flush()
    return sorted(rows, key=lambda r: r.id)


async def hand_over(
    session: AsyncSession, ids: Iterable[int], *, by: str, now: datetime | None = None
) -> set[int]:
    """Mark rows `by` still holds `enviando`, just before their requests; return which.

    A row missing from the answer was withdrawn (a cancelled broadcast, deleted data) or
    taken by another sender after `by`'s reservation lapsed: it must not be sent.
    """
    now = now or utcnow()
    c = OUTBOX.c
    conn = await session.connection()
    result = await conn.execute(
        update(OUTBOX)
        .where(c.id.in_(list(ids)), c.status == PENDING, c.claimed_by == by)
        .values(status=SENDING, claimed_at=now, lease_until=now + SEND_LEASE)
        .returning(c.id)
    )
    handed = set(result.scalars().all())
    await session.flush()
    return handed


async def release(session: AsyncSession, *, by: str) -> int:
    """Let go of the rows `by` reserved and did not hand over (a sender stopping)."""
    c = OUTBOX.c
    conn = await session.connection()
    result = await conn.execute(
        update(OUTBOX)
        .where(c.claimed_by == by, IS_PENDING)
        .values(claimed_by=None, lease_until=None)
    )
    await session.flush()
    return int(result.rowcount or 0)


@dataclass(frozen=True)
class Swept:
    """What the minute sweep did: reservations released, rows in flight settled `incierto`."""

    released: int
    uncertain: int


async def sweep(session: AsyncSession, *, now: datetime | None = None) -> Swept:
    """Release reservations whose holder is gone; settle lost rows in flight as `incierto`."""
    now = now or utcnow()
    c = OUTBOX.c
    lapsed = or_(c.lease_until.is_(None), c.lease_until < now)
    conn = await session.connection()
    released = await conn.execute(
        update(OUTBOX)
        .where(IS_PENDING, c.claimed_by.is_not(None), lapsed)
        .values(claimed_by=None, lease_until=None)
    )
    uncertain = await conn.execute(
        update(OUTBOX)
        .where(IS_SENDING, lapsed)
        .values(status=UNCERTAIN, last_error=GONE, lease_until=None)
    )
    await session.flush()
    return Swept(int(released.rowcount or 0), int(uncertain.rowcount or 0))


@dataclass(frozen=True)
class Outcome:
    """What happened to one claimed row: the status to settle it in, and the details."""

    row_id: int
    chat_id: int
    status: str  # enviado | pendiente (retry) | fallido | bloqueado | incierto
    message_id: int | None = None
    error: str | None = None
    retry_at: datetime | None = None
    count_attempt: bool = True
    sent_at: datetime | None = None  # when the request left (the row's `sent_at`)


async def settle(session: AsyncSession, outcomes: Iterable[Outcome], *, by: str) -> None:
    """Settle rows `by` handed over, in one transaction.

    Only rows `by` still holds are touched, `enviando` or already swept to `incierto` (a
    settle delayed past the lease by a database outage still records what really happened).
    A blocked chat also marks its citizen blocked and its other pending rows `bloqueado`, so
    nothing more is sent there.
    """
    conn = await session.connection()
    c = OUTBOX.c
    now = utcnow()
    guard = (
        (c.id == bindparam("rid")) & ((c.status == SENDING) | (c.status == UNCERTAIN))
        & (c.claimed_by == by)
    )
    groups: dict[str, list[dict[str, Any]]] = {}
    blocked_chats: set[int] = set()
    for o in outcomes:
        error = (o.error or "")[:500] or None
        if o.status == SENT:
            groups.setdefault("sent", []).append(
                {"rid": o.row_id, "mid": o.message_id, "at": o.sent_at or now}
            )
        elif o.status == PENDING:
            key = "retry_count" if o.count_attempt else "retry_free"
            groups.setdefault(key, []).append(
                {"rid": o.row_id, "err": error, "nb": o.retry_at or now}
            )
        elif o.status == BLOCKED:
            blocked_chats.add(o.chat_id)
            groups.setdefault("blocked", []).append({"rid": o.row_id, "err": error})
        elif o.status == UNCERTAIN:
            groups.setdefault("uncertain", []).append({"rid": o.row_id, "err": error})
        else:
            groups.setdefault("failed", []).append({"rid": o.row_id, "err": error})
    statements = {
        "sent": update(OUTBOX).where(guard).values(
            status=SENT, telegram_message_id=bindparam("mid"), sent_at=bindparam("at"),
            lease_until=None, last_error=None,
        ),
        "retry_count": update(OUTBOX).where(guard).values(
            status=PENDING, last_error=bindparam("err"), not_before=bindparam("nb"),
            attempts=c.attempts + 1, claimed_by=None, lease_until=None,
        ),
        "retry_free": update(OUTBOX).where(guard).values(
            status=PENDING, last_error=bindparam("err"), not_before=bindparam("nb"),
            claimed_by=None, lease_until=None,
        ),
        "blocked": update(OUTBOX).where(guard).values(
            status=BLOCKED, last_error=bindparam("err"), lease_until=None
        ),
        "failed": update(OUTBOX).where(guard).values(
            status=FAILED, last_error=bindparam("err"), attempts=c.attempts + 1,
            lease_until=None,
        ),
        "uncertain": update(OUTBOX).where(guard).values(
            status=UNCERTAIN, last_error=bindparam("err"), attempts=c.attempts + 1,
            lease_until=None,
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
    await session.flush()


async def cancel_pending(session: AsyncSession, *, broadcast_id: int) -> int:
    """Withdraw a broadcast's rows that have not been sent; return how many."""
    conn = await session.connection()
    result = await conn.execute(
        OUTBOX.delete().where(OUTBOX.c.broadcast_id == broadcast_id, OUTBOX.c.status == PENDING)
    )
    await session.flush()
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
    if not dedupe:
        return False
    conn = await session.connection()
    query = select(OUTBOX.c.id).where(OUTBOX.c.dedupe_group == dedupe).limit(1)
    return (await conn.execute(query)).first() is not None


async def reserve_slots(
    session: AsyncSession, *, key: str, count: int, interval: float, now: float | None = None,
    ahead: float = 0.0,
) -> tuple[float, float]:
    """Take the next `count` sending slots, `interval` seconds apart, of the shared rate `key`.

    The first is no sooner than `ahead` seconds from now (a slot the caller could not get
    ready for in time would be lost). Return (first slot, now), both in seconds on the
    database's clock (PostgreSQL's; on SQLite, `now` or this machine's), so instances on
    hosts whose clocks differ still share one schedule: the caller waits `first - now` by
    its own clock. Commits.
    """
    conn = await session.connection()
    clock: Any
    if conn.dialect.name == "postgresql":
        clock = cast(func.extract("epoch", func.clock_timestamp()), Float)
    else:
        clock = bindparam("now", now if now is not None else time.time(), type_=Float)
    await conn.execute(
        insert_for(conn, PACE).values(key=key, next_at=0.0)
        .on_conflict_do_nothing(index_elements=["key"])
    )
    c = PACE.c
    earliest = clock + ahead
    start = case((c.next_at > earliest, c.next_at), else_=earliest)
    row = (await conn.execute(
        update(PACE).where(c.key == key).values(next_at=start + count * interval)
        .returning(c.next_at, clock)
    )).one()
    await session.flush()
    return float(row[0]) - count * interval, float(row[1])


async def pause_slots(session: AsyncSession, *, key: str, seconds: float) -> None:
    """Give no slot of `key` for `seconds` from now (Telegram's 429 is bot-wide)."""
    conn = await session.connection()
    clock: Any
    if conn.dialect.name == "postgresql":
        clock = cast(func.extract("epoch", func.clock_timestamp()), Float)
    else:
        clock = bindparam("now", time.time(), type_=Float)
    c = PACE.c
    until = clock + seconds
    await conn.execute(
        update(PACE).where(c.key == key)
        .values(next_at=case((c.next_at > until, c.next_at), else_=until))
    )
    await session.flush()
