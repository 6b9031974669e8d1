"""Staff broadcasts: who an audience is, creating a broadcast, and its delivery report."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import outbox
from storage.audit import add_entry
from storage.bulk import collector_paused
from storage.models import Broadcast, Citizen, Comuna, Event, Registration, Subscription
from storage.types import utcnow

TOPICS = {
    "obras": "Obras",
    "eventos": "Eventos",
    "contratacion": "Contratación",
    "resumen": "Resumen semanal",
    "encuestas": "Encuestas",
}
SENDING, SCHEDULED, DONE, CANCELLED = "enviando", "programada", "terminada", "cancelada"
RUNNING = (SENDING, SCHEDULED)
BROADCASTS: Table = Broadcast.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Audience:
    """Who a broadcast goes to: everyone, comunas, a topic, leaders or an event's registrants."""

    kind: str  # todos | comuna | tema | lideres | evento
    values: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """Return the audience as stored on the broadcast."""
        return {"kind": self.kind, "values": list(self.values)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Audience:
        """Rebuild an audience stored with `as_dict`."""
        return cls(str(data.get("kind", "")), tuple(str(v) for v in data.get("values", [])))


async def describe(session: AsyncSession, audience: Audience) -> str:
    """Describe the audience in plain Spanish."""
    if audience.kind == "todos":
        return "todas las personas que usan el bot"
    if audience.kind == "lideres":
        return "líderes comunales"
    if audience.kind == "tema":
        names = ", ".join(TOPICS.get(v, v) for v in audience.values)
        return f"quienes siguen el tema {names}"
    if audience.kind == "comuna":
        query = select(Comuna).where(col(Comuna.codigo).in_(audience.values))
        rows = sorted((await session.exec(query)).all(), key=lambda c: c.id or 0)
        names = ", ".join(f"{c.codigo} - {c.nombre}" for c in rows)
        return f"quienes siguen la comuna {names}" if len(rows) == 1 else (
            f"quienes siguen las comunas {names}"
        )
    if audience.kind == "evento":
        event = await session.get(Event, int(audience.values[0])) if audience.values else None
        where = f"«{event.titulo}»" if event else "un evento"
        return f"personas inscritas en {where}"
    return "nadie"


def _audience_chats(audience: Audience) -> Any:
    """The query of the chat ids a subscription or event audience names (blocked chats
    still in), or None."""
    subs: Table = Subscription.__table__  # type: ignore[attr-defined]
    regs: Table = Registration.__table__  # type: ignore[attr-defined]
    if audience.kind in ("comuna", "tema"):
        return sa_select(subs.c.chat_id).where(
            subs.c.kind == audience.kind, subs.c.value.in_(audience.values)
        )
    if audience.kind == "evento" and audience.values:
        return sa_select(regs.c.chat_id).where(
            regs.c.event_id == int(audience.values[0]), regs.c.status == "confirmado"
        )
    return None


def _reachable(audience: Audience) -> Any:
    """The audience's chat ids without blocked chats, as a query, or None."""
    citizens: Table = Citizen.__table__  # type: ignore[attr-defined]
    if audience.kind in ("todos", "lideres"):  # citizens' own rows say whether they block
        # A person's private chat is theirs alone (its id is their user id): no DISTINCT,
        # which on PostgreSQL costs a hash of every id.
        chats = sa_select(citizens.c.chat_id).where(citizens.c.blocked_at.is_(None))
        if audience.kind == "lideres":
            chats = chats.where(citizens.c.role == "lider")
        return chats
    named = _audience_chats(audience)
    if named is None:
        return None
    inner = named.subquery()
    blocked = sa_select(citizens.c.chat_id).where(
        citizens.c.chat_id == inner.c.chat_id, citizens.c.blocked_at.is_not(None)
    )
    return sa_select(inner.c.chat_id).where(~blocked.exists()).distinct()


STREAM_CHUNK = 5_000


async def recipients(session: AsyncSession, audience: Audience) -> list[int]:
    """Return the chat ids the audience reaches now, without blocked chats, in a stable order."""
    query = _reachable(audience)
    if query is None:
        return []
    conn = await session.connection()
    # Streamed, a few thousand ids at a time with a pause between: turning a whole city's
    # 100,000 ids into Python objects in one go held every other chat ~140 ms.
    found: set[int] = set()
    async for chunk in (await conn.stream(query)).scalars().partitions(STREAM_CHUNK):
        found.update(chunk)
    return sorted(found)


async def count_recipients(session: AsyncSession, audience: Audience) -> int:
    """Return how many chats the audience reaches now, counted by the database (previews)."""
    query = _reachable(audience)
    if query is None:
        return 0
    conn = await session.connection()
    return int((await conn.execute(
        sa_select(func.count()).select_from(query.subquery())
    )).scalar_one())


async def create_broadcast(
    session: AsyncSession,
    *,
    created_by: int,
    audience: Audience,
    text: str,
    scheduled_for: datetime | None = None,
    dedupe: str | None = None,
    tag: dict[str, Any] | None = None,
) -> tuple[Broadcast, int]:
    """Create the broadcast, queue one outbox row per recipient, log it; return it and count.

    `dedupe` makes messages unique per chat across broadcasts (e.g. one weekly summary per
    week, however many times it is approved); `tag` is stored with the audience.
    """
    with collector_paused():  # a whole city's ids and rows live until the end
        chats = await recipients(session, audience)
        broadcast = Broadcast(
            created_by=created_by,
            audience={**audience.as_dict(), **(tag or {})},
            text=text,
            status=SCHEDULED if scheduled_for else SENDING,
            scheduled_for=scheduled_for,
        )
        session.add(broadcast)
        await session.flush()
        add_entry(
            session,
            actor_id=created_by,
            action="difusion",
            detail={"difusion": broadcast.id, "audiencia": audience.as_dict(),
                    "destinatarios": len(chats), "programada": scheduled_for.isoformat()
                    if scheduled_for else None, "texto": text[:200]},
        )
        # One transaction with its messages: a sender must never see it without them.
        queued = await outbox.enqueue(
            session, chat_ids=chats, payload={"text": text}, broadcast_id=broadcast.id,
            dedupe=dedupe or f"difusion:{broadcast.id}", not_before=scheduled_for,
        )
        await session.flush()
    return broadcast, queued


@dataclass(frozen=True)
class Withdrawal:
    """What `/difundir cancelar N` did: the broadcast's status before, and messages withdrawn."""

    status: str | None  # None: there is no such broadcast
    withdrawn: int = 0

    @property
    def cancelled(self) -> bool:
        """Tell whether the broadcast was running and is now cancelled."""
        return self.status in RUNNING


async def cancel_broadcast(
    session: AsyncSession, *, broadcast_id: int, actor_id: int
) -> Withdrawal:
    """Cancel a scheduled or sending broadcast: withdraw its unsent messages, and log it.

    A finished or already cancelled broadcast, or one that does not exist, is left alone
    and nothing is logged. Two cancellations at once cancel (and log) it once.
    """
    broadcast = await session.get(Broadcast, broadcast_id)
    if broadcast is None:
        return Withdrawal(None)
    status = broadcast.status
    if status not in RUNNING:
        return Withdrawal(status)
    conn = await session.connection()
    claimed = await conn.execute(
        update(BROADCASTS)
        .where(BROADCASTS.c.id == broadcast_id, BROADCASTS.c.status.in_(RUNNING))
        .values(status=CANCELLED, finished_at=utcnow())
    )
    if not claimed.rowcount:  # someone else cancelled or finished it meanwhile
        await session.refresh(broadcast)
        return Withdrawal(broadcast.status)
    deleted = await conn.execute(
        outbox.OUTBOX.delete().where(
            outbox.OUTBOX.c.broadcast_id == broadcast_id,
            outbox.OUTBOX.c.status == outbox.PENDING,
        )
    )
    withdrawn = int(deleted.rowcount or 0)
    add_entry(session, actor_id=actor_id, action="difusion_cancelada",
              detail={"difusion": broadcast_id, "retirados": withdrawn})
    await session.flush()
    return Withdrawal(status, withdrawn)


async def events_with_registrants(
    session: AsyncSession, *, now: datetime, limit: int = 20
) -> list[tuple[Event, int]]:
    """Return upcoming events that have confirmed registrants, soonest first, with the count."""
    registered = func.count(col(Registration.id))
    query = (
        select(Event, registered)
        .join(Registration, col(Registration.event_id) == col(Event.id))
        .where(col(Event.inicio) >= now, Registration.status == "confirmado")
        .group_by(col(Event.id))
        .order_by(col(Event.inicio), col(Event.id))
        .limit(limit)
    )
    return [(event, int(count)) for event, count in (await session.exec(query)).all()]


async def finished_broadcasts(session: AsyncSession) -> list[tuple[Broadcast, dict[str, int]]]:
    """Return the running broadcasts with nothing left to send, with their counts.

    Nothing is changed: `mark_finished` each one in the transaction that queues its report.
    """
    running = (
        await session.exec(select(Broadcast).where(col(Broadcast.status).in_((SENDING, SCHEDULED))))
    ).all()
    done = []
    for broadcast in running:
        counts = await outbox.status_counts(session, broadcast_id=broadcast.id)
        if counts[outbox.PENDING] or counts[outbox.SENDING]:
            continue
        done.append((broadcast, counts))
    await session.flush()
    return done


async def mark_finished(session: AsyncSession, broadcast: Broadcast) -> bool:
    """Mark a running broadcast finished (not committed); False if someone else just did."""
    conn = await session.connection()
    now = utcnow()
    result = await conn.execute(
        update(BROADCASTS)
        .where(BROADCASTS.c.id == broadcast.id, BROADCASTS.c.status.in_(RUNNING))
        .values(status=DONE, finished_at=now)
    )
    if not result.rowcount:
        return False
    broadcast.status, broadcast.finished_at = DONE, now
    return True
