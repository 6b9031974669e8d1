"""The agenda: upcoming events, filters, and RSVPs with capacity and a waiting list.

A registration is confirmed while the event has free places; when it is full the person may
join the waiting list, and whoever cancels a confirmed place hands it to the oldest person
waiting. Every change of places runs after `_lock_event`, which serialises registrations
of one event (a row lock on PostgreSQL, the write lock on SQLite), so two people can never
take the last place at once.

Staff may cancel an event or postpone it, each with a reason (`cancel_event`,
`postpone_event`): the row keeps its state, the reason, the start it had before, and an
iCalendar sequence number that every change calendars must take raises. Both act once: a
second tap finds the event already cancelled, or already at the new time, and changes
nothing. Staff mark attendance on registrations (`storage.attendance`); the evaluation
survey then goes to those who came.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Table, bindparam, case, false, func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lean
from storage.audit import add_entry
from storage.comunas import all_comunas
from storage.db import dialect_of
from storage.models import Comuna, Event, Registration
from storage.snapshot import held, rows_of
from storage.text import fold, holds
from storage.types import utcnow

CONFIRMED, WAITING, CANCELLED = "confirmado", "espera", "cancelado"
# Event states: as planned, moved to another date by staff, or called off.
SCHEDULED, POSTPONED, CALLED_OFF = "programado", "aplazado", "cancelado"
# An event without an end time counts as over this long after it starts.
DEFAULT_LENGTH = timedelta(hours=2)

Outcome = Literal[
    "confirmado", "espera", "lleno", "ya_inscrito", "ya_en_espera", "pasado", "cancelado"
]


@dataclass(frozen=True)
class Places:
    """How an event's places stand: confirmed, waiting, capacity (None = no limit)."""

    confirmed: int
    waiting: int
    capacity: int | None

    @property
    def full(self) -> bool:
        """Tell whether no confirmed place is left."""
        return self.capacity is not None and self.confirmed >= self.capacity

    @property
    def free(self) -> int | None:
        """Return how many places are left (None = no limit)."""
        return None if self.capacity is None else max(0, self.capacity - self.confirmed)


@dataclass(frozen=True)
class Cancellation:
    """What cancelling did: whether the person was registered, and who moved up."""

    was: str | None
    promoted: int | None


def ends_at(event: Event) -> datetime:
    """Return when an event is over: its end, or a default length after it starts."""
    return event.fin or event.inicio + DEFAULT_LENGTH


def is_called_off(event: Event) -> bool:
    """Tell whether staff cancelled the event."""
    return event.estado == CALLED_OFF


async def _read_events(session: AsyncSession) -> tuple[Event, ...]:
    return tuple(await rows_of(session, Event, col(Event.inicio), col(Event.id)))


async def all_events(session: AsyncSession) -> tuple[Event, ...]:
    """Return every event, soonest first, from the snapshot (`storage.snapshot`): shared
    objects, never to be changed (staff edits read theirs with `event_by_id`)."""
    return await held(session, _read_events, ("event",))


async def upcoming(
    session: AsyncSession,
    *,
    now: datetime,
    comuna_id: int | None = None,
    tipo: str | None = None,
    words: str | None = None,
) -> list[Event]:
    """Return events not yet over, soonest first, optionally of one comuna or kind.

    `tipo` is one kind (as the filter buttons give it); `words` keeps the events whose kind
    or title holds every word (`taller`, `audiencias`, `taller de cocreacion`), ignoring
    accents and case. Upcoming events are few, so the words are matched here.
    """
    events = [e for e in await all_events(session)
              if (e.fin >= now if e.fin is not None else e.inicio >= now - DEFAULT_LENGTH)
              and (comuna_id is None or e.comuna_id == comuna_id)]
    if tipo is not None:
        events = [e for e in events if fold(e.tipo) == fold(tipo)]
    if words is not None:
        wanted = [w for w in fold(words).split() if len(w) > 2] or fold(words).split()
        events = [e for e in events if all(holds(fold(f"{e.tipo} {e.titulo}"), w) for w in wanted)]
    return events


