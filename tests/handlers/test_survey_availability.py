"""When a survey takes answers: closed, future, before its hearing, closing mid-answer."""

from __future__ import annotations

from datetime import timedelta

from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.importers import import_bytes
from storage.models import ConversationState, Event, Survey, SurveyResponse
from storage.types import utcnow
from tests.handlers.survey_support import EXPORT, USER, Steps, _answers, _buttons, _survey
from tests.handlers.survey_support import seed as seed  # overrides conftest's `seed`


async def test_closed_and_future_surveys_are_not_listed_and_cannot_start(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    past = EXPORT.replace("slug: exportable", "slug: pasada\ncierra: 2020-01-31")
    future = EXPORT.replace("slug: exportable",
                            "slug: futura\nabre: 2099-01-15 08:00\ncierra: 2099-01-31")
    async with db.session() as s:
        for text in (past, future):
            await import_bytes(s, "encuesta", text.encode(), "e.yaml", tz=settings.tz)
        closed = (await s.exec(select(Survey).where(Survey.slug == "pasada"))).one()
        later = (await s.exec(select(Survey).where(Survey.slug == "futura"))).one()
    steps = Steps(api, USER)
    api.user(USER).send_text("/encuestas")
    listing = await steps.next("sendMessage")
    labels = " ".join(b["text"] for b in _buttons(listing.params))
    assert "Encuesta para exportar" not in labels
    api.user(USER).send_text("/start encuesta_pasada")
    intro = await steps.next("sendMessage")
    assert intro.params["text"].endswith("Esta encuesta ya no recibe respuestas.")
    api.user(USER).send_text("/start encuesta_futura")
    intro = await steps.next("sendMessage")
    assert "empieza a recibir respuestas el jueves, 15 de enero de 2099, 8:00" in (
        intro.params["text"])
    assert "\nRecibe respuestas hasta el sábado, 31 de enero de 2099" in intro.params["text"]
    assert ".." not in intro.params["text"]
    steps.forge(f"enc:s:{closed.id}")
    answer = await steps.answer()
    assert answer.params["text"] == "Esta encuesta ya no recibe respuestas."
    steps.forge(f"enc:s:{later.id}")  # an old «Empezar» of a survey that now opens later
    answer = await steps.answer()
    assert answer.params["text"] == (
        "Esta encuesta empieza a recibir respuestas el jueves, 15 de enero de 2099, "
        "8:00 a.\u202fm.")  # one full stop, not «a. m..»
    async with db.session() as s:
        assert (await s.exec(select(SurveyResponse))).all() == []


async def test_a_hearing_evaluation_waits_for_the_hearing(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    start = utcnow() + timedelta(days=2)
    async with db.session() as s:
        s.add(Event(clave="audiencia|2026", titulo="Audiencia pública 2026",
                    tipo="audiencia pública", lugar="Teatro Santander", inicio=start,
                    fin=start + timedelta(hours=3), encuesta="evaluacion-audiencia"))
        await s.commit()
    user, steps = api.user(USER), Steps(api, USER)
    user.send_text("/encuestas")
    listing = await steps.next("sendMessage")
    assert "Evaluación de la audiencia" not in str(listing.params["reply_markup"])
    user.send_text("/start encuesta_evaluacion-audiencia")
    await steps.next("sendMessage")
    steps.tap("▶️ Empezar")
    refused = await steps.answer()
    assert refused.params["text"] == (
        "Esta encuesta se abre cuando termine «Audiencia pública 2026».")
    async with db.session() as s:
        assert (await s.exec(select(SurveyResponse))).all() == []


async def test_a_survey_closed_while_answering_takes_no_ticks_taps_or_text(
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
    await steps.next("sendMessage")
    steps.tap("▫️ Radio")
    await steps.next("editMessageReplyMarkup")
    async with db.session() as s:
        stored = await s.get(Survey, survey.id)
        assert stored is not None
        stored.cierra = utcnow() - timedelta(minutes=1)
        s.add(stored)
        await s.commit()
    closed = "Esta encuesta ya no recibe respuestas."
    for label in ("▫️ Página web", "Listo ▶️ (1/3)"):
        steps.tap(label)
        answer = await steps.answer()
        assert answer.params["text"] == closed, label
    user.send_text("Radio")
    reply = await steps.next("sendMessage")
    assert reply.params["text"] == closed
    steps.tap("⏸️ Pausar")
    answer = await steps.answer()
    assert answer.params["text"] == closed
    emptied = await steps.next("editMessageReplyMarkup")
    assert not emptied.params.get("reply_markup")
    assert await _answers(db, survey) == [(1, "Sí"), (2, "No"), (4, {"marcadas": [3]})]
    async with db.session() as s:
        assert (await s.exec(select(ConversationState))).all() == []
