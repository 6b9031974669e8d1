"""«Yo también quiero saber» counted once per person, and the most supported questions."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp
from bot.formatting import local_date
from bot.localapi import LocalBotAPI
from storage import questions
from storage.db import Database
from storage.models import CitizenQuestion, Event, QuestionSupport
from storage.types import utcnow
from tests.handlers.question_helpers import (
    ADMIN,
    ANA,
    LUIS,
    NEW,
    OFFICE,
    OTHER,
    _answer_to,
    _buttons,
    _latest,
    _published,
)
from tests.handlers.question_helpers import seed as seed  # overrides conftest's `seed`


async def _message_starting(api: LocalBotAPI, chat_id: int, start: str) -> dict[str, Any]:
    """Wait for the bot's message to the chat that starts with `start`."""
    for _ in range(300):
        found = [c.params for c in api.calls_to(chat_id, ["sendMessage"])
                 if c.ok and c.params["text"].startswith(start)]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no message starting {start!r} to {chat_id}")


async def _supports(db: Database) -> list[QuestionSupport]:
    async with db.session() as s:
        return list((await s.exec(select(QuestionSupport))).all())


async def test_support_counts_once_per_person_and_a_second_tap_says_so(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    qid = await _published(db, text="¿Cuándo terminan el parque La Joya?",
                           answer="En marzo de 2027.")
    citizen = api.user(NEW)  # no personal-data consent needed: no chat id is stored
    citizen.send_text(f"/start pregunta_{qid}")
    card = await _latest(api, NEW, "sendMessage", 1)
    today = local_date(utcnow().astimezone(settings.tz).date(), settings.locale)
    assert f"💬 <b>Respuesta de {OFFICE}</b> ({today}):\nEn marzo de 2027." in card["text"]
    assert ("👍 Yo también quiero saber (0)", f"preg:a:{qid}:v") in _buttons(card)

    first = citizen.tap("👍 Yo también quiero saber (0)")
    assert (await _answer_to(api, first))["text"] == "👍 Gracias: su apoyo quedó contado."
    redrawn = await _latest(api, NEW, "editMessageText", 1)
    assert ("✅ Usted la apoya (1)", f"preg:a:{qid}:v") in _buttons(redrawn)

    again = citizen.tap("✅ Usted la apoya (1)")
    said = await _answer_to(api, again)
    assert said["text"] == (
        "Ya había apoyado esta pregunta: cada persona cuenta una sola vez. ¡Gracias!"
    )
    assert said["show_alert"] is True
    [support] = await _supports(db)
    assert support.question_id == qid and support.supporter_key.startswith("h:")
    assert str(NEW) not in support.supporter_key

    # A double tap (two presses in flight at once) counts one more person, once.
    other = api.user(OTHER)
    other.send_text(f"/start pregunta_{qid}")
    await _latest(api, OTHER, "sendMessage", 1)
    taps = [other.tap("👍 Yo también quiero saber (1)", enqueue=False) for _ in range(2)]
    for tap in taps:
        api.enqueue(tap)
    answers = sorted([(await _answer_to(api, t))["text"] for t in taps])
    assert answers == [
        "Ya había apoyado esta pregunta: cada persona cuenta una sola vez. ¡Gracias!",
        "👍 Gracias: su apoyo quedó contado.",
    ]
    assert len(await _supports(db)) == 2

    api.user(LUIS).send_text("/mis_preguntas")  # the asker too sees who answered, and when
    # (the answer itself reaches Luis through the outbox, before or after this)
    mine = await _message_starting(api, LUIS, "📋 <b>Sus preguntas</b>")
    assert f"💬 <i>{OFFICE}, {today}:</i> En marzo de 2027." in mine["text"]


async def test_a_person_who_deleted_their_data_and_came_back_cannot_support_twice(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    qid = await _published(db, text="¿Cuánto cuesta el puente de La Flora?",
                           answer="4.850 millones.")
    ana = api.user(ANA)
    ana.send_text(f"/start pregunta_{qid}")
    await _latest(api, ANA, "sendMessage", 1)
    tap = ana.tap("👍 Yo también quiero saber (0)")
    assert (await _answer_to(api, tap))["text"] == "👍 Gracias: su apoyo quedó contado."

    ana.send_text("/borrar_datos")
    await _latest(api, ANA, "sendMessage", 2)
    ana.tap("🗑️ Sí, borrar")
    done = await _latest(api, ANA, "editMessageText", 2)
    assert done["text"].startswith("Listo: borré sus datos")

    ana.send_text(f"/start pregunta_{qid}")  # back again, with no data kept but the mark
    card = await _latest(api, ANA, "sendMessage", 3)
    assert ("✅ Usted la apoya (1)", f"preg:a:{qid}:v") in _buttons(card)
    tap = ana.tap("✅ Usted la apoya (1)")
    assert (await _answer_to(api, tap))["text"].startswith("Ya había apoyado esta pregunta")
    assert len(await _supports(db)) == 1
    ana.send_text("/mis_datos")  # what is kept is said
    mine = await _latest(api, ANA, "sendMessage", 4)
    assert (
        "🔐 1 apoyo a una pregunta queda sin su id de Telegram, solo con una marca cifrada "
        "para que no se cuenten dos veces." in mine["text"]
    )


async def test_the_hearing_card_leads_to_the_most_supported_questions(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    async with db.session() as s:
        hearing = Event(clave="audiencia-2026", titulo="Audiencia pública de rendición de cuentas",
                        tipo="audiencia pública", inicio=utcnow() + timedelta(days=10),
                        lugar="Centro Cultural del Oriente")
        s.add(hearing)
        await s.commit()
        await s.refresh(hearing)
        pending = await questions.ask(s, chat_id=ANA, topic="audiencia",
                                      text="¿Qué pasó con la ciclorruta de la carrera 27?")
        hidden = await questions.ask(s, chat_id=ANA, topic="audiencia",
                                     text="Mi vecino no paga el impuesto predial, ¿qué hago?")
        assert pending.id is not None and hidden.id is not None
        await questions.set_shared(s, question_id=pending.id, chat_id=ANA, shared=True)
    answered = await _published(db, text="¿Cuándo abre el CDI de Café Madrid?",
                                answer="En febrero.", office=None)
    async with db.session() as s:  # the pending question is ahead: two people support it
        for person in (7001, 7002):
            await questions.support(s, question_id=pending.id, chat_id=person)
        await questions.support(s, question_id=answered, chat_id=7001)

    citizen = api.user(NEW)
    citizen.send_text(f"/start evento_{hearing.id}")
    card = await _latest(api, NEW, "sendMessage", 1)
    labels = [label for label, _ in _buttons(card)]
    assert "❓ Enviar pregunta para la audiencia" in labels
    assert "📋 Preguntas más apoyadas" in labels
    citizen.tap("📋 Preguntas más apoyadas")
    ranking = await _latest(api, NEW, "editMessageText", 1)
    text = ranking["text"]
    assert text.startswith("📋 <b>Preguntas más apoyadas</b> · Página 1 de 1")
    assert text.index(f"<b>#{pending.id}</b> · 👍 2") < text.index(f"<b>#{answered}</b> · 👍 1")
    assert "🟡 Sin responder todavía" in text
    today = local_date(utcnow().astimezone(settings.tz).date(), settings.locale)
    assert f"🟢 Respondió la Alcaldía de Bucaramanga el {today}" in text
    assert "impuesto predial" not in text  # its asker did not agree to show it
    assert (f"💬 Respuesta #{answered}", f"preg:v:{answered}") in _buttons(ranking)

    tap = citizen.tap(f"👍 #{answered} (1)")
    assert (await _answer_to(api, tap))["text"] == "👍 Gracias: su apoyo quedó contado."
    redrawn = await _latest(api, NEW, "editMessageText", 2)
    assert f"<b>#{answered}</b> · 👍 2" in redrawn["text"]
    assert (f"✅ #{answered} (2)", f"preg:a:{answered}:r0") in _buttons(redrawn)


async def test_the_asker_decides_whether_a_pending_hearing_question_is_shown(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    ana = api.user(ANA)
    ana.send_text("/preguntar ¿Por qué no hay alumbrado en el parque del barrio Kennedy?")
    await _latest(api, ANA, "sendMessage", 1)
    ana.tap("🎤 Audiencia pública")
    received = await _latest(api, ANA, "editMessageText", 1)
    assert received["text"].startswith("✅ Recibimos su pregunta <b>#1</b>")
    assert "¿La mostramos, sin su nombre, en «Preguntas más apoyadas»" in received["text"]
    assert ("👍 Sí, que otros la apoyen", "preg:s:1:1") in _buttons(received)

    # Nobody else may decide for her (a forged button from another chat changes nothing).
    luis = api.user(LUIS)
    luis.send_text("/menu")
    await _latest(api, LUIS, "sendMessage", 1)
    forged = {"id": "991", "from": luis.as_dict(), "message": api.messages(LUIS)[-1],
              "chat_instance": "ci", "data": "preg:s:1:1"}
    api.enqueue({"update_id": api.new_update_id(), "callback_query": forged})
    said = await _answer_to(api, {"callback_query": forged})
    assert said["text"] == "Solo quien hizo la pregunta puede decidir si se muestra."
    async with db.session() as s:
        assert (await s.get(CitizenQuestion, 1)).share_pending is False  # type: ignore[union-attr]

    ana.tap("👍 Sí, que otros la apoyen")
    shared = await _latest(api, ANA, "editMessageText", 2)
    assert shared["text"].startswith("👍 Listo: su pregunta <b>#1</b> aparece en «Preguntas más")
    async with db.session() as s:
        page = await questions.most_supported(s)
    assert [q.id for q in page.items] == [1]

    ana.send_text("/preguntar ¿Cuándo pavimentan la calle 45 de la comuna 4?")
    await _latest(api, ANA, "sendMessage", 2)
    ana.tap("🏗️ Obras")  # only hearing questions ask to be shown
    received = await _latest(api, ANA, "editMessageText", 3)
    assert "¿La mostramos" not in received["text"]
    assert not any(data.startswith("preg:s:") for _, data in _buttons(received))


async def test_a_question_withdrawn_meanwhile_takes_no_support_and_says_why(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    qid = await _published(db, text="¿Cuándo abre la biblioteca de La Ciudadela?",
                           answer="En enero.")
    citizen = api.user(NEW)
    citizen.send_text(f"/start pregunta_{qid}")
    await _latest(api, NEW, "sendMessage", 1)
    async with db.session() as s:  # staff withdraw it while the card is on screen
        await questions.set_published(s, question_id=qid, actor_id=ADMIN, published=False)
    tap = citizen.tap("👍 Yo también quiero saber (0)")
    said = await _answer_to(api, tap)
    assert (said["text"], said["show_alert"]) == ("Esa pregunta ya no se puede apoyar.", True)
    assert await _supports(db) == []
