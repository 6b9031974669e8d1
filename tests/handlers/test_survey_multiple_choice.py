"""Multiple-choice survey questions: ticks kept until «Listo» across pauses and copies."""

from __future__ import annotations

import copy
from datetime import timedelta

from sqlmodel import select

from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.models import ConversationState
from storage.types import utcnow
from tests.handlers.survey_support import USER, Steps, _answers, _buttons, _survey
from tests.handlers.survey_support import seed as seed  # overrides conftest's `seed`


def _ticked(params: dict[str, object]) -> list[str]:
    return [b["text"][2:] for b in _buttons(params) if b["text"].startswith("✅ ")]


async def test_ticks_survive_pausing_a_command_and_typed_text_until_listo(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    survey = await _survey(db, "diagnostico-rendicion")
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/start encuesta_diagnostico-rendicion")
    await steps.next("sendMessage")
    steps.tap("▶️ Empezar")
    await steps.next("editMessageText")
    steps.tap("Sí")
    await steps.next("sendMessage")
    steps.tap("No")  # skips to question 4, multiple choice
    fourth = await steps.next("sendMessage")
    assert "pregunta 4 de 8" in fourth.params["text"]
    steps.tap("▫️ Redes sociales")
    await steps.next("editMessageReplyMarkup")
    steps.tap("▫️ Radio")
    ticked = await steps.next("editMessageReplyMarkup")
    assert _ticked(ticked.params) == ["Redes sociales", "Radio"]
    # Pausing and continuing shows the same ticks.
    steps.tap("⏸️ Pausar")
    await steps.next("editMessageText", 3)
    steps.tap("▶️ Continuar")
    resumed = await steps.next("editMessageText")
    assert "pregunta 4 de 8" in resumed.params["text"]
    assert _ticked(resumed.params) == ["Redes sociales", "Radio"]
    assert "Listo ▶️ (2/3)" in [b["text"] for b in _buttons(resumed.params)]
    # Unticking one is kept too; then a command leaves the survey's step.
    steps.tap("✅ Radio")
    await steps.next("editMessageReplyMarkup")
    user.send_text("/menu")
    await steps.next("sendMessage")
    async with db.session() as s:
        assert (await s.exec(select(ConversationState))).all() == []
    user.send_text("/start encuesta_diagnostico-rendicion")
    await steps.next("sendMessage")
    steps.tap("▶️ Continuar")
    again = await steps.next("editMessageText")
    assert _ticked(again.params) == ["Redes sociales"]
    # Typed text gets the question again, with the ticks.
    user.send_text("no sé")
    reminder = await steps.next("sendMessage")
    assert reminder.params["text"].startswith("Está respondiendo una encuesta")
    assert _ticked(reminder.params) == ["Redes sociales"]
    assert await _answers(db, survey) == [
        (1, "Sí"), (2, "No"), (4, {"marcadas": [1]}),  # a draft, not an answer
    ]
    steps.tap("▫️ Página web")
    await steps.next("editMessageReplyMarkup")
    steps.tap("Listo ▶️ (2/3)")
    fifth = await steps.next("sendMessage")
    assert "pregunta 5 de 8" in fifth.params["text"]
    assert not _ticked(fifth.params)
    assert await _answers(db, survey) == [
        (1, "Sí"), (2, "No"), (4, ["Página web", "Redes sociales"]),
    ]
    # The old message's buttons are stale now, and change nothing.
    steps.forge(f"enc:m:{survey.id}:4:2:3")
    stale = await steps.answer()
    assert stale.params["text"] == "Esa pregunta ya quedó respondida."
    assert len(await _answers(db, survey)) == 3


async def test_a_tick_on_an_older_copy_of_the_question_keeps_the_newer_copys_ticks(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    survey = await _survey(db, "diagnostico-rendicion")
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/start encuesta_diagnostico-rendicion")
    await steps.next("sendMessage")
    steps.tap("▶️ Empezar")
    await steps.next("editMessageText")
    steps.tap("Sí")
    await steps.next("sendMessage")
    steps.tap("No")
    older = await steps.next("sendMessage")  # question 4, multiple choice
    older_id = older.response["result"]["message_id"]
    steps.tap("▫️ Redes sociales")
    await steps.next("editMessageReplyMarkup")
    user.send_text("hola")  # the bot shows the question again, below
    newer = await steps.next("sendMessage")
    assert _ticked(newer.params) == ["Redes sociales"]
    steps.tap("▫️ Radio")  # on the newer copy
    await steps.next("editMessageReplyMarkup")
    # On the older copy, which never saw «Radio»: a double tap, both taps from what it showed.
    tap = user.tap("▫️ Página web", message_id=older_id, enqueue=False)
    api.enqueue(tap)
    api.enqueue(copy.deepcopy(tap))
    steps.taps += 2
    await steps.answer()
    redrawn = await steps.next("editMessageReplyMarkup")
    assert sorted(_ticked(redrawn.params)) == ["Página web", "Radio", "Redes sociales"]
    steps.tap("Listo ▶️ (2/3)")  # the newer copy's button, still showing two: not recorded,
    warned = await steps.answer()  # it is redrawn with all three first
    assert warned.params["text"].startswith("Marcó opciones en otro mensaje de esta pregunta")
    shown = await steps.next("editMessageReplyMarkup")
    assert sorted(_ticked(shown.params)) == ["Página web", "Radio", "Redes sociales"]
    steps.tap("Listo ▶️ (3/3)")
    await steps.next("sendMessage")
    [*_, (number, recorded)] = await _answers(db, survey)
    assert number == 4 and sorted(recorded) == ["Página web", "Radio", "Redes sociales"]


async def test_ticking_keeps_the_survey_step_alive(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/start encuesta_diagnostico-rendicion")
    await steps.next("sendMessage")
    steps.tap("▶️ Empezar")
    await steps.next("editMessageText")
    steps.tap("Sí")
    await steps.next("sendMessage")
    steps.tap("No")
    await steps.next("sendMessage")  # question 4, multiple choice
    async with db.session() as s:  # the person looked at it for 40 minutes…
        row = (await s.exec(select(ConversationState))).one()
        row.updated_at = utcnow() - timedelta(minutes=40)
        s.add(row)
        await s.commit()
    steps.tap("▫️ Radio")  # …then ticked an option
    await steps.next("editMessageReplyMarkup")
    user.send_text("hola")
    reply = await steps.next("sendMessage")
    assert reply.params["text"].startswith("Está respondiendo una encuesta")
