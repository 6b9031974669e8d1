"""Attendance at events: staff mark who came on the registrations (`mark_attendance`), by
the number on each person's card, never the chat; the evaluation survey then goes to those
who came (`present_chats`); the sheet exports with local times (`attendance_rows`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.events import CANCELLED, CONFIRMED, WAITING
from storage.models import Registration


@dataclass(frozen=True)
class Attendee:
    """A registration as staff see it on the attendance sheet: its number, never the chat."""

    number: int  # the registration's id, shown on the person's card
    status: str  # confirmado | espera
    registered_at: datetime
    present: bool


async def attendees(session: AsyncSession, *, event_id: int) -> list[Attendee]:
    """Return the event's registrations (confirmed first, then the waiting list in order)."""
    query = (
        select(Registration)
        .where(Registration.event_id == event_id, Registration.status != CANCELLED)
        .order_by(col(Registration.created_at), col(Registration.id))
    )
    rows = (await session.exec(query)).all()
    people = [Attendee(r.id or 0, r.status, r.created_at, r.asistio) for r in rows]
    return sorted(people, key=lambda a: a.status != CONFIRMED)


async def mark_attendance(
    session: AsyncSession, *, event_id: int, numbers: list[int], present: bool
) -> dict[int, int]:
    """Mark the registrations with these numbers present (or not); return number → chat id.

    Only registrations of this event that are not cancelled count; other numbers are left
    out of the result. Marking twice changes nothing.
    """
    if not numbers:
        return {}
    query = select(Registration).where(
        Registration.event_id == event_id,
        col(Registration.id).in_(numbers),
        Registration.status != CANCELLED,
    )
    rows = (await session.exec(query)).all()
    for row in rows:
        row.asistio = present
        session.add(row)
    marked = {row.id or 0: row.chat_id for row in sorted(rows, key=lambda r: r.id or 0)}
    await session.flush()
    return marked


async def present_chats(session: AsyncSession, *, event_id: int) -> list[int]:
    """Return the chats marked present at the event (empty: attendance was not taken)."""
    query = select(Registration.chat_id).where(
        Registration.event_id == event_id, col(Registration.asistio).is_(True)
    )
    return sorted(set((await session.exec(query)).all()))


ATTENDANCE_HEADER = ["inscripcion", "estado", "inscrito_el", "asistio"]


def attendance_rows(people: list[Attendee], *, tz: ZoneInfo) -> list[list[object]]:
    """Return the attendance sheet's rows (local times), for `storage.exports`."""
    states = {CONFIRMED: "confirmado", WAITING: "en espera"}
    return [
        [a.number, states.get(a.status, a.status),
         a.registered_at.astimezone(tz).strftime("%Y-%m-%d %H:%M"), a.present]
        for a in people
    ]