async def kinds_and_comunas(
    session: AsyncSession, *, now: datetime
) -> tuple[list[tuple[str, int]], list[tuple[Comuna, int]]]:
    """Return the kinds and the comunas of upcoming events, each with its number of events."""
    events = await upcoming(session, now=now)
    kinds: dict[str, int] = {}
    per_comuna: dict[int, int] = {}
    for event in events:
        kinds[event.tipo.lower()] = kinds.get(event.tipo.lower(), 0) + 1
        if event.comuna_id is not None:
            per_comuna[event.comuna_id] = per_comuna.get(event.comuna_id, 0) + 1
    comunas = await all_comunas(session)
    return (
        sorted(kinds.items()),
        [(c, per_comuna[c.id]) for c in comunas if c.id in per_comuna],
    )


async def places(session: AsyncSession, *, event: Event) -> Places:
    """Return how the event's places stand."""
    query = (
        select(Registration.status, func.count())
        .where(Registration.event_id == event.id)
        .group_by(col(Registration.status))
    )
    counts = dict((await session.exec(query)).all())
    return Places(int(counts.get(CONFIRMED, 0)), int(counts.get(WAITING, 0)), event.capacidad)


_REGISTRATIONS: Table = Registration.__table__  # type: ignore[attr-defined]
# Built once, run with the ids: building a statement costs more than running it.
_SEAT = sa_select(
    func.count(case((_REGISTRATIONS.c.status == CONFIRMED, 1))),
    func.count(case((_REGISTRATIONS.c.status == WAITING, 1))),
    func.max(case((_REGISTRATIONS.c.chat_id == bindparam("chat"), _REGISTRATIONS.c.id))),
).where(_REGISTRATIONS.c.event_id == bindparam("event"))
_STATUSES = sa_select(_REGISTRATIONS.c.event_id, _REGISTRATIONS.c.status).where(
    _REGISTRATIONS.c.chat_id == bindparam("chat"), _REGISTRATIONS.c.status != CANCELLED)
_REGISTRATION = sa_select(_REGISTRATIONS).where(_REGISTRATIONS.c.id == bindparam("id"))


@dataclass(frozen=True)
class Seat:
    """How an event stands for one person: its places, their registration (any status) and,
    on the waiting list, their 1-based place in it (else 0)."""

    places: Places
    mine: Registration | None
    position: int


async def seat(session: AsyncSession, *, event: Event, chat_id: int) -> Seat:
    """Return the event's places and this person's registration in it: one read, and one
    more only for a person who registered."""
    ((confirmed, waiting, mine_id),) = await lean.rows(
        session, _SEAT, {"event": event.id, "chat": chat_id})
    current = Places(int(confirmed or 0), int(waiting or 0), event.capacidad)
    if mine_id is None:
        return Seat(current, None, 0)
    found = await lean.objects(session, Registration, _REGISTRATION, {"id": mine_id})
    mine = found[0] if found else None
    position = (await waiting_position(session, registration=mine)
                if mine is not None and mine.status == WAITING else 0)
    return Seat(current, mine, position)


async def registration_of(
    session: AsyncSession, *, event_id: int, chat_id: int
) -> Registration | None:
    """Return the person's registration for the event (any status), if any."""
    query = select(Registration).where(
        Registration.event_id == event_id, Registration.chat_id == chat_id
    )
    return (await session.exec(query)).first()


async def statuses_of(
    session: AsyncSession, *, chat_id: int, event_ids: list[int]
) -> dict[int, str]:
    """Return the person's registration status (confirmed or waiting) by event id."""
    if not event_ids:
        return {}
    wanted = set(event_ids)  # a person has few registrations: all are read, in one trip
    return {event_id: status
            for event_id, status in await lean.rows(session, _STATUSES, {"chat": chat_id})
            if event_id in wanted}


async def waiting_position(session: AsyncSession, *, registration: Registration) -> int:
    """Return the 1-based place of a waiting registration in its event's waiting list."""
    query = select(func.count()).where(
        Registration.event_id == registration.event_id,
        Registration.status == WAITING,
        Registration.created_at <= registration.created_at,
    )
    return int((await session.exec(query)).one())


async def _lock_event(session: AsyncSession, event_id: int) -> None:
    # Until commit, so the count of places read next cannot go stale: the event's row lock
    # on PostgreSQL (FOR UPDATE), the database's one write lock on SQLite (an UPDATE that
    # matches no row takes it). Neither writes the event: a write would move the events'
    # data version, and every instance would read the events again after each registration.
    if dialect_of(session) == "postgresql":
        await session.exec(select(Event.id).where(col(Event.id) == event_id).with_for_update())
    else:
        await session.exec(update(Event).where(false()).values(id=Event.id))


