"""Announcements and reminders are derived from the tables: due ones once, late ones skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import col, select

from bot.config import Settings
from handlers.reminders import sweep
from storage.db import Database
from storage.demo import SAMPLE_DIR
from storage.importers import import_file
from storage.models import Comuna, Event, OutboxMessage, PlanActivity, Registration, Subscription

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)


async def _rows(db: Database) -> list[tuple[int, str, str]]:
    async with db.session() as s:
        rows = (await s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all()
    return [(r.chat_id, r.kind, r.payload["text"]) for r in rows]


async def _event(db: Database, settings: Settings) -> int:
    async with db.session() as s:
        await import_file(s, "comunas", SAMPLE_DIR / "comunas.csv", tz=settings.tz)
        four = (await s.exec(select(Comuna).where(Comuna.codigo == "4"))).one()
        event = Event(clave="EV-9", titulo="Tertulia urbana en La Joya", tipo="tertulia urbana",
                      inicio=NOW + timedelta(hours=30), lugar="Salón comunal La Joya",
                      comuna_id=four.id)
        s.add(event)
        s.add(Subscription(chat_id=6201, kind="comuna", value="4"))
        s.add(Subscription(chat_id=6202, kind="tema", value="eventos"))
        s.add(Subscription(chat_id=6203, kind="comuna", value="5"))
        await s.commit()
        s.add(Registration(event_id=event.id or 0, chat_id=6204))
        await s.commit()
        return event.id or 0


async def test_announce_once_then_again_only_when_date_or_place_change(
    db: Database, settings: Settings
) -> None:
    event_id = await _event(db, settings)
    assert await sweep(db, settings, NOW) == 2
    assert await sweep(db, settings, NOW + timedelta(minutes=1)) == 0
    rows = await _rows(db)
    assert sorted(chat for chat, _, _ in rows) == [6201, 6202]
    assert "Nuevo evento" in rows[0][2] and "Tertulia urbana en La Joya" in rows[0][2]
    assert "miércoles, 25 de noviembre de 2026, 4:00 p." in rows[0][2]  # 21:00 UTC, local

    async with db.session() as s:
        event = await s.get(Event, event_id)
        assert event is not None
        event.inicio = event.inicio + timedelta(days=1)
        s.add(event)
        await s.commit()
    assert await sweep(db, settings, NOW + timedelta(minutes=2)) == 3
    changed = (await _rows(db))[2:]
    assert sorted(chat for chat, _, _ in changed) == [6201, 6202, 6204]
    assert all("Cambio en el evento" in text for _, _, text in changed)
    assert all(chat != 6203 for chat, _, _ in await _rows(db))


async def test_reminders_go_once_and_late_ones_are_skipped(
    db: Database, settings: Settings
) -> None:
    await _event(db, settings)
    start = NOW + timedelta(hours=30)
    await sweep(db, settings, NOW)  # the announcement
    day_before = start - timedelta(hours=24) + timedelta(minutes=1)
    assert await sweep(db, settings, day_before) == 3
    assert await sweep(db, settings, day_before + timedelta(minutes=1)) == 0
    reminders = [r for r in await _rows(db) if r[1] == "recordatorio"]
    assert sorted(chat for chat, _, _ in reminders) == [6201, 6202, 6204]
    assert "es mañana" in reminders[0][2]
    # The bot was down for the whole last hour: the 1-hour reminder is too late to send.
    assert await sweep(db, settings, start - timedelta(minutes=10)) == 0


async def test_staff_are_reminded_of_plan_deadlines_a_week_ahead_once(
    db: Database, settings: Settings
) -> None:
    async with db.session() as s:
        s.add(PlanActivity(actividad="4.1", subcomponente="4. Evaluación",
                           descripcion="Realización de evaluación de la audiencia.", meta="1",
                           indicador="Evaluaciones realizadas", responsable="Control Interno",
                           fechas_limite=["2026-11-28", "2026-12-31"]))
        await s.commit()
    assert await sweep(db, settings, NOW) == 1
    assert await sweep(db, settings, NOW + timedelta(days=1)) == 0
    [(chat, kind, text)] = await _rows(db)
    assert (chat, kind) == (1000, "plan")
    assert "la actividad 4.1 vence el 28 de noviembre de 2026" in text
