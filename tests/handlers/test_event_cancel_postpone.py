"""`/evento`: staff cancel and postpone an event; each person concerned is told once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from icalendar import Calendar
from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp
from bot.formatting import local_datetime
from bot.localapi import LocalBotAPI
from handlers.answers import event_sentence
from handlers.reminders import sweep
from storage.db import Database
from storage.models import AuditEntry, Event
from tests.handlers.event_admin_support import (
    ADMIN,
    REGISTERED,
    SUBSCRIBER,
    TOLD,
    WAITING_ONE,
    _labels,
    _running_event,
    _texts,
    # `seed` overrides the conftest's: the `bot` fixture loads the comunas before starting.
    seed,  # noqa: F401
)


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
