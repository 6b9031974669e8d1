"""Who to tell about events and plan deadlines, and what has been told already.

Everything here is derived from the tables each time it runs, so a restart loses nothing,
and every message carries an outbox dedupe key, so nothing is sent twice.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime, timedelta

from sqlalchemy import Table
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.comunas import comuna_by_id
from storage.events import CONFIRMED, WAITING, ends_at
from storage.models import (
    Event,
    OutboxMessage,
    PlanActivity,
    Registration,
    Subscription,
    Survey,
)

# The hearing evaluation (plan activity 4.1), sent after every audiencia pública.
HEARING_SURVEY = "evaluacion-audiencia"


# Outbox dedupe keys hold at most 200 characters: a longer place is shortened, with a hash
# of the whole, so a change anywhere in it still shows (shorter places keep their old keys).
PLACE_IN_KEY = 100


def signature(event: Event) -> str:
    """Return what, when changed, makes an event worth announcing again: start and place."""
    place = event.lugar
    if len(place) > PLACE_IN_KEY:
        digest = hashlib.sha256(place.encode()).hexdigest()[:16]
        place = f"{place[: PLACE_IN_KEY - 17]}#{digest}"
    return f"{event.inicio.isoformat()}|{place}"


async def upcoming_events(
    session: AsyncSession, *, now: datetime, horizon: timedelta
) -> list[Event]:
    """Return events starting between now and now + horizon, soonest first."""
    query = (
        select(Event)
        .where(Event.inicio >= now, Event.inicio <= now + horizon)
        .order_by(col(Event.inicio))
    )
    return list((await session.exec(query)).all())


async def recently_ended(
    session: AsyncSession, *, since: datetime, until: datetime
) -> list[Event]:
    """Return events whose end (or default end) falls in (since, until]."""
    query = select(Event).where(
        Event.inicio > since - timedelta(days=2), Event.inicio <= until
    ).order_by(col(Event.inicio))
    return [e for e in (await session.exec(query)).all() if since < ends_at(e) <= until]


async def evaluation_survey(session: AsyncSession, event: Event) -> Survey | None:
    """Return the survey to send after the event: its own, or the hearing's for a hearing."""
    slug = event.encuesta or (HEARING_SURVEY if "audiencia" in event.tipo.lower() else None)
    if slug is None:
        return None
    return (await session.exec(select(Survey).where(Survey.slug == slug))).first()


async def event_audience(session: AsyncSession, event: Event) -> list[int]:
    """Return subscribers of the event's comuna and of the topic `eventos`."""
    comuna = await comuna_by_id(session, event.comuna_id)
    subs: Table = Subscription.__table__  # type: ignore[attr-defined]
    condition = (subs.c.kind == "tema") & (subs.c.value == "eventos")
    if comuna is not None:
        condition = condition | ((subs.c.kind == "comuna") & (subs.c.value == comuna.codigo))
    conn = await session.connection()
    return sorted(set((await conn.execute(sa_select(subs.c.chat_id).where(condition)))
                      .scalars().all()))


async def registrants(
    session: AsyncSession, event: Event, *, waiting: bool = False
) -> list[int]:
    """Return the chats registered (confirmed, and with `waiting` the waiting list too)."""
    statuses = [CONFIRMED, WAITING] if waiting else [CONFIRMED]
    query = select(Registration.chat_id).where(
        Registration.event_id == event.id, col(Registration.status).in_(statuses)
    )
    return sorted(set((await session.exec(query)).all()))


async def announced(session: AsyncSession, event: Event) -> bool:
    """Tell whether the event's announcement went out (with any date and place)."""
    query = select(OutboxMessage.id).where(
        col(OutboxMessage.dedupe_key).like(f"evento:{event.id}:%:anuncio:%")
    ).limit(1)
    return (await session.exec(query)).first() is not None


async def already_told(session: AsyncSession, *, prefix: str) -> list[int]:
    """Return the chats that have an outbox message whose dedupe key starts with `prefix`."""
    query = select(OutboxMessage.chat_id).where(col(OutboxMessage.dedupe_key).startswith(prefix))
    return sorted(set((await session.exec(query)).all()))


async def followers(session: AsyncSession, event: Event) -> list[int]:
    """Return who hears of a change to the event: anyone told anything about it, and its
    registrants (with a place or waiting)."""
    chats = set(await already_told(session, prefix=f"evento:{event.id}:"))
    chats |= set(await registrants(session, event, waiting=True))
    return sorted(chats)


async def last_told_key(session: AsyncSession, *, prefix: str) -> str | None:
    """Return the dedupe key of the latest outbox message whose key starts with `prefix`."""
    query = (
        select(OutboxMessage.dedupe_key)
        .where(col(OutboxMessage.dedupe_key).startswith(prefix))
        .order_by(col(OutboxMessage.id).desc())
        .limit(1)
    )
    return (await session.exec(query)).first()


async def deadlines_between(
    session: AsyncSession, *, start: date, end: date
) -> list[tuple[PlanActivity, date]]:
    """Return accountability-plan deadlines falling between start and end (inclusive)."""
    found = []
    for activity in (await session.exec(select(PlanActivity))).all():
        for text in activity.fechas_limite:
            day = date.fromisoformat(text)
            if start <= day <= end:
                found.append((activity, day))
    return sorted(found, key=lambda pair: (pair[1], pair[0].actividad))
