"""What changed in a week, read from the audit log of imports and the agenda."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.importers.kinds import data_kind
from storage.models import (
    AuditEntry,
    Broadcast,
    ContractingProcess,
    Event,
    Goal,
    JobRun,
    Work,
)

SENT_JOB = "resumen-enviado"  # JobRun claim: one summary broadcast per ISO week
WATCHED = {"obras": ("estado", "avance_fisico"), "metas": ("avance",)}


@dataclass(frozen=True)
class FieldChange:
    """One watched field of one item that changed during the week (first → last value)."""

    key: str
    name: str
    field: str
    old: Any
    new: Any


@dataclass
class WeekData:
    """The week's material for the summary."""

    start: datetime
    end: datetime
    works: list[FieldChange] = field(default_factory=list)
    goals: list[FieldChange] = field(default_factory=list)
    new_works: list[Work] = field(default_factory=list)
    new_processes: list[ContractingProcess] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """Tell whether nothing happened worth telling."""
        return not (self.works or self.goals or self.new_works or self.new_processes
                    or self.events)


def iso_week(moment: datetime) -> str:
    """Return the ISO week label of a moment, e.g. `2026-W48`."""
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def last_due(now: datetime, *, tz: tzinfo, weekday: int, at: str) -> datetime:
    """Return the latest moment, at or before `now`, when the weekly summary was due.

    `weekday` counts from Monday = 0; `at` is the local time, `HH:MM`.
    """
    local = now.astimezone(tz)
    hour, minute = map(int, at.split(":"))
    days_back = (local.weekday() - weekday) % 7
    due = (local - timedelta(days=days_back)).replace(
        hour=hour, minute=minute, second=0, microsecond=0
    )
    return due if due <= local else due - timedelta(days=7)


def summary_week(now: datetime, *, tz: tzinfo, weekday: int, at: str) -> str:
    """Return the week a summary sent or approved at `now` belongs to: that of its due moment.

    The scheduler, staff's /resumen and the once-a-week claim all use this one label, so a
    summary approved the day after it was due (or caught up after downtime) is not taken
    for the next week's.
    """
    return iso_week(last_due(now, tz=tz, weekday=weekday, at=at))


async def week_data(session: AsyncSession, *, end: datetime) -> WeekData:
    """Collect the changes imported in the 7 days before `end` and the next 7 days' events."""
    start = end - timedelta(days=7)
    data = WeekData(start=start, end=end)
    entries = (
        await session.exec(
            select(AuditEntry)
            .where(AuditEntry.action == "importar", AuditEntry.at >= start, AuditEntry.at <= end)
            .order_by(col(AuditEntry.at))
        )
    ).all()
    first_old: dict[tuple[str, str, str], Any] = {}
    last_new: dict[tuple[str, str, str], Any] = {}
    created: dict[str, set[str]] = {}
    for entry in entries:
        kind = data_kind(entry.detail.get("tipo", ""))
        created.setdefault(kind, set()).update(entry.detail.get("nuevas_claves", []))
        for key, name, old, new in entry.detail.get("cambios", []):
            if name in WATCHED.get(kind, ()):
                first_old.setdefault((kind, key, name), old)
                last_new[(kind, key, name)] = new
    works = {w.codigo: w for w in (await session.exec(select(Work))).all()}
    goals = {g.codigo: g for g in (await session.exec(select(Goal))).all()}
    for (kind, key, name), new in last_new.items():
        old = first_old[(kind, key, name)]
        if old == new:
            continue
        if kind == "obras" and key in works:
            data.works.append(FieldChange(key, works[key].nombre, name, old, new))
        elif kind == "metas" and key in goals:
            data.goals.append(FieldChange(key, goals[key].meta, name, old, new))
    data.new_works = [works[k] for k in sorted(created.get("obras", set())) if k in works]
    if created.get("contratacion"):
        data.new_processes = list(
            (await session.exec(
                select(ContractingProcess).where(
                    col(ContractingProcess.numero_proceso).in_(created["contratacion"])
                )
            )).all()
        )
    data.events = list(
        (await session.exec(
            select(Event)
            .where(Event.inicio >= end, Event.inicio <= end + timedelta(days=7))
            .order_by(col(Event.inicio))
        )).all()
    )
    return data


async def sent_summary(session: AsyncSession, *, week: str) -> Broadcast | None:
    """Return the broadcast that carried the summary of `week`, or None if it was not sent."""
    rows = (
        await session.exec(select(Broadcast).order_by(col(Broadcast.created_at)))
    ).all()
    return next((b for b in rows if b.audience.get("resumen") == week), None)


async def summary_sent(session: AsyncSession, *, week: str) -> bool:
    """Tell whether the summary of `week` has already been broadcast."""
    return await sent_summary(session, week=week) is not None


async def claim_week(session: AsyncSession, *, week: str, by: str) -> bool:
    """Reserve the sending of `week`'s summary in the current transaction (not committed).

    Returns False, with the transaction rolled back, if it was already sent or another
    approval (a double tap, another instance) got there first. The caller commits the
    claim together with the broadcast, so a failed send leaves the week free.
    """
    if await summary_sent(session, week=week):
        return False
    session.add(JobRun(job=SENT_JOB, period_key=week, claimed_by=by[:120]))
    try:
        await session.flush()
    except IntegrityError:
        await session.rollback()
        return False
    return True
