"""`/evento`: staff create events step by step, list them and add places; citizens cannot."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from handlers.reminders import sweep
from storage.db import Database
from storage.models import AuditEntry, Comuna, Event, Registration, Subscription
from storage.privacy import give_consent
from tests.handlers.event_admin_support import (
    ADMIN,
    CITIZEN,
    SUBSCRIBER,
    _labels,
    _texts,
    # `seed` overrides the conftest's: the `bot` fixture loads the comunas before starting.
    seed,  # noqa: F401
)


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
