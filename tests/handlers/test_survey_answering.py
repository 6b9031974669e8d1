"""Answering a survey in private: skips, pauses, typed answers, invitations, stale buttons."""

from __future__ import annotations

import pytest
from sqlmodel import select

from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from handlers.survey_invitations import invite
from storage.db import Database
from storage.models import ConversationState, SurveyAnswer, SurveyResponse
from tests.handlers.survey_support import OTHER, USER, Steps, _answers, _buttons, _survey
from tests.handlers.survey_support import seed as seed  # overrides conftest's `seed`


@pytest.mark.http  # written around the pace of HTTP round trips
async def test_named_survey_with_skip_paused_resumed_completed_and_refused_twice(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    survey = await _survey(db, "percepcion-gestion")
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/encuestas")
    listing = await steps.next("sendMessage")
    assert listing.params["text"].startswith(
        "📝 <b>Encuestas abiertas</b>\nElija una para responderla. Al terminar verá los "
        "resultados, cuando haya al menos 5 respuestas.")
    labels = [b["text"] for b in _buttons(listing.params)]
    assert "🆕 Percepción de la gestión de la Alcaldía" in labels
    steps.tap("🆕 Percepción de la gestión de la Alcaldía")
    intro = await steps.next("editMessageText")
    assert "7 preguntas" in intro.params["text"] and "quedan ligadas a su cuenta" in (
        intro.params["text"])
    # A named survey asks for consent first.
    steps.tap("▶️ Empezar")
    notice = await steps.next("sendMessage")
    assert "Sus datos personales" in notice.params["text"]
    steps.tap("✅ Acepto")  # accepting carries on: the survey starts by itself
    edits = [await steps.next("editMessageText"), await steps.next("editMessageText")]
    [first] = [e for e in edits if "pregunta 1 de 7" in e.params["text"]]
    assert "1 es «Muy mala» y 5 es «Muy buena»" in first.params["text"]
    # A double tap records one answer and does not skip question 2.
    steps.tap("4")
    steps.tap("4")
    second = await steps.next("sendMessage")
    stale = await steps.answer()
    assert "pregunta 2 de 7" in second.params["text"]
    assert stale.params.get("text") == "Esa pregunta ya quedó respondida."
    answered = await steps.next("editMessageText")
    assert answered.params["text"].endswith("✔️ <i>4</i>")
    assert await _answers(db, survey) == [(1, 4)]
    steps.tap("3")
    third = await steps.next("sendMessage")
    assert "pregunta 3 de 7" in third.params["text"]
    steps.tap("En parte")
    fourth = await steps.next("sendMessage")
    assert "pregunta 4 de 7" in fourth.params["text"]
    # Leave halfway.
    steps.tap("⏸️ Pausar")
    paused = await steps.next("editMessageText", 3)
    assert paused.params["text"].startswith("⏸️ Pausé la encuesta")
    # Resume from the list: it says where the person is.
    user.send_text("/encuestas")
    listing = await steps.next("sendMessage")
    steps.tap("▶️ Percepción de la gestión de la Alcaldía (continuar)")
    intro = await steps.next("editMessageText")
    assert "Ya empezó esta encuesta" in intro.params["text"]
    steps.tap("▶️ Continuar")
    resumed = await steps.next("editMessageText")
    assert "pregunta 4 de 7" in resumed.params["text"]
    # Multiple choice: at most two.
    steps.tap("▫️ Seguridad")
    await steps.next("editMessageReplyMarkup")
    steps.tap("▫️ Salud")
    await steps.next("editMessageReplyMarkup")
    steps.tap("▫️ Empleo")
    refused = await steps.answer()
    assert refused.params["text"].startswith("Puede marcar hasta 2 opciones")
    steps.tap("Listo ▶️ (2/2)")
    fifth = await steps.next("sendMessage")
    assert "pregunta 5 de 7" in fifth.params["text"]
    chosen = await steps.next("editMessageText")
    assert chosen.params["text"].endswith("✔️ <i>Seguridad; Salud</i>")
    # «No» skips question 6.
    steps.tap("No")
    seventh = await steps.next("sendMessage")
    assert "pregunta 7 de 7" in seventh.params["text"]
    user.send_text("x" * 450)
    too_long = await steps.next("sendMessage")
    assert too_long.params["text"].startswith("Su respuesta tiene 450 caracteres; el máximo es 400")
    user.send_text("Más parques <y andenes>")
    thanks = await steps.next("sendMessage")
    assert thanks.params["text"].startswith("✅ <b>¡Gracias!</b>")
    # The only response so far: showing its figures would show this person's answers.
    waiting = await steps.next("sendMessage")
    assert waiting.params["text"] == (
        "📊 <b>Percepción de la gestión de la Alcaldía</b>\nLos resultados se mostrarán "
        "cuando haya al menos 5 respuestas. Por ahora hay 1 respuesta completa.")
    assert "sendPhoto" not in [c.method for c in api.calls]
    assert await _answers(db, survey) == [
        (1, 4), (2, 3), (3, "En parte"), (4, ["Seguridad", "Salud"]), (5, "No"),
        (7, "Más parques <y andenes>"),
    ]
    async with db.session() as s:
        [response] = (await s.exec(select(SurveyResponse))).all()
        assert (await s.exec(select(ConversationState))).all() == []
    assert response.chat_id == USER and response.completed_at is not None
    # A second attempt is refused: no start button, and forged answers change nothing.
    user.send_text("/start encuesta_percepcion-gestion")
    again = await steps.next("sendMessage")
    assert "Ya respondió esta encuesta" in again.params["text"]
    assert "▶️ Empezar" not in [b["text"] for b in _buttons(again.params)]
    steps.forge(f"enc:s:{survey.id}")
    answer = await steps.answer()
    assert answer.params["text"] == "✅ Ya respondió esta encuesta. ¡Gracias!"
    steps.forge(f"enc:a:{survey.id}:1:1")
    answer = await steps.answer()
    assert answer.params["text"] == "Esa pregunta ya quedó respondida."
    assert len(await _answers(db, survey)) == 6


async def test_anonymous_survey_stores_no_chat_id(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user, steps = api.user(OTHER), Steps(api, OTHER)
    user.send_text("/start encuesta_diagnostico-rendicion")
    intro = await steps.next("sendMessage")
    assert "Es anónima" in intro.params["text"]
    steps.tap("▶️ Empezar")  # no consent needed: nothing links the answers to the person
    await steps.next("editMessageText")
    steps.tap("Sí")
    await steps.next("sendMessage")
    steps.tap("No")  # not participated: skips question 3
    fourth = await steps.next("sendMessage")
    assert "pregunta 4 de 8" in fourth.params["text"]
    steps.tap("▫️ Redes sociales")
    await steps.next("editMessageReplyMarkup")
    steps.tap("Listo ▶️ (1/3)")
    await steps.next("sendMessage")
    steps.tap("▫️ Cumplimiento de las metas del plan")
    await steps.next("editMessageReplyMarkup")
    steps.tap("Listo ▶️ (1/3)")
    await steps.next("sendMessage")
    steps.tap("5")
    await steps.next("sendMessage")
    steps.tap("JAL o JAC")
    await steps.next("sendMessage")
    user.send_text(f"Soy el {OTHER}, cuénteme de las obras")
    summary = await steps.next("sendMessage", 2)
    assert "Los resultados se mostrarán cuando haya al menos 5 respuestas" in (
        summary.params["text"])
    async with db.session() as s:
        responses = (await s.exec(select(SurveyResponse))).all()
        answers = (await s.exec(select(SurveyAnswer))).all()
    [response] = responses
    assert response.chat_id is None and response.completed_at is not None
    assert str(OTHER) not in response.respondent_key
    assert len(answers) == 7
    stored = [str(a.value) for a in answers]
    assert not any(str(OTHER) == value for value in stored)
    user.send_text("/mis_datos")
    data = await steps.next("sendMessage")
    assert "Encuestas respondidas (no anónimas): 0" in data.params["text"]


async def test_hearing_evaluation_button_from_another_message_opens_the_intro(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/encuestas")
    await steps.next("sendMessage")
    steps.forge("enc:o:evaluacion-audiencia")
    intro = await steps.next("sendMessage")
    assert intro.params["text"].startswith(
        "📝 <b>Evaluación de la audiencia pública de rendición de cuentas</b>")
    steps.forge("enc:o:no-existe")
    gone = await steps.next("sendMessage")
    assert gone.params["text"] == "Esa encuesta ya no está disponible."
    gone_text = "Esa encuesta ya no está disponible."
    stale_text = "Esa pregunta ya quedó respondida."
    for data, expected in (("enc:a:999:1:0", gone_text), ("enc:zz", gone_text),
                           ("enc:s:abc", gone_text), ("enc:m:1:1:99999:ok", stale_text),
                           ("enc:a:1:1:0:extra", gone_text)):
        steps.forge(data)
        answer = await steps.answer()
        assert answer.params["text"] == expected, data
    async with db.session() as s:
        assert (await s.exec(select(SurveyResponse))).all() == []


@pytest.mark.http  # written around the pace of HTTP round trips
async def test_an_invitation_through_the_outbox_opens_the_hearing_evaluation(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    survey = await _survey(db, "evaluacion-audiencia")
    async with db.session() as s:
        queued = await invite(s, survey=survey, chat_ids=[USER, OTHER], dedupe="audiencia-1")
        again = await invite(s, survey=survey, chat_ids=[USER], dedupe="audiencia-1")
    assert (queued, again) == (2, 0)
    steps = Steps(api, USER)
    invitation = await steps.next("sendMessage")
    assert invitation.params["text"].startswith(
        "📝 <b>Evaluación de la audiencia pública de rendición de cuentas</b>")
    steps.tap("📝 Responder la encuesta")
    intro = await steps.next("sendMessage")
    assert "6 preguntas. Es anónima" in intro.params["text"]
    steps.tap("▶️ Empezar")
    first = await steps.next("editMessageText")
    assert "pregunta 1 de 6" in first.params["text"]
    steps.tap("No la pude seguir")  # skips straight to the last question
    last = await steps.next("sendMessage")
    assert "pregunta 6 de 6" in last.params["text"]
    # Paused at a free-text question, typed text is a normal search again, not an answer.
    steps.tap("⏸️ Pausar")
    await steps.next("editMessageText", 2)
    api.user(USER).send_text("obras del parque")
    await steps.next("sendMessage")
    async with db.session() as s:  # only the search's subject is kept, no survey step
        kept = (await s.exec(select(ConversationState))).all()
        assert [row.flow for row in kept] in ([], ["tema"])
    assert await _answers(db, survey) == [(1, "No la pude seguir")]
    api.user(USER).send_text("/start encuesta_evaluacion-audiencia")
    await steps.next("sendMessage")
    steps.tap("▶️ Continuar")
    resumed = await steps.next("editMessageText")
    assert "pregunta 6 de 6" in resumed.params["text"]
    api.user(USER).send_text("Que la hagan en la tarde")
    thanks = await steps.next("sendMessage")
    assert thanks.params["text"].startswith("✅ <b>¡Gracias!</b>")
    assert await _answers(db, survey) == [(1, "No la pude seguir"), (6, "Que la hagan en la tarde")]


async def test_surveys_are_answered_in_private_not_in_a_junta_group(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    api.group(-100400, "Junta comuna 4")
    api.user(USER).send_text("/encuestas", chat_id=-100400)
    [reply] = await api.wait_for("sendMessage", chat_id=-100400)
    assert reply.params["text"].startswith("Las encuestas se responden en un chat privado")
    [[button]] = reply.params["reply_markup"]["inline_keyboard"]
    assert button["url"] == "https://t.me/cabildo_local_bot"


async def test_an_option_can_be_typed_and_other_text_gets_the_question_again(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/start encuesta_diagnostico-rendicion")
    await steps.next("sendMessage")
    steps.tap("▶️ Empezar")
    first = await steps.next("editMessageText")
    assert "pregunta 1 de 8" in first.params["text"]
    user.send_text("¡SÍ!")  # typed instead of tapped: the option of that name
    second = await steps.next("sendMessage")
    assert "pregunta 2 de 8" in second.params["text"]
    user.send_text("hola, qué es esto")  # not an option: the question again, with buttons
    again = await steps.next("sendMessage")
    assert again.params["text"].startswith("Está respondiendo una encuesta")
    assert "pregunta 2 de 8" in again.params["text"]
    assert "No" in [b["text"] for b in _buttons({"reply_markup": again.params["reply_markup"]})]
    steps.tap("No")  # the skip rule still applies: question 4 next
    fourth = await steps.next("sendMessage")
    assert "pregunta 4 de 8" in fourth.params["text"]
    user.send_text("/menu")  # a command leaves the survey's step: text is a search again
    await steps.next("sendMessage")
    user.send_text("presupuesto")
    reply = await steps.next("sendMessage")
    assert "Está respondiendo una encuesta" not in reply.params["text"]
    async with db.session() as s:
        [response] = (await s.exec(select(SurveyResponse))).all()
        answers = (await s.exec(select(SurveyAnswer).where(
            SurveyAnswer.response_id == response.id))).all()
    assert sorted(a.value for a in answers) == ["No", "Sí"]


async def test_an_old_pause_button_after_finishing_offers_no_continue(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/start encuesta_evaluacion-audiencia")
    await steps.next("sendMessage")
    steps.tap("▶️ Empezar")
    await steps.next("editMessageText")
    steps.tap("No la pude seguir")
    last = await steps.next("sendMessage")
    assert "pregunta 6 de 6" in last.params["text"]
    user.send_text("🙂🙂")  # an emoji is an answer like any other text
    await steps.next("sendMessage", 2)
    question_id = next(m["message_id"] for m in api.messages(USER)
                       if "pregunta 6 de 6" in str(m.get("text")))
    user.tap("⏸️ Pausar", message_id=question_id)
    steps.taps += 1
    answer = await steps.answer()
    assert answer.params["text"] == "✅ Ya respondió esta encuesta. ¡Gracias!"
    await steps.next("editMessageReplyMarkup")
    assert not any("Pausé" in str(m.get("text")) for m in api.messages(USER))
    assert not any(b["text"] == "▶️ Continuar" for m in api.messages(USER) for b in _buttons(m))
