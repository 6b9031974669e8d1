"""A half-finished text flow lets go: commands, the main menu and time end it, /cancelar says so."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage import questions
from storage.conversations import FlowState, get_state, set_state
from storage.db import Database
from storage.models import CitizenQuestion, ConversationState, OutboxMessage
from storage.privacy import give_consent
from storage.types import utcnow

ADMIN = 1000
ANA = 7701


# Each test's database starts with the example data (as `load_demo` leaves it).
pytestmark = pytest.mark.usefixtures("demo_data")


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    async with db.session() as s:
        await give_consent(s, telegram_id=ANA, chat_id=ANA)


async def _questions(db: Database) -> list[CitizenQuestion]:
    async with db.session() as s:
        return list((await s.exec(select(CitizenQuestion))).all())


async def _state(db: Database, chat_id: int) -> FlowState | None:
    async with db.session() as s:
        return await get_state(s, chat_id=chat_id, user_id=chat_id)


async def _half_finished_question(api: LocalBotAPI) -> None:
    """Start /preguntar, choose a topic and send a text too short to be filed."""
    ana = api.user(ANA)
    ana.send_text("/preguntar")
    await api.wait_for("sendMessage", chat_id=ANA)
    ana.tap("🏗️ Obras")
    await api.wait_for("editMessageText", chat_id=ANA)
    ana.send_text("corta")
    [*_, short] = await api.wait_for("sendMessage", chat_id=ANA, count=2)
    assert short.params["text"].startswith("Su pregunta es muy corta")


async def test_a_command_leaves_a_half_finished_question_and_later_text_is_a_search(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    await _half_finished_question(api)
    api.user(ANA).send_text("/metas")
    await api.wait_for("sendMessage", chat_id=ANA, count=3)
    assert await _state(db, ANA) is None
    api.user(ANA).send_text("como va el parque de la joya")
    [*_, reply] = await api.wait_for("sendMessage", chat_id=ANA, count=4)
    assert "Recibimos su pregunta" not in reply.params["text"]
    assert await _questions(db) == []


async def test_a_main_menu_button_leaves_the_flow_too(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    ana = api.user(ANA)
    ana.send_text("/menu")
    await api.wait_for("sendMessage", chat_id=ANA)
    ana.send_text("/preguntar")
    await api.wait_for("sendMessage", chat_id=ANA, count=2)
    ana.tap("🎤 Audiencia pública")
    await api.wait_for("editMessageText", chat_id=ANA)
    assert (await _state(db, ANA)) is not None
    menu = api.messages(ANA)[0]["message_id"]
    ana.tap("🏗️ Obras", message_id=menu)  # the main menu's Obras, not a question topic
    await api.wait_for("answerCallbackQuery", count=2)
    await api.wait_for("sendMessage", chat_id=ANA, count=3)  # «📍 Enviar mi ubicación»
    assert await _state(db, ANA) is None
    ana.send_text("¿Cuánto cuesta el parque de La Joya?")
    [*_, reply] = await api.wait_for("sendMessage", chat_id=ANA, count=4)
    assert "Recibimos su pregunta" not in reply.params["text"]
    assert await _questions(db) == []


async def test_a_question_typed_right_away_is_still_filed_and_confirmed(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    await _half_finished_question(api)
    api.user(ANA).send_text("¿Cuándo terminan el parque de La Joya?")
    [*_, received] = await api.wait_for("sendMessage", chat_id=ANA, count=3)
    assert received.params["text"].startswith("✅ Recibimos su pregunta <b>#1</b> (🏗️ Obras)")
    [question] = await _questions(db)
    assert question.chat_id == ANA


async def test_cancelar_still_says_it_cancelled_the_flow(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    await _half_finished_question(api)
    api.user(ANA).send_text("/cancelar")
    [*_, reply] = await api.wait_for("sendMessage", chat_id=ANA, count=3)
    assert reply.params["text"] == "Listo, cancelé lo que estaba haciendo."
    assert await _state(db, ANA) is None


@pytest.mark.parametrize(("idle", "filed"), [(timedelta(minutes=31), False),
                                             (timedelta(minutes=25), True)])
async def test_a_flow_idle_over_30_minutes_is_ignored_and_cleared(
    bot: CabildoApp, api: LocalBotAPI, db: Database, idle: timedelta, filed: bool
) -> None:
    async with db.session() as s:
        await set_state(s, chat_id=ANA, user_id=ANA, state=FlowState(
            "preguntar", "texto", {"topic": "obras", "at": utcnow().isoformat()}
        ))  # only the row's own time says how long the flow has waited
        row = await s.get(ConversationState, (ANA, ANA))
        assert row is not None
        row.updated_at = utcnow() - idle
        s.add(row)
        await s.commit()
    api.user(ANA).send_text("como va el parque de la joya")
    [reply] = await api.wait_for("sendMessage", chat_id=ANA)
    assert reply.params["text"].startswith("✅ Recibimos su pregunta") is filed
    assert len(await _questions(db)) == int(filed)
    assert await _state(db, ANA) is None


async def test_a_staff_wizard_waiting_for_text_is_left_by_a_command(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    admin = api.user(ADMIN)
    admin.send_text("/difundir")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    admin.tap("🏘️ Por comuna")
    await api.wait_for("editMessageText", chat_id=ADMIN)
    admin.tap("4 · Occidental")
    await api.wait_for("editMessageText", chat_id=ADMIN, count=2)
    admin.tap("Listo ▶️")
    await api.wait_for("editMessageText", chat_id=ADMIN, count=3)
    assert (await _state(db, ADMIN)) is not None
    admin.send_text("/obras")
    await api.wait_for("sendMessage", chat_id=ADMIN, count=3)  # the index and the location
    assert await _state(db, ADMIN) is None
    admin.send_text("Reunión de la junta el martes a las 6 p. m. en el salón comunal")
    [*_, reply] = await api.wait_for("sendMessage", chat_id=ADMIN, count=4)
    assert "así lo recibirán" not in reply.params["text"]  # no broadcast preview
    async with db.session() as s:
        assert (await s.exec(select(OutboxMessage))).all() == []


@pytest.mark.parametrize("command", ["/panel", "/preguntas", "/resumen"])
async def test_a_staff_command_leaves_a_pending_answer_too(
    bot: CabildoApp, api: LocalBotAPI, db: Database, command: str
) -> None:
    async with db.session() as s:
        question = await questions.ask(s, chat_id=ANA, topic="obras",
                                       text="¿Cuándo terminan el parque de La Joya?")
    admin = api.user(ADMIN)
    admin.send_text("/preguntas")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    admin.tap(f"staff:preg:r:{question.id}")
    await api.wait_for("editMessageText", chat_id=ADMIN)
    assert (await _state(db, ADMIN)) is not None  # waiting for the answer's text
    admin.send_text(command)
    await api.wait_for("sendMessage", chat_id=ADMIN, count=2)
    assert await _state(db, ADMIN) is None
    admin.send_text("como va el parque de la joya")
    [*_, reply] = await api.wait_for("sendMessage", chat_id=ADMIN, count=3)
    assert not reply.params["text"].startswith("✅ Respondí")
    [stored] = await _questions(db)
    assert stored.answer is None  # the search text was not sent as the official answer


async def test_a_flow_that_waits_for_buttons_is_kept_across_commands(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    basket = FlowState("pp", "canasta", {"ronda": 1, "proyectos": [2]})
    async with db.session() as s:
        await set_state(s, chat_id=ANA, user_id=ANA, state=basket)
    api.user(ANA).send_text("/menu")
    await api.wait_for("sendMessage", chat_id=ANA)
    assert await _state(db, ANA) == basket


@pytest.mark.parametrize(("flow", "where"), [("encuesta", "/encuestas"),
                                             ("preguntas", "/preguntas"),
                                             ("difundir", "/difundir"),
                                             ("evento", "/evento")])
async def test_each_flow_left_idle_says_where_to_pick_it_up(
    bot: CabildoApp, api: LocalBotAPI, db: Database, flow: str, where: str
) -> None:
    async with db.session() as s:
        await set_state(s, chat_id=ANA, user_id=ANA, state=FlowState(flow, "texto", {}))
        row = await s.get(ConversationState, (ANA, ANA))
        assert row is not None
        row.updated_at = utcnow() - timedelta(hours=2)
        s.add(row)
        await s.commit()
    api.user(ANA).send_text("presupuesto")
    note, _ = await api.wait_for("sendMessage", chat_id=ANA, count=2)
    assert note.params["text"].startswith(("⌛", "⏸️")) and where in note.params["text"]
    assert await _state(db, ANA) is None
