"""`/difundir` end to end: the right people get it, once; the author gets a report."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage import outbox
from storage.conversations import get_state
from storage.db import Database
from storage.demo import SAMPLE_DIR
from storage.importers import import_file
from storage.models import (
    AuditEntry,
    Broadcast,
    Citizen,
    Event,
    OutboxMessage,
    Registration,
    Subscription,
)
from storage.types import utcnow

ADMIN = 1000
COMUNA_4 = [4001, 4002, -1004004]  # two people and a junta's group
COMUNA_12 = [1201, 1202]


def _plain(text: str) -> str:
    """Babel writes «p. m.» with a narrow no-break space; compare with a plain one."""
    return text.replace("\u202f", " ")


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
    assert "Occidental (3 personas)" in ask.params["text"]

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
    # The broadcast once to each subscriber, and the author's report, queued like any message.
    assert sorted(r.chat_id for r in rows if r.broadcast_id) == sorted(COMUNA_4)
    assert [r.dedupe_key for r in rows if not r.broadcast_id] == [
        f"informe-difusion:{entry.detail['difusion']}:{ADMIN}"
    ]
    assert (entry.actor_id, entry.detail["destinatarios"]) == (ADMIN, 3)


async def test_scheduled_broadcast_waits_and_can_be_withdrawn_once(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    admin = api.user(ADMIN)
    admin.send_text("/difundir")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    admin.tap("🏷️ Por tema")
    await api.wait_for("editMessageText", chat_id=ADMIN)
    admin.tap("Obras")
    [*_, ask] = await api.wait_for("editMessageText", chat_id=ADMIN, count=2)
    assert "(1 persona)." in ask.params["text"]
    admin.send_text("Visita de obra al parque La Joya")
    [_, preview] = await api.wait_for("sendMessage", chat_id=ADMIN, count=2)
    assert "así lo recibirá 1 persona (quienes siguen el tema Obras)" in preview.params["text"]
    admin.tap("🕒 Programar")
    await api.wait_for("editMessageText", chat_id=ADMIN, count=3)
    admin.send_text("mañana temprano")
    admin.send_text("2020-11-20 10:00")
    admin.send_text("2099-01-15 08:00")
    bad, past, scheduled = (await api.wait_for("sendMessage", chat_id=ADMIN, count=5))[2:]
    assert bad.params["text"].startswith("No entendí la fecha")
    assert _plain(past.params["text"]).startswith(
        "Esa fecha ya pasó (viernes, 20 de noviembre de 2020, 10:00 a. m.). Escriba una fecha"
    )
    assert _plain(scheduled.params["text"]) == (
        "🕒 Difusión #1 programada para el jueves, 15 de enero de 2099, 8:00 a. m.: 1 mensaje."
    )
    async with db.session() as s:
        counts = await outbox.status_counts(s)
    assert counts["pendiente"] == 1
    assert api.calls_to(4001, ["sendMessage"]) == []
    admin.send_text("/difundir cancelar 1")
    [*_, withdrawn] = await api.wait_for("sendMessage", chat_id=ADMIN, count=6)
    assert withdrawn.params["text"] == "Difusión #1 cancelada: se retiró 1 mensaje sin enviar."
    admin.send_text("/difundir cancelar 1")
    [*_, again] = await api.wait_for("sendMessage", chat_id=ADMIN, count=7)
    assert again.params["text"] == (
        "La difusión #1 ya estaba cancelada; no hay nada que retirar."
    )
    async with db.session() as s:
        [broadcast] = (await s.exec(select(Broadcast))).all()
        audit = (await s.exec(
            select(AuditEntry).where(AuditEntry.action == "difusion_cancelada")
        )).all()
        counts = await outbox.status_counts(s)
    assert broadcast.status == "cancelada"
    assert [a.detail for a in audit] == [{"difusion": 1, "retirados": 1}]
    assert counts["pendiente"] == 0


async def test_cancelling_a_finished_or_unknown_broadcast_changes_nothing(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        done = Broadcast(created_by=ADMIN, audience={"kind": "todos", "values": []},
                         text="Hola", status="terminada", finished_at=utcnow())
        s.add(done)
        await s.commit()
        s.add(OutboxMessage(broadcast_id=done.id, chat_id=4001, payload={"text": "Hola"},
                            status="enviado"))
        await s.commit()
    admin = api.user(ADMIN)
    admin.send_text(f"/difundir cancelar {done.id}")
    [finished] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert finished.params["text"] == (
        f"La difusión #{done.id} ya terminó; no hay nada que retirar."
    )
    admin.send_text("/difundir cancelar 999")
    [_, unknown] = await api.wait_for("sendMessage", chat_id=ADMIN, count=2)
    assert unknown.params["text"] == "No existe la difusión #999."
    admin.send_text(f"/difundir estado {done.id}")
    [*_, report] = await api.wait_for("sendMessage", chat_id=ADMIN, count=3)
    assert report.params["text"].startswith(f"📊 <b>Difusión #{done.id}</b> — terminada")
    assert "Enviados: 1" in report.params["text"]
    async with db.session() as s:
        [broadcast] = (await s.exec(select(Broadcast))).all()
        audit = (await s.exec(
            select(AuditEntry).where(AuditEntry.action == "difusion_cancelada")
        )).all()
    assert broadcast.status == "terminada"
    assert audit == []


@pytest.mark.parametrize("command", ["/difundir estado", "/difundir estado abc",
                                     "/difundir cancelar", "/difundir CANCELAR tres"])
async def test_status_or_cancel_without_a_number_explains_the_usage(
    bot: CabildoApp, api: LocalBotAPI, db: Database, command: str
) -> None:
    api.user(ADMIN).send_text(command)
    [reply] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert reply.params["text"] == (
        "Escriba el número de la difusión, así: <code>/difundir estado 3</code> "
        "o <code>/difundir cancelar 3</code>."
    )
    assert "reply_markup" not in reply.params
    async with db.session() as s:
        assert await get_state(s, chat_id=ADMIN, user_id=ADMIN) is None


async def test_done_without_a_comuna_asks_to_mark_one(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    admin = api.user(ADMIN)
    admin.send_text("/difundir")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    admin.tap("🏘️ Por comuna")
    await api.wait_for("editMessageText", chat_id=ADMIN)
    admin.tap("Listo ▶️")
    [_, warning] = await api.wait_for("editMessageText", chat_id=ADMIN, count=2)
    assert warning.params["text"] == "⚠️ Marque al menos una comuna y luego toque «Listo ▶️»."
    assert warning.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "1 · Norte"
    async with db.session() as s:
        state = await get_state(s, chat_id=ADMIN, user_id=ADMIN)
    assert state is not None and state.step == "comunas"


async def test_event_audience_lists_dates_and_shortened_titles(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    start = datetime(2099, 3, 4, 23, 0, tzinfo=UTC)  # 6:00 p. m. in Bogotá
    long_title = "Presupuestos participativos: asamblea de la comuna 10 Provenza y barrios vecinos"
    async with db.session() as s:
        events = [
            Event(clave="A", titulo=long_title, tipo="asamblea", inicio=start, lugar="Salón"),
            Event(clave="B", titulo="Sin inscritos", tipo="taller", inicio=start, lugar="X"),
            Event(clave="C", titulo="Ya pasó", tipo="taller",
                  inicio=datetime(2020, 1, 1, tzinfo=UTC), lugar="X"),
        ]
        s.add_all(events)
        await s.commit()
        for event in (events[0], events[2]):
            s.add(Registration(event_id=event.id or 0, chat_id=4001))
        await s.commit()
    admin = api.user(ADMIN)
    admin.send_text("/difundir")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    admin.tap("📅 Personas inscritas en un evento")
    [choose] = await api.wait_for("editMessageText", chat_id=ADMIN)
    labels = [_plain(row[0]["text"]) for row in choose.params["reply_markup"]["inline_keyboard"]]
    assert labels == [
        "mié 4 mar · 6:00 p. m. · Presupuestos participativos: asamblea… (1)",
        "❌ Cancelar",
    ]
    admin.tap(f"staff:dif:e:{events[0].id}")
    [*_, ask] = await api.wait_for("editMessageText", chat_id=ADMIN, count=2)
    assert f"personas inscritas en «{long_title}» (1 persona)" in ask.params["text"]


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