async def register(
    session: AsyncSession, *, event: Event, chat_id: int, waitlist: bool = False, now: datetime
) -> Outcome:
    """Confirm a place, or (with `waitlist`) join the waiting list when the event is full.

    Returns what happened; `lleno` means full and nothing changed (ask about the waiting list).
    """
    if ends_at(event) <= now:
        return "pasado"
    if is_called_off(event):
        return "cancelado"
    assert event.id is not None
    await _lock_event(session, event.id)
    mine = await registration_of(session, event_id=event.id, chat_id=chat_id)
    if mine is not None and mine.status == CONFIRMED:
        await session.flush()
        return "ya_inscrito"
    current = await places(session, event=event)
    if current.full and mine is not None and mine.status == WAITING:
        await session.flush()
        return "ya_en_espera"
    if current.full and not waitlist:
        await session.flush()
        return "lleno"
    status = WAITING if current.full else CONFIRMED
    if mine is None:
        mine = Registration(event_id=event.id, chat_id=chat_id)
    mine.status, mine.created_at = status, utcnow()
    session.add(mine)
    await session.flush()
    return "espera" if status == WAITING else "confirmado"


async def cancel(session: AsyncSession, *, event: Event, chat_id: int) -> Cancellation:
    """Cancel a place or waiting-list entry; give a freed place to the first in line."""
    assert event.id is not None
    await _lock_event(session, event.id)
    mine = await registration_of(session, event_id=event.id, chat_id=chat_id)
    if mine is None or mine.status == CANCELLED:
        await session.flush()
        return Cancellation(was=None, promoted=None)
    was = mine.status
    mine.status = CANCELLED
    session.add(mine)
    await session.flush()
    promoted = await _promote(session, event=event) if was == CONFIRMED else None
    await session.flush()
    return Cancellation(was=was, promoted=promoted)


async def _promote(session: AsyncSession, *, event: Event) -> int | None:
    """Give a free place to the oldest waiting registration; return its chat id."""
    if (await places(session, event=event)).full:
        return None
    query = (
        select(Registration)
        .where(Registration.event_id == event.id, Registration.status == WAITING)
        .order_by(col(Registration.created_at), col(Registration.id))
    )
    first = (await session.exec(query)).first()
    if first is None:
        return None
    first.status = CONFIRMED
    session.add(first)
    await session.flush()
    return first.chat_id


async def fill_freed_places(session: AsyncSession, *, event: Event) -> list[int]:
    """Move people up from the waiting list while places are free; return who moved up."""
    assert event.id is not None
    if is_called_off(event):
        return []
    await _lock_event(session, event.id)
    moved = []
    while (chat_id := await _promote(session, event=event)) is not None:
        moved.append(chat_id)
    await session.flush()
    return moved


async def event_by_id(session: AsyncSession, event_id: int) -> Event | None:
    """Return the event with this id, held by the session (to change it)."""
    return await session.get(Event, event_id)


async def shown_event(session: AsyncSession, event_id: int) -> Event | None:
    """Return the event with this id from the snapshot, to show (never to change)."""
    return next((e for e in await all_events(session) if e.id == event_id), None)


@dataclass(frozen=True)
class EventDraft:
    """What the staff wizard gathered for a new event (times in UTC)."""

    titulo: str
    tipo: str
    inicio: datetime
    lugar: str
    comuna_id: int | None = None
    capacidad: int | None = None
    anunciar_desde: datetime | None = None
    fin: datetime | None = None
    descripcion: str | None = None
    enlace: str | None = None
    latitud: float | None = None
    longitud: float | None = None


