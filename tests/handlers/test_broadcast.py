"""`/difundir` end to end: the right people get it, once; the author gets a report."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage import outbox
from storage.db import Database
from storage.demo import SAMPLE_DIR
from storage.importers import import_file
from storage.models import AuditEntry, Citizen, OutboxMessage, Subscription

ADMIN = 1000
COMUNA_4 = [4001, 4002, -1004004]  # two people and a junta's group
COMUNA_12 = [1201, 1202]


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    async with db.session() as s:
        await import_file(s, "comunas", SAMPLE_DIR / "comunas.csv", tz=settings.tz)
        for chat in COMUNA_4:
            s.add(Subscription(chat_id=chat, kind="comuna", value="4"))
        for chat in COMUNA_12:
            s.add(Subscription(chat_id=chat, kind="comuna", value="12"))
        s.add(Subscription(chat_id=4001, kind="tema", value="obras"))
        s.add_all(Citizen(telegram_id=c, chat_id=c) for c in [4001, 4002, 1201, 1202])
        await s.commit()


async def test_comuna_4_broadcast_reaches_its_subscribers_only_once(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    admin = api.user(ADMIN)
    admin.send_text("/difundir")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    admin.tap("🏘️ Por comuna")
    await api.wait_for("editMessageText", chat_id=ADMIN)
    admin.tap("4 · Occidental")
    await api.wait_for("editMessageText", chat_id=ADMIN, count=2)
    assert any(
        b["text"] == "✅ 4 · Occidental"
        for row in api.messages(ADMIN)[-1]["reply_markup"]["inline_keyboard"] for b in row
    )
    admin.tap("Listo ▶️")
    [*_, ask] = await api.wait_for("editMessageText", chat_id=ADMIN, count=3)
    assert "Occidental (3 destinatarios)" in ask.params["text"]

    admin.send_text("Reunión de la junta <el martes> a las 6 p. m. en el salón comunal")
    _, preview = await api.wait_for("sendMessage", chat_id=ADMIN, count=2)
    assert "así lo recibirán 3 personas" in preview.params["text"]
    assert "&lt;el martes&gt;" in preview.params["text"]
    admin.tap("✅ Enviar ahora")
    admin.tap("✅ Enviar ahora")  # double tap must not send twice
    for chat in COMUNA_4:
        [received] = await api.wait_for("sendMessage", chat_id=chat)
        assert received.params["text"].startswith("Reunión de la junta &lt;el martes&gt;")
    report = await api.wait_for("sendMessage", chat_id=ADMIN, count=3)
    assert "Enviados: 3" in report[-1].params["text"]
    for chat in COMUNA_12:
        assert api.calls_to(chat, ["sendMessage"]) == []
    async with db.session() as s:
        rows = (await s.exec(select(OutboxMessage))).all()
        [entry] = (await s.exec(select(AuditEntry).where(AuditEntry.action == "difusion"))).all()
    assert sorted(r.chat_id for r in rows) == sorted(COMUNA_4)
    assert (entry.actor_id, entry.detail["destinatarios"]) == (ADMIN, 3)


async def test_scheduled_broadcast_waits_and_can_be_withdrawn(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    admin = api.user(ADMIN)
    admin.send_text("/difundir")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    admin.tap("🏷️ Por tema")
    await api.wait_for("editMessageText", chat_id=ADMIN)
    admin.tap("Obras")
    await api.wait_for("editMessageText", chat_id=ADMIN, count=2)
    admin.send_text("Visita de obra al parque La Joya")
    await api.wait_for("sendMessage", chat_id=ADMIN, count=2)
    admin.tap("🕒 Programar")
    await api.wait_for("editMessageText", chat_id=ADMIN, count=3)
    admin.send_text("mañana temprano")
    admin.send_text("2099-01-15 08:00")
    bad, scheduled = (await api.wait_for("sendMessage", chat_id=ADMIN, count=4))[2:]
    assert bad.params["text"].startswith("No entendí la fecha")
    assert "programada para el jueves, 15 de enero de 2099, 8:00" in scheduled.params["text"]
    async with db.session() as s:
        counts = await outbox.status_counts(s)
    assert counts["pendiente"] == 1
    assert api.calls_to(4001, ["sendMessage"]) == []
    admin.send_text("/difundir cancelar 1")
    [*_, withdrawn] = await api.wait_for("sendMessage", chat_id=ADMIN, count=5)
    assert withdrawn.params["text"] == "Difusión #1 cancelada: se retiraron 1 mensajes sin enviar."


async def test_a_citizen_cannot_open_the_wizard_or_press_its_buttons(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    citizen = api.user(4001)
    citizen.send_text("/difundir")
    [reply] = await api.wait_for("sendMessage", chat_id=4001)
    assert reply.params["text"].startswith("No conozco el comando /difundir")
    forged = citizen.tap(reply.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
                         enqueue=False)
    forged["callback_query"]["data"] = "staff:dif:ok"
    api.enqueue(forged)
    [answer] = await api.wait_for("answerCallbackQuery")
    assert answer.params["text"] == "Ese botón ya no está disponible."
