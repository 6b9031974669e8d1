"""Announcements and reminders are derived from the tables: due ones once, late ones skipped."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from icalendar import Calendar
from sqlmodel import col, select

from bot.calendar import event_ics
from bot.config import Settings
from handlers.reminders import sweep
from storage.db import Database
from storage.demo import SAMPLE_DIR
from storage.events import edit_event
from storage.importers import import_bytes, import_file
from storage.models import (
    Comuna,
    Event,
    OutboxMessage,
    PlanActivity,
    Registration,
    Subscription,
    Survey,
)

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
    async with db.session() as s:
        row = (await s.exec(select(OutboxMessage).where(OutboxMessage.kind == "recordatorio"))
               ).first()
    assert row is not None
    assert row.payload["reply_markup"]["inline_keyboard"][0][0]["text"] == "📅 Ver evento"
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


async def test_an_announcement_waits_for_the_time_staff_set(
    db: Database, settings: Settings
) -> None:
    event_id = await _event(db, settings)
    async with db.session() as s:
        event = await s.get(Event, event_id)
        assert event is not None
        event.anunciar_desde = NOW + timedelta(hours=3)
        event.inicio = NOW + timedelta(days=5)  # no reminder due in between
        s.add(event)
        await s.commit()
    assert await sweep(db, settings, NOW) == 0
    assert await sweep(db, settings, NOW + timedelta(hours=2, minutes=59)) == 0
    assert await sweep(db, settings, NOW + timedelta(hours=3)) == 2
    assert sorted(chat for chat, kind, _ in await _rows(db) if kind == "anuncio") == [6201, 6202]


async def test_registrants_get_the_hearing_evaluation_once_when_it_ends(
    db: Database, settings: Settings
) -> None:
    async with db.session() as s:
        s.add(Survey(slug="evaluacion-audiencia", titulo="Evaluación de la audiencia pública"))
        hearing = Event(clave="AUD", titulo="Audiencia pública 2026", tipo="Audiencia pública",
                        inicio=NOW - timedelta(hours=4), fin=NOW - timedelta(minutes=5),
                        lugar="Centro Cultural del Oriente")
        fair = Event(clave="FER", titulo="Feria de servicios", tipo="feria de servicios",
                     inicio=NOW - timedelta(hours=3), fin=NOW - timedelta(minutes=5),
                     lugar="Parque")
        s.add(hearing)
        s.add(fair)
        await s.commit()
        for event in (hearing, fair):
            s.add(Registration(event_id=event.id or 0, chat_id=6301))
        s.add(Registration(event_id=hearing.id or 0, chat_id=6302))
        s.add(Registration(event_id=hearing.id or 0, chat_id=6303, status="cancelado"))
        await s.commit()
    assert await sweep(db, settings, NOW) == 2
    assert await sweep(db, settings, NOW + timedelta(minutes=1)) == 0
    async with db.session() as s:
        rows = (await s.exec(select(OutboxMessage))).all()
    assert sorted(r.chat_id for r in rows) == [6301, 6302]
    assert all("Audiencia pública 2026" in r.payload["text"] for r in rows)
    button = rows[0].payload["reply_markup"]["inline_keyboard"][0][0]
    assert button["callback_data"] == "enc:o:evaluacion-audiencia"


async def test_places_added_by_staff_go_to_the_waiting_list_in_order(
    db: Database, settings: Settings
) -> None:
    event_id = await _event(db, settings)
    async with db.session() as s:
        event = await s.get(Event, event_id)
        assert event is not None
        event.capacidad = 3  # one confirmed already (6204)
        s.add(event)
        for chat, minutes in ((6402, 2), (6401, 1), (6403, 3)):
            s.add(Registration(event_id=event_id, chat_id=chat, status="espera",
                               created_at=NOW - timedelta(minutes=10 - minutes)))
        await s.commit()
    await sweep(db, settings, NOW)
    async with db.session() as s:
        rows = (await s.exec(select(Registration).where(Registration.event_id == event_id))).all()
    assert {r.chat_id: r.status for r in rows} == {
        6204: "confirmado", 6401: "confirmado", 6402: "confirmado", 6403: "espera"
    }
    told = [chat for chat, kind, _ in await _rows(db) if kind == "cupo"]
    assert sorted(told) == [6401, 6402]


async def test_a_new_survey_is_announced_once_to_followers_of_the_topic(
    db: Database, settings: Settings
) -> None:
    async with db.session() as s:
        s.add(Survey(slug="percepcion", titulo="Percepción de la gestión",
                     abre=NOW - timedelta(hours=2)))
        s.add(Survey(slug="vieja", titulo="Encuesta de 2025", abre=NOW - timedelta(days=30)))
        s.add(Subscription(chat_id=6501, kind="tema", value="encuestas"))
        s.add(Subscription(chat_id=6502, kind="tema", value="obras"))
        await s.commit()
    assert await sweep(db, settings, NOW) == 1
    assert await sweep(db, settings, NOW + timedelta(minutes=1)) == 0
    async with db.session() as s:
        [row] = (await s.exec(select(OutboxMessage))).all()
    assert row.chat_id == 6501 and "Percepción de la gestión" in row.payload["text"]
    assert row.payload["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == (
        "enc:o:percepcion"
    )


async def test_a_long_place_keeps_dedupe_keys_within_their_column_and_its_change_shows(
    db: Database, settings: Settings
) -> None:
    event_id = await _event(db, settings)
    place = "Salón comunal del barrio La Joya, " * 8  # 272 characters
    async with db.session() as s:
        event = await s.get(Event, event_id)
        assert event is not None
        event.lugar = place
        s.add(event)
        await s.commit()
    assert await sweep(db, settings, NOW) == 2
    async with db.session() as s:
        event = await s.get(Event, event_id)
        assert event is not None
        event.lugar = place[:-2] + "X "  # a change near the end of the place
        s.add(event)
        await s.commit()
    assert await sweep(db, settings, NOW + timedelta(minutes=1)) == 3
    async with db.session() as s:
        keys = (await s.exec(select(OutboxMessage.dedupe_key))).all()
    assert all(key is not None and len(key) <= 200 for key in keys)


async def test_a_change_says_what_moved_the_date_or_only_the_place(
    db: Database, settings: Settings
) -> None:
    event_id = await _event(db, settings)
    await sweep(db, settings, NOW)  # the announcement
    async with db.session() as s:
        event = await s.get(Event, event_id)
        assert event is not None
        await edit_event(s, event=event, field="inicio", value=event.inicio + timedelta(days=2),
                         actor_id=1000)
    assert await sweep(db, settings, NOW + timedelta(minutes=1)) == 3
    moved = (await _rows(db))[-1][2]
    assert "🕒 Cambió la fecha: del miércoles, 25 de noviembre de 2026" in moved
    assert "al viernes, 27 de noviembre de 2026" in moved
    async with db.session() as s:
        event = await s.get(Event, event_id)
        assert event is not None
        await edit_event(s, event=event, field="lugar", value="Parque La Joya", actor_id=1000)
    assert await sweep(db, settings, NOW + timedelta(minutes=2)) == 3
    place = (await _rows(db))[-1][2]
    assert "Cambió la fecha" not in place
    assert "Ahora: viernes, 27 de noviembre de 2026" in place and "📍 Parque La Joya" in place
    assert await sweep(db, settings, NOW + timedelta(minutes=3)) == 0


async def _import_event(db: Database, settings: Settings, start: datetime, place: str) -> None:
    local = start.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
    data = ("codigo,titulo,tipo,inicio,lugar,comuna\n"  # no end: it follows the start
            f"EV-IMP,Taller de obras,taller,{local},{place},4\n").encode()
    async with db.session() as s:
        await import_bytes(s, "eventos", data, "eventos.csv", tz=settings.tz)


async def test_an_imported_change_says_the_earlier_date_and_raises_the_calendar_sequence(
    db: Database, settings: Settings
) -> None:
    await _event(db, settings)  # comunas and subscribers of comuna 4 and of «eventos»
    first, second = NOW + timedelta(hours=30), NOW + timedelta(hours=54)
    await _import_event(db, settings, first, "Salón comunal")
    async with db.session() as s:
        event = (await s.exec(select(Event).where(Event.clave == "EV-IMP"))).one()
        event.fin = first + timedelta(hours=2)
        s.add(event)
        await s.commit()
    await sweep(db, settings, NOW)  # the announcement

    told = []
    for minute, (start, place) in enumerate(
            [(second, "Salón comunal"), (first, "Salón comunal"), (second, "Salón comunal"),
             (second, "Parque La Joya")], start=1):
        await _import_event(db, settings, start, place)
        assert await sweep(db, settings, NOW + timedelta(minutes=minute)) == 2, (start, place)
        told.append((await _rows(db))[-1][2].replace("\u202f", " "))

    # A→B→A→B: every change is a new notice that says the earlier date.
    assert "🕒 Cambió la fecha: del miércoles, 25 de noviembre de 2026, 4:00 p. m. al " \
           "jueves, 26 de noviembre de 2026, 4:00 p. m." in told[0]
    assert "del jueves, 26 de noviembre de 2026, 4:00 p. m. al miércoles" in told[1]
    assert "🕒 Cambió la fecha: del miércoles" in told[2]
    assert "Cambió la fecha" not in told[3]
    assert "Ahora: jueves, 26 de noviembre de 2026" in told[3] and "📍 Parque La Joya" in told[3]
    async with db.session() as s:
        event = (await s.exec(select(Event).where(Event.clave == "EV-IMP"))).one()
    assert (event.inicio_anterior, event.fin) == (first, second + timedelta(hours=2))
    [item] = Calendar.from_ical(
        event_ics(event, tz=settings.tz, link="https://t.me/x", municipality="Bucaramanga")
    ).walk("VEVENT")
    assert int(item["SEQUENCE"]) == 4
    assert item["DTSTART"].dt == second and item["DTEND"].dt == second + timedelta(hours=2)