async def create_event(session: AsyncSession, *, draft: EventDraft, actor_id: int) -> Event:
    """Save a new event from the staff wizard and record it in the audit log."""
    event = Event(
        clave=f"panel-{utcnow().strftime('%Y%m%d%H%M%S%f')}",
        titulo=draft.titulo,
        tipo=draft.tipo,
        inicio=draft.inicio,
        lugar=draft.lugar,
        comuna_id=draft.comuna_id,
        capacidad=draft.capacidad,
        anunciar_desde=draft.anunciar_desde,
        fin=draft.fin,
        descripcion=draft.descripcion,
        enlace=draft.enlace,
        latitud=draft.latitud,
        longitud=draft.longitud,
    )
    session.add(event)
    await session.flush()
    add_entry(
        session,
        actor_id=actor_id,
        action="evento_creado",
        detail={"evento": event.id, "titulo": event.titulo},
    )
    await session.flush()
    return event


EDITABLE = ("inicio", "lugar", "capacidad", "titulo")


async def edit_event(
    session: AsyncSession, *, event: Event, field: str, value: object, actor_id: int
) -> list[int]:
    """Change one field of an event (audited); return who moved up if places were added."""
    if field not in EDITABLE:
        raise ValueError(field)
    old = getattr(event, field)
    if field == "inicio" and isinstance(value, datetime):
        _move(event, value)
    elif field == "lugar" and value != old:
        event.secuencia += 1
    setattr(event, field, value)
    event.updated_at = utcnow()
    session.add(event)
    add_entry(
        session,
        actor_id=actor_id,
        action="evento_editado",
        detail={"evento": event.id, "campo": field, "antes": str(old), "ahora": str(value)},
    )
    await session.flush()
    if field == "capacidad":
        return await fill_freed_places(session, event=event)
    return []


def _move(event: Event, start: datetime) -> None:
    """Move the event to a new start, keeping its length and remembering the old start."""
    if start == event.inicio:
        return
    if event.fin is not None:
        event.fin = start + (event.fin - event.inicio)
    event.inicio_anterior, event.inicio = event.inicio, start
    event.secuencia += 1


# The stored columns `imported_change` reads.
IMPORT_READS = ("inicio", "fin", "lugar", "secuencia")


def imported_change(
    stored: Mapping[Any, Any], changed: Mapping[str, Any], written: Mapping[str, Any]
) -> dict[str, Any]:
    """Return what an import that changed an event also writes, as staff's edit does.

    A new start keeps the earlier one (said as «del … al …») and, when the file gives no
    end, the event's length; a new start or place raises the calendar's SEQUENCE, so each
    change is a new notice and calendars replace the entry.
    """
    extra: dict[str, Any] = {}
    if "inicio" in changed:
        extra["inicio_anterior"] = stored["inicio"]
        if "fin" not in written and stored["fin"] is not None:
            extra["fin"] = changed["inicio"] + (stored["fin"] - stored["inicio"])
    if "inicio" in changed or "lugar" in changed:
        extra["secuencia"] = stored["secuencia"] + 1
    return extra


async def _locked(session: AsyncSession, event_id: int) -> Event | None:
    """Lock the event's row and return it as the database has it now."""
    await _lock_event(session, event_id)
    return await session.get(Event, event_id, populate_existing=True)


async def cancel_event(
    session: AsyncSession, *, event_id: int, reason: str, actor_id: int
) -> Event | None:
    """Cancel the event with a reason (audited); None if it is gone or already cancelled."""
    event = await _locked(session, event_id)
    if event is None or is_called_off(event):
        await session.flush()
        return None
    event.estado, event.motivo = CALLED_OFF, reason
    event.secuencia += 1
    event.updated_at = utcnow()
    session.add(event)
    add_entry(session, actor_id=actor_id, action="evento_cancelado",
              detail={"evento": event_id, "motivo": reason})
    await session.flush()
    return event


async def postpone_event(
    session: AsyncSession, *, event_id: int, start: datetime, reason: str, actor_id: int
) -> Event | None:
    """Move the event to `start` with a reason (audited).

    Returns None when there is nothing to do: the event is gone, cancelled, or already
    starts then (a second tap of the same postponement).
    """
    event = await _locked(session, event_id)
    if event is None or is_called_off(event) or event.inicio == start:
        await session.flush()
        return None
    before = event.inicio
    _move(event, start)
    event.estado, event.motivo = POSTPONED, reason
    event.updated_at = utcnow()
    session.add(event)
    add_entry(session, actor_id=actor_id, action="evento_aplazado", detail={
        "evento": event_id, "motivo": reason, "antes": before.isoformat(),
        "ahora": start.isoformat(),
    })
    await session.flush()
    return event
