"""`/preguntar` end to end: ask, get a number, staff answer, the answer arrives; limits, duplicates,
publishing, search, and what citizens may not do."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from handlers import question_notices as notices
from storage import questions
from storage.conversations import FlowState, set_state
from storage.db import Database
from storage.models import AuditEntry, CitizenQuestion, ConversationState, OutboxMessage
from storage.privacy import give_consent
from storage.types import utcnow

ADMIN = 1000
ANA, LUIS, NEW = 5001, 5002, 5003  # Ana and Luis accepted the data notice; NEW did not
GROUP = -1005001


class Chat:
    """Waits for the bot's next call of a method to one chat, counting what was seen."""

    def __init__(self, api: LocalBotAPI) -> None:
        self.api = api
        self.seen: dict[tuple[int, str], int] = {}

    async def next(self, chat_id: int, method: str = "sendMessage") -> dict[str, Any]:
        key = (chat_id, method)
        self.seen[key] = self.seen.get(key, 0) + 1
        calls = await self.api.wait_for(method, chat_id=chat_id, count=self.seen[key])
        return calls[self.seen[key] - 1].params


def _buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    rows = (params.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


def _forge(api: LocalBotAPI, user_id: int, data: str) -> None:
    """Send a button press with arbitrary data from the person's last message."""
    query = {"id": str(api.new_update_id() * 7919), "from": api.user(user_id).as_dict(),
             "message": api.messages(user_id)[-1], "chat_instance": f"ci{user_id}", "data": data}
    api.enqueue({"update_id": api.new_update_id(), "callback_query": query})


@pytest.fixture
def api() -> LocalBotAPI:
    api = LocalBotAPI()
    api.group(GROUP, "JAC Barrio La Joya")
    return api


@pytest.fixture
async def seed(db: Database) -> None:
    async with db.session() as s:
        for person in (ANA, LUIS):
            await give_consent(s, telegram_id=person, chat_id=person)


async def _questions(db: Database) -> list[CitizenQuestion]:
    async with db.session() as s:
        query = select(CitizenQuestion).order_by(col(CitizenQuestion.id))
        return list((await s.exec(query)).all())


async def test_a_question_is_asked_answered_by_staff_and_the_answer_delivered(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    chat, citizen, admin = Chat(api), api.user(NEW), api.user(ADMIN)
    citizen.send_text("/preguntar")
    intro = await chat.next(NEW)
    labels = [text for text, _ in _buttons(intro)]
    assert labels[0] == "🎤 Audiencia pública" and "📚 Preguntas respondidas" in labels
    citizen.tap("🎤 Audiencia pública")
    notice = await chat.next(NEW)  # the question is linked to the chat: consent first
    assert "Ley 1581 de 2012" in notice["text"] and "enviar preguntas" in notice["text"]
    citizen.tap("✅ Acepto")  # accepting carries on: the topic is taken, the text asked for
    thanks = await chat.next(NEW, "editMessageText")
    assert thanks["text"] == "✅ Gracias. Ya puede enviar preguntas a la Alcaldía."
    ask = await chat.next(NEW, "editMessageText")
    assert ask["text"].startswith("Tema: <b>🎤 Audiencia pública</b>.")
    assert "(entre 10 y 1.000 caracteres)" in ask["text"]
    citizen.send_text("¿Cuándo será la audiencia <b>pública</b> & dónde?")
    received = await chat.next(NEW)
    assert received["text"].startswith("✅ Recibimos su pregunta <b>#1</b> (🎤 Audiencia pública)")
    assert "¿Cuándo será la audiencia &lt;b&gt;pública&lt;/b&gt; &amp; dónde?" in received["text"]

    admin.send_text("/preguntas")
    queue = await chat.next(ADMIN)
    assert "Preguntas pendientes: 1" in queue["text"]
    assert "<b>#1</b> · 🎤 Audiencia pública" in queue["text"]
    assert "&lt;b&gt;pública&lt;/b&gt;" in queue["text"]
    assert ("✍️ Responder #1", "staff:preg:r:1") in _buttons(queue)
    admin.tap("✍️ Responder #1")
    prompt = await chat.next(ADMIN, "editMessageText")
    assert prompt["text"].startswith("✍️ Escriba la respuesta a la pregunta <b>#1</b>")
    admin.send_text("El 15 de diciembre en el <Centro Cultural> del Oriente.")
    done = await chat.next(ADMIN)
    assert done["text"] == "✅ Respondí la pregunta #1. La respuesta va en camino a 1 persona."

    delivered = await chat.next(NEW)  # sent by the outbox sender running inside the bot
    assert delivered["text"].startswith("💬 <b>Respuesta a su pregunta #1</b>")
    assert "El 15 de diciembre en el &lt;Centro Cultural&gt; del Oriente." in delivered["text"]
    [question] = await _questions(db)
    assert (question.status, question.answered_by, question.chat_id) == ("respondida", ADMIN, NEW)
    async with db.session() as s:
        [row] = (await s.exec(select(OutboxMessage))).all()
        [entry] = (await s.exec(
            select(AuditEntry).where(AuditEntry.action == "pregunta_respondida")
        )).all()
        assert (await s.exec(select(ConversationState))).all() == []
    assert (row.chat_id, row.kind) == (NEW, "respuesta")  # exactly one message, via the outbox
    assert (entry.actor_id, entry.detail["pregunta"]) == (ADMIN, 1)

    citizen.send_text("/mis_preguntas")
    mine = await chat.next(NEW)
    assert "<b>#1</b> · 🎤 Audiencia pública" in mine["text"]
    assert "🟢 Respondida" in mine["text"] and "Centro Cultural" in mine["text"]


async def test_the_text_given_with_the_command_is_filed_once_under_the_chosen_topic(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    chat, ana = Chat(api), api.user(ANA)
    ana.send_text("/preguntar ¿Por qué está parada la obra del colegio Santander?")
    topics = await chat.next(ANA)
    assert "«¿Por qué está parada la obra del colegio Santander?»" in topics["text"]
    ana.tap("🏗️ Obras")
    ana.tap("🏗️ Obras")  # double tap: filed once
    await api.wait_for("answerCallbackQuery", count=2)
    received = await chat.next(ANA, "editMessageText")
    assert received["text"].startswith("✅ Recibimos su pregunta <b>#1</b> (🏗️ Obras)")
    [question] = await _questions(db)
    assert (question.topic, question.chat_id) == ("obras", ANA)


async def test_after_five_questions_a_day_the_person_gets_a_polite_wait(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        for i in range(questions.DAILY_LIMIT):
            await questions.ask(s, chat_id=ANA, topic="otro", text=f"Pregunta de prueba {i}",
                                now=utcnow() - timedelta(hours=5 - i))
    chat, ana = Chat(api), api.user(ANA)
    ana.send_text("/preguntar ¿Y una sexta pregunta se puede?")
    reply = await chat.next(ANA)
    assert reply["text"].startswith("Ya envió 5 preguntas en las últimas 24 horas")
    assert "Gracias por su paciencia" in reply["text"]
    assert "m.. " not in reply["text"] and ". Gracias" in reply["text"]  # «a. m.» ends it
    assert not any(data.startswith("preg:t") for _, data in _buttons(reply))
    assert len(await _questions(db)) == questions.DAILY_LIMIT
    async with db.session() as s:
        assert (await s.exec(select(ConversationState))).all() == []


async def test_marking_a_duplicate_sends_the_asker_the_original_answer(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        await questions.ask(s, chat_id=ANA, topic="obras", text="¿Cuándo abren el parque La Joya?")
        await questions.ask(s, chat_id=LUIS, topic="obras", text="Parque La Joya: ¿fecha?")
    chat, admin = Chat(api), api.user(ADMIN)
    admin.send_text("/responder 1 El parque abre\nel 20 de diciembre.")
    assert (await chat.next(ADMIN))["text"].startswith("✅ Respondí la pregunta #1.")
    assert "El parque abre\nel 20 de diciembre." in (await chat.next(ANA))["text"]
    admin.send_text("/preguntas")
    queue = await chat.next(ADMIN)
    admin.tap("🔁 Duplicada #2")
    await chat.next(ADMIN, "editMessageText")
    admin.send_text("dos")
    assert (await chat.next(ADMIN))["text"].startswith("Escriba solo el número")
    admin.send_text("#1")
    done = await chat.next(ADMIN)
    assert done["text"] == (
        "🔁 La pregunta #2 quedó como duplicada de la #1. La respuesta va en camino a 1 persona."
    )
    luis = await chat.next(LUIS)
    assert luis["text"].startswith("💬 <b>Respuesta a su pregunta #2</b>")
    assert "Otra persona preguntó lo mismo (pregunta #1)" in luis["text"]
    assert "20 de diciembre" in luis["text"]
    assert "Preguntas pendientes: 1" in queue["text"]
    api.user(LUIS).send_text("/mis_preguntas")
    mine = await chat.next(LUIS)
    assert "🔁 Otra persona preguntó lo mismo (#1)" in mine["text"]
    assert "20 de diciembre" in mine["text"]


async def test_answering_again_updates_the_answer_and_says_so(
    bot: CabildoApp, api: LocalBotAPI
) -> None:
    chat, admin = Chat(api), api.user(ADMIN)
    api.user(ANA).send_text("/preguntar ¿Cuántos cupos tiene el CDI nuevo?")
    await chat.next(ANA)
    api.user(ANA).tap("💬 Otro tema")
    await chat.next(ANA, "editMessageText")
    admin.send_text("/responder 1 Tiene 100 cupos.")
    await chat.next(ADMIN)
    await chat.next(ANA)
    admin.send_text("/responder #1 Tiene 120 cupos.")
    updated = await chat.next(ADMIN)
    assert updated["text"] == (
        "✏️ La pregunta #1 ya estaba respondida: actualicé la respuesta. "
        "La respuesta va en camino a 1 persona."
    )
    corrected = await chat.next(ANA)
    assert corrected["text"].startswith("💬 <b>Respuesta actualizada a su pregunta #1</b>")
    assert "120 cupos" in corrected["text"]


async def test_published_answers_are_browsable_and_found_by_free_text(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        await questions.ask(s, chat_id=LUIS, topic="obras",
                            text="¿Cuándo arreglan el acueducto veredal de Vijagual?")
        await notices.answer(s, question_id=1, text="Las obras empiezan en marzo.",
                             actor_id=ADMIN)
    chat, ana, admin = Chat(api), api.user(ANA), api.user(ADMIN)
    ana.send_text("como va el acueducto de vijagual")
    assert (await chat.next(ANA))["text"].startswith("No encontré información")  # unpublished

    admin.send_text("/publicar 1")
    published = await chat.next(ADMIN)
    assert published["text"].startswith("📢 La pregunta #1 está publicada")
    assert ("🙈 Retirar publicación", "staff:preg:p:1:0") in _buttons(published)
    admin.send_text("/publicar 1")  # sent twice: still published, not withdrawn
    assert (await chat.next(ADMIN))["text"].startswith("📢 La pregunta #1 está publicada")

    ana.send_text("como va el acueducto de vijagual")
    found = await chat.next(ANA)
    assert "<b>❓ Respuestas</b>" in found["text"]
    ana.tap("preg:v:1")
    card = await chat.next(ANA, "editMessageText")
    assert "<b>Pregunta #1</b> · 🏗️ Obras" in card["text"]
    assert "Las obras empiezan en marzo." in card["text"]

    ana.send_text("/preguntar")
    await chat.next(ANA)
    ana.tap("📚 Preguntas respondidas")
    listing = await chat.next(ANA, "editMessageText")
    assert "acueducto veredal de Vijagual" in listing["text"]
    assert ("#1 · ¿Cuándo arreglan el acueducto veredal de Vijagual?", "preg:v:1") in (
        _buttons(listing)
    )

    admin.tap("🙈 Retirar publicación")
    assert (await chat.next(ADMIN, "editMessageText"))["text"] == (
        "🙈 La pregunta #1 ya no está publicada."
    )
    ana.tap("preg:v:1")
    gone = await chat.next(ANA, "editMessageText")
    assert gone["text"] == "Esa opción ya no está disponible."


async def test_citizens_cannot_use_staff_commands_or_buttons(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        await questions.ask(s, chat_id=ANA, topic="obras", text="¿Cuándo abren el parque?")
    chat, luis = Chat(api), api.user(LUIS)
    luis.send_text("/responder 1 Nunca.")
    assert (await chat.next(LUIS))["text"].startswith("No conozco el comando /responder")
    _forge(api, LUIS, "staff:preg:p:1:1")
    [answer] = await api.wait_for("answerCallbackQuery")
    assert answer.params["text"] == "Ese botón ya no está disponible."
    [question] = await _questions(db)
    assert (question.status, question.published) == ("pendiente", False)


async def test_forged_or_stale_buttons_change_nothing(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    chat, ana, admin = Chat(api), api.user(ANA), api.user(ADMIN)
    ana.send_text("/preguntar")
    await chat.next(ANA)
    for data in ("preg:t:inventado", "preg:tt:obras"):
        _forge(api, ANA, data)
    answers = await api.wait_for("answerCallbackQuery", count=2)
    assert [a.params.get("text") for a in answers] == [
        "Esa opción ya no está disponible.",
        "Esta pregunta ya no está en curso. Empiece de nuevo con /preguntar.",
    ]
    admin.send_text("/preguntas")
    assert (await chat.next(ADMIN))["text"] == "📥 No hay preguntas pendientes."
    _forge(api, ADMIN, "staff:preg:r:999")
    assert (await chat.next(ADMIN, "editMessageText"))["text"] == "No existe la pregunta #999."
    _forge(api, ADMIN, "staff:preg:p:x:1")
    assert (await chat.next(ADMIN, "editMessageText"))["text"] == (
        "Esa acción ya no está en curso. Vea la cola con /preguntas."
    )
    admin.send_text("/responder 999 Hola")
    assert (await chat.next(ADMIN))["text"] == "No existe la pregunta #999."
    admin.send_text("/duplicada 1")
    assert (await chat.next(ADMIN))["text"].startswith("Escriba: <code>/duplicada n m</code>")
    assert await _questions(db) == []


async def test_the_menu_button_opens_the_topics_and_groups_are_sent_to_private(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    chat, ana = Chat(api), api.user(ANA)
    ana.send_text("/menu")
    await chat.next(ANA)
    ana.tap("❓ Preguntar")
    intro = await chat.next(ANA, "editMessageText")
    assert intro["text"].startswith("❓ <b>Preguntas a la Alcaldía</b>")
    ana.tap("📑 Contratación")
    await chat.next(ANA, "editMessageText")
    ana.tap("❌ Cancelar")
    assert (await chat.next(ANA, "editMessageText"))["text"] == "Listo, no envié ninguna pregunta."
    ana.send_text("/preguntar ¿Qué pasó con la licitación del puente?", chat_id=GROUP)
    reply = await chat.next(GROUP)
    assert reply["text"] == "Para enviar preguntas o ver las suyas, escríbame en privado."
    assert await _questions(db) == []
    async with db.session() as s:
        assert (await s.exec(select(ConversationState))).all() == []


async def test_a_question_flow_left_long_ago_lets_the_text_be_searched_instead(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    long_ago = (utcnow() - timedelta(hours=2)).isoformat()
    async with db.session() as s:
        await questions.ask(s, chat_id=LUIS, topic="obras", text="¿Cuándo abren el parque?")
        await set_state(s, chat_id=ANA, user_id=ANA,
                        state=FlowState("preguntar", "texto", {"topic": "obras", "at": long_ago}))
        await set_state(s, chat_id=ADMIN, user_id=ADMIN,
                        state=FlowState("preguntas", "respuesta", {"id": 1, "at": long_ago}))
    chat = Chat(api)
    api.user(ANA).send_text("como va el acueducto de vijagual")
    reply = await chat.next(ANA)
    assert reply["text"].startswith("No encontré información sobre «como va el acueducto")
    api.user(ADMIN).send_text("como va el acueducto de vijagual")
    assert (await chat.next(ADMIN))["text"].startswith("No encontré información")
    [question] = await _questions(db)
    assert (question.chat_id, question.status) == (LUIS, "pendiente")
    async with db.session() as s:
        assert (await s.exec(select(ConversationState))).all() == []


async def test_withdrawing_takes_its_own_word_and_one_asker_hears_an_answer_once(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        await questions.ask(s, chat_id=LUIS, topic="obras",
                            text="¿Cuándo arreglan el acueducto veredal de Vijagual?")
        await questions.ask(s, chat_id=LUIS, topic="obras",
                            text="¿Qué pasó con el acueducto de Vijagual, por favor?")
        await notices.mark_duplicate(s, question_id=2, original_id=1, actor_id=ADMIN)
        result = await notices.answer(s, question_id=1, text="Las obras empiezan en marzo.",
                                      actor_id=ADMIN)
        assert result.notified == 1  # the same person asked both: one message
    chat, admin = Chat(api), api.user(ADMIN)
    admin.send_text("/publicar 1")
    await chat.next(ADMIN)
    admin.send_text("/publicar 1 retirar")
    assert (await chat.next(ADMIN))["text"].startswith("🙈 La pregunta #1 ya no está publicada")
    admin.send_text("/publicar 1 quizás")
    assert (await chat.next(ADMIN))["text"].startswith("Escriba: <code>/publicar n</code>")
