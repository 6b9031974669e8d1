"""`/evento`: staff create, change, cancel and postpone events, and take attendance."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from icalendar import Calendar
from openpyxl import load_workbook
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoApp
from bot.formatting import local_datetime
from bot.localapi import LocalBotAPI
from handlers.answers import event_sentence
from handlers.reminders import sweep
from storage.db import Database
from storage.demo import SAMPLE_DIR
from storage.importers import import_file
from storage.models import (
    AuditEntry,
    Comuna,
    Event,
    OutboxMessage,
    Registration,
    Subscription,
    Survey,
)
from storage.privacy import give_consent
from storage.reminders import signature

ADMIN, CITIZEN = 1000, 7401


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    async with db.session() as s:
        await import_file(s, "comunas", SAMPLE_DIR / "comunas.csv", tz=settings.tz)


async def _texts(api: LocalBotAPI, chat: int, count: int) -> list[str]:
    """Return the texts sent to `chat`, with Babel's narrow no-break spaces made plain."""
    calls = await api.wait_for("sendMessage", chat_id=chat, count=count)
    return [c.params["text"].replace("\u202f", " ") for c in calls]


async def test_staff_create_an_event_announced_later(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    start = (datetime.now(settings.tz) + timedelta(days=10)).replace(
        hour=18, minute=30, second=0, microsecond=0
    )
    announce = start - timedelta(days=3)
    staff = api.user(ADMIN)
    staff.send_text("/evento")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    staff.tap("➕ Nuevo evento")
    [ask] = await api.wait_for("editMessageText", chat_id=ADMIN)
    assert "Escriba el título" in ask.params["text"]
    staff.send_text("Tertulia <urbana> en La Joya")
    staff.send_text("ayer a las 5")
    texts = await _texts(api, ADMIN, 3)
    assert texts[-1].startswith("No entendí la fecha")
    staff.send_text("2026-11-01 10:00")
    texts = await _texts(api, ADMIN, 4)
    assert texts[-1].startswith(
        "Esa fecha ya pasó (domingo, 1 de noviembre de 2026, 10:00 a. m.). "
        "Escriba una fecha y hora en el futuro"
    )
    staff.send_text(start.strftime("%d/%m/%Y %H:%M"))
    [ask_end] = (await _texts(api, ADMIN, 5))[-1:]
    assert ask_end.startswith("¿A qué hora termina?")
    staff.send_text("17:00")  # before the start
    staff.send_text("20:45")
    texts = await _texts(api, ADMIN, 7)
    assert texts[-2].startswith("Escriba una hora después del inicio (")
    assert texts[-1].startswith("Escriba el lugar")
    staff.send_text("Salón comunal La Joya")
    staff.send_text("en el parque")
    texts = await _texts(api, ADMIN, 9)
    assert texts[-2].startswith("📍 ¿Dónde queda en el mapa?")
    assert texts[-1].startswith("No entendí las coordenadas.")
    staff.send_text("7,1284; -73,1245")  # decimal commas, as imports accept them
    staff.send_text("muchos")
    texts = await _texts(api, ADMIN, 11)
    assert texts[-1] == "Escriba un número entero entre 0 y 100000."
    staff.send_text("40")
    await api.wait_for("sendMessage", chat_id=ADMIN, count=12)
    staff.tap("Tertulia urbana")
    await api.wait_for("editMessageText", chat_id=ADMIN, count=2)
    staff.tap("4 · Occidental")
    edits = await api.wait_for("editMessageText", chat_id=ADMIN, count=3)
    assert edits[-1].params["text"].startswith("Escriba una descripción corta")
    staff.send_text("Conversamos sobre el parque con la JAC.")
    staff.send_text("facebook.com/alcaldia")
    staff.send_text("https://www.facebook.com/AlcaldiaBGA/live")
    texts = await _texts(api, ADMIN, 15)
    assert texts[-2].startswith("Ese enlace no sirve")
    preview = texts[-1]
    assert "Tertulia &lt;urbana&gt; en La Joya" in preview
    assert "Comuna 4 · Occidental" in preview and "Cupos: 40" in preview
    assert "🗺️ En el mapa: 7.1284, -73.1245" in preview
    assert ", 6:30 p. m. (hasta 8:45 p. m.)" in preview.replace("\u202f", " ")
    assert "🔗 https://www.facebook.com/AlcaldiaBGA/live" in preview
    staff.tap("🕒 Anunciar más tarde")
    await api.wait_for("editMessageText", chat_id=ADMIN, count=4)
    staff.send_text("2026-11-01 10:00")
    staff.send_text((start + timedelta(days=1)).strftime("%Y-%m-%d %H:%M"))
    staff.send_text(announce.strftime("%Y-%m-%d %H:%M"))
    past, late, created = (await _texts(api, ADMIN, 18))[-3:]
    assert past.startswith("Esa fecha ya pasó (domingo, 1 de noviembre de 2026, 10:00 a. m.).")
    assert late.startswith("Escriba una fecha y hora antes del inicio del evento (")
    assert created.startswith("✅ Evento #") and "Se anuncia el" in created
    assert created.endswith(", 6:30 p. m.\nYa aparece en /agenda.")
    assert ".." not in created
    async with db.session() as s:
        [event] = (await s.exec(select(Event))).all()
        four = (await s.exec(select(Comuna).where(Comuna.codigo == "4"))).one()
        audit = (await s.exec(select(AuditEntry).where(AuditEntry.action == "evento_creado"))).all()
    assert event.titulo == "Tertulia <urbana> en La Joya"
    assert event.inicio == start.astimezone(UTC)
    assert event.fin == start.replace(hour=20, minute=45).astimezone(UTC)
    assert (event.latitud, event.longitud) == (7.1284, -73.1245)
    assert event.descripcion == "Conversamos sobre el parque con la JAC."
    assert event.enlace == "https://www.facebook.com/AlcaldiaBGA/live"
    assert event.anunciar_desde == announce.astimezone(UTC)
    assert (event.capacidad, event.comuna_id, event.tipo) == (40, four.id, "tertulia urbana")
    assert [a.actor_id for a in audit] == [ADMIN]


async def test_staff_add_places_and_the_waiting_list_moves_up(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        event = Event(clave="E1", titulo="Visita de obra", tipo="visita de obra",
                      inicio=datetime.now(UTC) + timedelta(days=3), lugar="Obra", capacidad=1)
        s.add(event)
        await s.commit()
        s.add(Registration(event_id=event.id or 0, chat_id=7501))
        s.add(Registration(event_id=event.id or 0, chat_id=7502, status="espera"))
        await s.commit()
    staff = api.user(ADMIN)
    staff.send_text(f"/evento {event.id}")
    [menu] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert "Cupos: 1" in menu.params["text"]
    labels = [b["text"] for row in menu.params["reply_markup"]["inline_keyboard"] for b in row]
    assert "✖️ Cerrar" in labels and "❌ Cancelar" not in labels  # closes, cancels nothing
    staff.tap("👥 Cupos")
    await api.wait_for("editMessageText", chat_id=ADMIN)
    staff.send_text("2")
    texts = await _texts(api, ADMIN, 2)
    assert texts[-1] == (
        "✅ Guardado. 1 persona de la lista de espera obtuvo cupo y recibe aviso."
    )
    [notice] = await api.wait_for("sendMessage", chat_id=7502)
    assert notice.params["text"].startswith("🎉 Se liberó un cupo")
    async with db.session() as s:
        rows = (await s.exec(select(Registration))).all()
    assert {r.chat_id: r.status for r in rows} == {7501: "confirmado", 7502: "confirmado"}


async def test_citizens_cannot_use_the_events_wizard(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    api.user(CITIZEN).send_text("/evento")
    [reply] = await api.wait_for("sendMessage", chat_id=CITIZEN)
    assert reply.params["text"].startswith("No conozco el comando /evento")


async def test_the_event_list_shows_numbers_and_an_unknown_number_is_named(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    title = "Presupuestos participativos: asamblea de la comuna 10 Provenza y barrios vecinos"
    async with db.session() as s:
        event = Event(clave="E1", titulo=title, tipo="asamblea",
                      inicio=datetime(2099, 3, 4, 23, 0, tzinfo=UTC), lugar="Salón")
        s.add(event)
        await s.commit()
    staff = api.user(ADMIN)
    staff.send_text("/evento")
    [listing] = await api.wait_for("sendMessage", chat_id=ADMIN)
    labels = [row[0]["text"].replace("\u202f", " ")
              for row in listing.params["reply_markup"]["inline_keyboard"]]
    assert labels == [
        "➕ Nuevo evento",
        f"#{event.id} · mié 4 mar · 6:00 p. m. · Presupuestos participativos: asamblea de la…",
    ]
    staff.send_text(f"/evento #{event.id}")
    staff.send_text("/evento 9999")
    menu, unknown = (await _texts(api, ADMIN, 3))[1:]
    assert menu.startswith(f"✏️ <b>#{event.id} · Presupuestos participativos")
    assert unknown == (
        "No existe el evento #9999. Escriba /evento para ver la lista con los números."
    )


# --- running an event: cancel, postpone, attendance ----------------------------------------

REGISTERED, WAITING_ONE, TOLD, SUBSCRIBER = 7501, 7502, 7503, 7504


async def _running_event(
    db: Database, *, start: datetime, end: datetime | None = None
) -> Event:
    """An event with one confirmed registrant, one waiting and one person already told."""
    async with db.session() as s:
        event = Event(clave="RUN", titulo="Taller de cocreación del parque", tipo="taller",
                      inicio=start, fin=end, lugar="Salón comunal La Joya", capacidad=1)
        s.add(event)
        await s.commit()
        await s.refresh(event)
        s.add(Registration(event_id=event.id or 0, chat_id=REGISTERED))
        s.add(Registration(event_id=event.id or 0, chat_id=WAITING_ONE, status="espera"))
        s.add(OutboxMessage(chat_id=TOLD, status="enviado", payload={"text": "anuncio"},
                            dedupe_key=f"evento:{event.id}:{signature(event)}:anuncio:{TOLD}"))
        for chat in (REGISTERED, WAITING_ONE, TOLD, SUBSCRIBER):
            await give_consent(s, telegram_id=chat, chat_id=chat)
        await s.commit()
        return event


def _labels(params: dict[str, Any]) -> list[str]:
    markup = params.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]


async def test_cancelling_tells_registrants_and_people_told_once_even_after_a_double_tap(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    event = await _running_event(db, start=datetime.now(UTC) + timedelta(days=5))
    staff = api.user(ADMIN)
    staff.send_text(f"/evento {event.id}")
    [menu] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert "👥 Inscritos: 1 con cupo · 1 en espera · 0 asistieron" in menu.params["text"]
    staff.tap("🚫 Cancelar evento")
    [ask] = await api.wait_for("editMessageText", chat_id=ADMIN)
    assert ask.params["text"].startswith("🚫 <b>Cancelar «Taller de cocreación del parque»</b>")
    staff.send_text("Lluvias fuertes <en> el sector")
    [_, confirm] = await api.wait_for("sendMessage", chat_id=ADMIN, count=2)
    assert "Motivo: Lluvias fuertes &lt;en&gt; el sector" in confirm.params["text"]
    assert "Se avisará una sola vez a 3 personas." in confirm.params["text"]
    staff.tap("🚫 Sí, cancelar el evento")
    staff.tap("🚫 Sí, cancelar el evento")  # the second tap arrives before the screen changes
    edits = await api.wait_for("editMessageText", chat_id=ADMIN, count=3)
    assert {e.params["text"] for e in edits[1:]} == {
        f"🚫 Evento #{event.id} cancelado. Se avisa a 3 personas.",
        "Esto ya no está en curso. Empiece de nuevo con /evento.",
    }
    for chat in (REGISTERED, WAITING_ONE, TOLD):
        [notice] = await api.wait_for("sendMessage", chat_id=chat)
        assert notice.params["text"].startswith(
            "🚫 <b>Evento cancelado</b>: Taller de cocreación del parque")
        assert "Motivo: Lluvias fuertes &lt;en&gt; el sector" in notice.params["text"]
    # The minute's sweep finds the notice already queued: nothing goes twice.
    assert await sweep(db, settings, datetime.now(UTC)) == 0
    await asyncio.sleep(0.3)
    for chat in (REGISTERED, WAITING_ONE, TOLD):
        assert len(api.calls_to(chat, ["sendMessage"])) == 1
    assert api.calls_to(SUBSCRIBER) == []
    # The card says so and offers no place; the calendar file drops the event.
    person = api.user(REGISTERED)
    person.send_text(f"/start evento_{event.id}")
    [_, card] = await api.wait_for("sendMessage", chat_id=REGISTERED, count=2)
    assert "🚫 <b>Cancelado: Lluvias fuertes &lt;en&gt; el sector</b>" in card.params["text"]
    assert not {"✅ Asistiré", "❌ Cancelar asistencia"} & set(_labels(card.params))
    person.send_text("/agenda")
    [*_, listing] = await api.wait_for("sendMessage", chat_id=REGISTERED, count=3)
    assert _labels(listing.params)[0].startswith("🚫 Cancelado · ")  # not «✅»: no place now
    assert "✅ tiene su cupo" not in listing.params["text"]
    person.tap("📆 Quitar del calendario")
    [document] = await api.wait_for("sendDocument", chat_id=REGISTERED)
    ics = Calendar.from_ical(api.file_bytes(api.messages(REGISTERED)[-1]["document"]["file_id"]))
    [item] = ics.walk("VEVENT")
    assert (str(item["STATUS"]), int(item["SEQUENCE"])) == ("CANCELLED", 1)
    assert document.params["caption"].startswith("📆 «Taller de cocreación del parque» se canceló")
    async with db.session() as s:
        audit = (await s.exec(
            select(AuditEntry).where(AuditEntry.action == "evento_cancelado"))).all()
    assert [a.detail["motivo"] for a in audit] == ["Lluvias fuertes <en> el sector"]


async def test_postponing_says_from_and_to_and_offers_the_new_calendar_file(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    start = (datetime.now(settings.tz) + timedelta(days=5)).replace(
        hour=18, minute=0, second=0, microsecond=0)
    event = await _running_event(db, start=start.astimezone(UTC),
                                 end=(start + timedelta(hours=2)).astimezone(UTC))
    later = start + timedelta(days=7)
    staff = api.user(ADMIN)
    staff.send_text(f"/evento {event.id}")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    staff.tap("⏸️ Aplazar")
    await api.wait_for("editMessageText", chat_id=ADMIN)
    staff.send_text(start.strftime("%Y-%m-%d %H:%M"))  # the date it already has
    staff.send_text(later.strftime("%Y-%m-%d %H:%M"))
    staff.send_text("El salón está en obra")
    texts = await _texts(api, ADMIN, 4)
    assert texts[1].startswith("Esa es la fecha que ya tiene.")
    assert texts[2].startswith("Escriba el motivo del aplazamiento")
    before = local_datetime(start, settings.tz).replace("\u202f", " ")
    after = local_datetime(later, settings.tz).replace("\u202f", " ")
    assert f"Del {before} al {after}." in texts[3]
    staff.tap("⏸️ Sí, aplazar")
    staff.tap("⏸️ Sí, aplazar")
    for chat in (REGISTERED, WAITING_ONE, TOLD):
        [notice] = await api.wait_for("sendMessage", chat_id=chat)
        text = notice.params["text"].replace("\u202f", " ")
        assert text.startswith("⏸️ <b>Evento aplazado</b>: Taller de cocreación del parque")
        assert f"Aplazado: del {before} al {after}." in text
        assert "Motivo: El salón está en obra" in text
        assert _labels(notice.params) == ["📆 Nuevo archivo de calendario", "📅 Ver evento"]
    assert await sweep(db, settings, datetime.now(UTC)) == 0
    await asyncio.sleep(0.3)
    assert [len(api.calls_to(c, ["sendMessage"])) for c in (REGISTERED, WAITING_ONE, TOLD)] == [
        1, 1, 1]
    person = api.user(REGISTERED)
    person.tap("📆 Nuevo archivo de calendario")
    await api.wait_for("sendDocument", chat_id=REGISTERED)
    ics = Calendar.from_ical(api.file_bytes(api.messages(REGISTERED)[-1]["document"]["file_id"]))
    [item] = ics.walk("VEVENT")
    assert item["DTSTART"].dt == later
    assert item["DTEND"].dt == later + timedelta(hours=2)
    assert int(item["SEQUENCE"]) == 1 and str(item["STATUS"]) == "CONFIRMED"
    person.tap("📅 Ver evento")
    [card] = await api.wait_for("editMessageText", chat_id=REGISTERED)
    text = card.params["text"].replace("\u202f", " ")
    assert f"⏸️ <b>Aplazado: del {before} al {after}</b>\nMotivo: El salón está en obra" in text
    assert "✅ Usted tiene su cupo." in text
    async with db.session() as s:
        moved = await s.get(Event, event.id)
    assert moved is not None and moved.inicio == later.astimezone(UTC)


async def test_staff_mark_attendance_export_the_sheet_and_the_survey_goes_to_those_who_came(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    now = datetime.now(UTC)
    event = await _running_event(db, start=now - timedelta(hours=1),
                                 end=now + timedelta(minutes=30))
    async with db.session() as s:
        stored = await s.get(Event, event.id)
        assert stored is not None
        stored.encuesta = "evaluacion-taller"
        s.add(stored)
        s.add(Survey(slug="evaluacion-taller", titulo="Evaluación del taller"))
        s.add(Registration(event_id=event.id or 0, chat_id=SUBSCRIBER))
        await s.commit()
        rows = (await s.exec(select(Registration).order_by(col(Registration.id)))).all()
    numbers = {r.chat_id: r.id for r in rows}
    staff = api.user(ADMIN)
    staff.send_text(f"/evento {event.id}")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    staff.tap("📋 Asistencia")
    [sheet] = await api.wait_for("editMessageText", chat_id=ADMIN)
    assert "2 con cupo · 1 en espera · 0 asistieron" in sheet.params["text"]
    assert _labels(sheet.params)[:3] == [
        f"⬜ {numbers[REGISTERED]}", f"⬜ {numbers[SUBSCRIBER]}", f"⬜ {numbers[WAITING_ONE]} ⏳"]
    staff.tap(f"⬜ {numbers[REGISTERED]}")
    staff.tap(f"⬜ {numbers[WAITING_ONE]} ⏳")  # someone on the waiting list came too
    edits = await api.wait_for("editMessageText", chat_id=ADMIN, count=3)
    assert "2 con cupo · 1 en espera · 2 asistieron" in edits[-1].params["text"]
    staff.tap(f"✅ {numbers[WAITING_ONE]} ⏳")  # a mistake, taken back
    edits = await api.wait_for("editMessageText", chat_id=ADMIN, count=4)
    assert f"⬜ {numbers[WAITING_ONE]} ⏳" in _labels(edits[-1].params)
    staff.tap("📥 Planilla")
    [csv_file] = await api.wait_for("sendDocument", chat_id=ADMIN)
    assert csv_file.params["caption"] == (
        f"📋 Planilla de asistencia · #{event.id} Taller de cocreación del parque · "
        "3 inscritas, 1 asistieron.")
    assert _labels(csv_file.params) == ["📥 Descargar en Excel (XLSX)"]
    document = api.messages(ADMIN)[-1]["document"]
    assert document["file_name"] == f"asistencia-evento-{event.id}.csv"
    lines = api.file_bytes(document["file_id"]).decode("utf-8-sig").splitlines()
    assert lines[0] == "inscripcion,estado,inscrito_el,asistio"
    assert [line.split(",")[::3] for line in lines[1:]] == [
        [str(numbers[REGISTERED]), "sí"], [str(numbers[SUBSCRIBER]), "no"],
        [str(numbers[WAITING_ONE]), "no"]]
    assert lines[3].split(",")[1] == "en espera"
    staff.tap("📥 Descargar en Excel (XLSX)")
    await api.wait_for("sendDocument", chat_id=ADMIN, count=2)
    document = api.messages(ADMIN)[-1]["document"]
    assert document["file_name"] == f"asistencia-evento-{event.id}.xlsx"
    book = load_workbook(io.BytesIO(api.file_bytes(document["file_id"])))
    cells = [[c.value for c in row] for row in book.active.iter_rows()]
    assert cells[0] == ["inscripcion", "estado", "inscrito_el", "asistio"]
    assert cells[1][0] == numbers[REGISTERED] and cells[1][3] == "sí"
    # When the event ends, the evaluation survey goes to the one person who came.
    assert await sweep(db, settings, now + timedelta(minutes=31)) == 1
    [survey] = await api.wait_for("sendMessage", chat_id=REGISTERED)
    assert survey.params["text"].startswith("🙏 Gracias por participar en <b>Taller")
    assert _labels(survey.params) == ["📝 Responder la encuesta"]
    await asyncio.sleep(0.3)
    assert api.calls_to(SUBSCRIBER) == [] and api.calls_to(WAITING_ONE) == []


async def test_a_new_event_announcement_carries_see_and_attend_buttons(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    async with db.session() as s:
        event = Event(clave="NEW", titulo="Feria de servicios en el Norte", tipo="feria",
                      inicio=datetime.now(UTC) + timedelta(days=4), lugar="Parque del Norte")
        s.add(event)
        s.add(Subscription(chat_id=SUBSCRIBER, kind="tema", value="eventos"))
        await give_consent(s, telegram_id=SUBSCRIBER, chat_id=SUBSCRIBER)
        await s.commit()
    assert await sweep(db, settings, datetime.now(UTC)) == 1
    [notice] = await api.wait_for("sendMessage", chat_id=SUBSCRIBER)
    assert notice.params["text"].startswith("📅 <b>Nuevo evento</b>: Feria de servicios")
    assert _labels(notice.params) == ["📅 Ver evento", "✅ Asistiré"]
    api.user(SUBSCRIBER).tap("✅ Asistiré")
    [card] = await api.wait_for("editMessageText", chat_id=SUBSCRIBER)
    assert "✅ Usted tiene su cupo." in card.params["text"]
    async with db.session() as s:
        [mine] = (await s.exec(select(Registration))).all()
    assert f"🎟️ Su número de inscripción: <b>{mine.id}</b>" in card.params["text"]


async def test_the_wizard_takes_a_shared_location_and_skips_what_staff_do_not_have(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    start = (datetime.now(settings.tz) + timedelta(days=3)).replace(
        hour=9, minute=0, second=0, microsecond=0)
    staff = api.user(ADMIN)
    staff.send_text("/evento")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    staff.tap("➕ Nuevo evento")
    await api.wait_for("editMessageText", chat_id=ADMIN)
    staff.send_text("Visita de obra al puente")
    staff.send_text(start.strftime("%Y-%m-%d %H:%M"))
    await api.wait_for("sendMessage", chat_id=ADMIN, count=3)
    staff.tap("⏭️ Omitir")  # no end time
    [_, ask_place] = await api.wait_for("editMessageText", chat_id=ADMIN, count=2)
    assert ask_place.params["text"].startswith("Escriba el lugar")
    staff.send_text("Puente peatonal La Pedregosa")
    await api.wait_for("sendMessage", chat_id=ADMIN, count=4)
    staff.send_location(7.1101, -73.1098)
    texts = await _texts(api, ADMIN, 5)
    assert texts[-1].startswith("¿Cuántos cupos hay?")
    staff.send_text("0")
    await api.wait_for("sendMessage", chat_id=ADMIN, count=6)
    staff.tap("Visita de obra")
    await api.wait_for("editMessageText", chat_id=ADMIN, count=3)
    staff.tap("🏙️ Toda la ciudad")
    await api.wait_for("editMessageText", chat_id=ADMIN, count=4)
    staff.send_text("omitir")  # typed instead of tapped
    texts = await _texts(api, ADMIN, 7)
    assert texts[-1].startswith("Si el evento se puede ver en línea")
    staff.tap("⏭️ Omitir")
    [*_, preview] = await api.wait_for("editMessageText", chat_id=ADMIN, count=5)
    assert "🗺️ En el mapa: 7.1101, -73.1098" in preview.params["text"]
    assert "(hasta" not in preview.params["text"] and "🔗" not in preview.params["text"]
    staff.tap("✅ Guardar y anunciar ya")
    await api.wait_for("editMessageText", chat_id=ADMIN, count=6)
    async with db.session() as s:
        [event] = (await s.exec(select(Event))).all()
    assert (event.latitud, event.longitud, event.fin, event.descripcion, event.enlace) == (
        7.1101, -73.1098, None, None, None)
    assert event.capacidad is None and event.comuna_id is None


def test_a_typed_question_about_a_cancelled_event_gets_the_cancellation_not_the_date(
    settings: Settings,
) -> None:
    event = Event(clave="Q", titulo="Audiencia pública", tipo="audiencia pública",
                  inicio=datetime(2026, 12, 20, 15, 0, tzinfo=UTC), lugar="Teatro Santander",
                  estado="cancelado", motivo="Cambio de sede")
    context = SimpleNamespace(settings=settings)
    for attribute in ("fecha", "lugar", "hora"):
        sentence = event_sentence(event, attribute, context)  # type: ignore[arg-type]
        assert sentence.startswith("<b>Audiencia pública</b>, que era el domingo, 20 de")
        assert sentence.endswith("<b>se canceló</b>: Cambio de sede.")


async def test_staff_may_type_several_registration_numbers_at_once(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    event = await _running_event(db, start=datetime.now(UTC) + timedelta(minutes=10))
    async with db.session() as s:
        rows = (await s.exec(select(Registration).order_by(col(Registration.id)))).all()
    numbers = [r.id for r in rows]
    staff = api.user(ADMIN)
    staff.send_text(f"/evento {event.id}")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    staff.tap("📋 Asistencia")
    await api.wait_for("editMessageText", chat_id=ADMIN)
    staff.send_text("llegó la señora")
    staff.send_text(f"{numbers[0]}, {numbers[1]} y 99999")
    texts = await _texts(api, ADMIN, 4)
    assert texts[1].startswith("Escriba los números de inscripción de quienes llegaron")
    assert texts[2] == (f"✅ Presentes: {numbers[0]}, {numbers[1]}. "
                        "No son inscripciones de este evento: 99999.")
    assert "1 con cupo · 1 en espera · 2 asistieron" in texts[3]
    async with db.session() as s:
        present = (await s.exec(select(Registration.chat_id).where(
            col(Registration.asistio).is_(True)))).all()
    assert sorted(present) == [REGISTERED, WAITING_ONE]
    staff.tap("⬅️ Volver al evento")  # leaves the typing step
    await api.wait_for("editMessageText", chat_id=ADMIN, count=2)
    staff.send_text("cuando es la audiencia")
    await api.wait_for("sendMessage", chat_id=ADMIN, count=5)
    assert not api.messages(ADMIN)[-1]["text"].startswith("Escriba los números")
