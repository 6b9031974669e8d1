"""`/agenda` end to end: lists and filters, RSVP with a waiting list, calendar file, deep link."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
from icalendar import Calendar
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.events import cancel, places, register
from storage.models import Comuna, Event, Registration
from storage.privacy import give_consent
from storage.snapshot import VERSIONS

ANA, BETO, CARLA = 7301, 7302, 7303


# Each test's database starts with the example data (as `load_demo` leaves it).
pytestmark = pytest.mark.usefixtures("demo_data")


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    async with db.session() as s:
        for chat in (ANA, BETO, CARLA):
            await give_consent(s, telegram_id=chat, chat_id=chat)


async def _small_event(db: Database, settings: Settings, *, capacity: int | None) -> Event:
    """Add a workshop next week at 18:00 local time with `capacity` places."""
    start = (datetime.now(settings.tz) + timedelta(days=7)).replace(
        hour=18, minute=0, second=0, microsecond=0
    )
    async with db.session() as s:
        event = Event(
            clave="prueba-taller", titulo="Taller de cocreación del parque", tipo="taller",
            inicio=start.astimezone(UTC), fin=(start + timedelta(hours=2)).astimezone(UTC),
            lugar="Salón comunal La Joya", direccion="Calle 12 con Carrera 19",
            latitud=7.1284, longitud=-73.1245, capacidad=capacity,
        )
        s.add(event)
        await s.commit()
        await s.refresh(event)
        return event


async def _registrations(db: Database, event_id: int) -> dict[int, str]:
    async with db.session() as s:
        rows = (await s.exec(select(Registration).where(Registration.event_id == event_id))).all()
    return {r.chat_id: r.status for r in rows}


def _buttons(call_params: dict[str, object]) -> list[str]:
    markup = call_params["reply_markup"]
    assert isinstance(markup, dict)
    return [b.get("callback_data", "") for row in markup["inline_keyboard"] for b in row]


async def test_agenda_lists_upcoming_events_soonest_first_and_filters_by_comuna(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    now = datetime.now(UTC)
    async with db.session() as s:
        events = (await s.exec(select(Event).order_by(col(Event.inicio)))).all()
        one = (await s.exec(select(Comuna).where(Comuna.codigo == "1"))).one()
    user = api.user(ANA)
    user.send_text("/agenda")
    [listing] = await api.wait_for("sendMessage", chat_id=ANA)
    shown = [d for d in _buttons(listing.params) if d.startswith("ev:e:")]
    assert shown == [f"ev:e:{e.id}" for e in events if e.inicio >= now][:6]
    assert "Página 1 de" in listing.params["text"]
    user.send_text("/agenda comuna 1")
    _, filtered = await api.wait_for("sendMessage", chat_id=ANA, count=2)
    assert "en la comuna 1 · Norte" in filtered.params["text"]
    assert [d for d in _buttons(filtered.params) if d.startswith("ev:e:")] == [
        f"ev:e:{e.id}" for e in events if e.comuna_id == one.id and e.inicio >= now
    ]


async def test_a_full_event_offers_the_waiting_list_and_a_cancellation_promotes_the_first(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    event = await _small_event(db, settings, capacity=1)
    ana, beto = api.user(ANA), api.user(BETO)
    ana.send_text(f"/start evento_{event.id}")
    [card] = await api.wait_for("sendMessage", chat_id=ANA)
    assert "Cupos: queda 1 de 1" in card.params["text"]
    ana.tap("✅ Asistiré")
    [answer] = await api.wait_for("answerCallbackQuery")
    assert answer.params["text"].startswith("✅ Listo, tiene su cupo")
    [edited] = await api.wait_for("editMessageText", chat_id=ANA)
    assert "✅ Usted tiene su cupo." in edited.params["text"]
    assert "Cupos: lleno (1); 0 en lista de espera" in edited.params["text"]

    beto.send_text(f"/start evento_{event.id}")
    await api.wait_for("sendMessage", chat_id=BETO)
    beto.tap("✅ Asistiré")
    _, offer = await api.wait_for("sendMessage", chat_id=BETO, count=2)
    assert offer.params["text"].startswith("😕 El evento está lleno (1 cupo)")
    assert await _registrations(db, event.id or 0) == {ANA: "confirmado"}
    beto.tap("⏳ Entrar a la lista de espera")
    answers = await api.wait_for("answerCallbackQuery", count=3)
    assert answers[-1].params["text"].startswith("⏳ Quedó en la lista de espera, puesto 1")
    assert await _registrations(db, event.id or 0) == {ANA: "confirmado", BETO: "espera"}
    # The agenda marks each person's own events.
    for person, chat, count, mark in ((ana, ANA, 2, "✅ "), (beto, BETO, 3, "⏳ ")):
        person.send_text("/agenda")
        *_, listing = await api.wait_for("sendMessage", chat_id=chat, count=count)
        [own] = [row[0]["text"] for row in listing.params["reply_markup"]["inline_keyboard"]
                 if row[0].get("callback_data") == f"ev:e:{event.id}"]
        assert own.startswith(mark)
        assert "✅ tiene su cupo · ⏳ está en la lista de espera" in listing.params["text"]
    carla = api.user(CARLA)
    carla.send_text("/agenda")
    [listing] = await api.wait_for("sendMessage", chat_id=CARLA)
    assert "lista de espera" not in listing.params["text"]

    ana.tap("❌ Cancelar asistencia")
    answers = await api.wait_for("answerCallbackQuery", count=4)
    assert answers[-1].params["text"] == "Listo, cancelé su inscripción."
    messages = await api.wait_for("sendMessage", chat_id=BETO, count=4)
    assert messages[-1].params["text"].startswith("🎉 Se liberó un cupo y ya es suyo")
    assert "Taller de cocreación del parque" in messages[-1].params["text"]
    assert await _registrations(db, event.id or 0) == {ANA: "cancelado", BETO: "confirmado"}


async def test_double_tap_on_attend_registers_once(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    event = await _small_event(db, settings, capacity=10)
    user = api.user(CARLA)
    user.send_text(f"/start evento_{event.id}")
    await api.wait_for("sendMessage", chat_id=CARLA)
    user.tap("✅ Asistiré")
    user.tap("✅ Asistiré")
    answers = await api.wait_for("answerCallbackQuery", count=2)
    assert sorted(a.params["text"][:10] for a in answers) == sorted(
        ["✅ Listo, t", "Ya tiene s"]
    )
    assert await _registrations(db, event.id or 0) == {CARLA: "confirmado"}


async def test_the_calendar_file_parses_back_with_the_local_start_time(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    event = await _small_event(db, settings, capacity=None)
    user = api.user(ANA)
    user.send_text(f"/start evento_{event.id}")
    [venue] = await api.wait_for("sendVenue", chat_id=ANA)
    assert (venue.params["latitude"], venue.params["longitude"]) == (7.1284, -73.1245)
    user.tap("📆 Agregar al calendario")
    [document] = await api.wait_for("sendDocument", chat_id=ANA)
    sent = api.messages(ANA)[-1]["document"]
    assert sent["file_name"] == f"evento-{event.id}.ics"
    raw = api.file_bytes(sent["file_id"])
    assert b"COMMENT" not in raw and b"This timezone" not in raw  # no English in the file
    calendar = Calendar.from_ical(raw)
    [timezone] = calendar.walk("VTIMEZONE")
    assert str(timezone["tzid"]) == "America/Bogota"
    [item] = calendar.events
    start = item.start
    assert isinstance(start, datetime)
    assert str(start.tzinfo) == "America/Bogota"
    assert (start.hour, start.minute) == (18, 0)
    assert start == event.inicio
    assert item.end - start == timedelta(hours=2)
    assert str(item["summary"]) == "Taller de cocreación del parque"
    assert f"start=evento_{event.id}" in str(item["url"])
    assert document.params["caption"].startswith("📆 Abra este archivo para agregar")


async def test_concurrent_registrations_never_exceed_the_capacity(
    db: Database, settings: Settings
) -> None:
    event = await _small_event(db, settings, capacity=5)
    now = datetime.now(UTC)

    async def one(chat_id: int) -> str:
        async with db.session() as s:
            return await register(s, event=event, chat_id=chat_id, waitlist=True, now=now)

    versions = await _versions(db)
    outcomes = await asyncio.gather(*(one(9000 + i) for i in range(20)))
    assert sorted(outcomes).count("confirmado") == 5
    assert sorted(outcomes).count("espera") == 15
    async with db.session() as s:
        counted = await places(s, event=event)
        first_in = 9000 + outcomes.index("confirmado")  # whichever took the lock first
        assert (await cancel(s, event=event, chat_id=first_in)).promoted is not None
    assert (counted.confirmed, counted.waiting) == (5, 15)
    # Registering and cancelling lock the event without writing it: its data version stays,
    # so no instance reads the agenda again because someone took or gave up a place.
    assert await _versions(db) == versions


async def _versions(db: Database) -> dict[str, int]:
    async with db.engine.connect() as conn:
        return {row[0]: row[1] for row in await conn.exec_driver_sql(VERSIONS)}


async def test_unknown_event_links_and_buttons_change_nothing(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = api.user(ANA)
    user.send_text("/start evento_999999")
    note, welcome = await api.wait_for("sendMessage", chat_id=ANA, count=2)
    assert note.params["text"].startswith("🔗 No encontré ese evento")
    assert welcome.params["text"].startswith("👋 Hola")
    user.send_text("/agenda")
    await api.wait_for("sendMessage", chat_id=ANA, count=3)
    forged = user.tap("🔎 Filtrar", enqueue=False)
    forged["callback_query"]["data"] = "ev:r:999999"
    api.enqueue(forged)
    [answer] = await api.wait_for("answerCallbackQuery")
    assert answer.params["text"] == "Ese evento ya no está disponible."
    async with db.session() as s:
        assert (await s.exec(select(Registration))).all() == []


async def test_the_first_page_says_when_the_persons_events_are_on_later_pages(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    async with db.session() as s:
        upcoming = list((await s.exec(
            select(Event).where(col(Event.inicio) > datetime.now(UTC))
            .order_by(col(Event.inicio), col(Event.id))
        )).all())
        far = Event(clave="lejano", titulo="Feria de fin de año", tipo="feria",
                    inicio=max(e.inicio for e in upcoming) + timedelta(days=30),
                    lugar="Parque San Pío")
        s.add(far)
        await s.flush()
        s.add(Registration(event_id=far.id, chat_id=ANA, status="confirmado",
                           created_at=datetime.now(UTC)))
        await s.commit()
    assert len(upcoming) + 1 > 6  # the far event is not on the first page
    user = api.user(ANA)
    user.send_text("/agenda")
    [listing] = await api.wait_for("sendMessage", chat_id=ANA)
    assert listing.params["text"].endswith(
        "📌 En otras páginas de esta lista hay 1 evento suyo (con cupo o en espera).")
    assert "✅ tiene su cupo" not in listing.params["text"]


async def test_the_hearings_card_takes_a_question_for_the_hearing(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    async with db.session() as s:
        hearing = (await s.exec(select(Event).where(Event.tipo == "audiencia pública"))).first()
    assert hearing is not None
    user = api.user(ANA)
    user.send_text(f"/start evento_{hearing.id}")
    [card] = await api.wait_for("sendMessage", chat_id=ANA)
    assert "preg:t:audiencia" in _buttons(card.params)
    user.tap("❓ Enviar pregunta para la audiencia")
    [ask] = await api.wait_for("editMessageText", chat_id=ANA)
    assert ask.params["text"].startswith(
        "Tema: <b>🎤 Audiencia pública</b>.\nEscriba su pregunta en un solo mensaje")
    # Other kinds of event have no such button.
    other = await _small_event(db, settings, capacity=None)
    user.send_text(f"/start evento_{other.id}")
    _, plain = await api.wait_for("sendMessage", chat_id=ANA, count=2)
    assert "preg:t:audiencia" not in _buttons(plain.params)
