"""Shared by the survey tests: people, definitions, the sample surveys as `seed`, tap helpers."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence
from typing import Any

import pytest
from sqlmodel import col, select

from bot.config import Settings
from bot.localapi import Call, LocalBotAPI
from storage.db import Database
from storage.importers.surveys import load_sample_surveys
from storage.models import Survey, SurveyAnswer, SurveyQuestion
from storage.survey_answers import record_answer, start_response

USER = 7301
OTHER = 7302
ADMIN = 1000
EXPORT = """
slug: exportable
titulo: Encuesta para exportar
preguntas:
  - tipo: unica
    texto: ¿Le gusta el parque?
    opciones: [Sí, "No", "=HYPERLINK(1)"]
  - tipo: multiple
    texto: ¿Qué usa?
    opciones: [Canchas, Senderos, Juegos]
    maximo: 2
  - tipo: escala
    texto: Califique el parque
"""


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    async with db.session() as s:
        await load_sample_surveys(s, tz=settings.tz)


class Steps:
    """Wait for the next call of a method, counting what was already seen."""

    def __init__(self, api: LocalBotAPI, chat_id: int) -> None:
        self.api, self.chat_id = api, chat_id
        self.seen: Counter[str] = Counter()
        self.taps = 0

    def tap(self, label: str) -> None:
        """Tap a button (each tap gets exactly one callback answer)."""
        self.api.user(self.chat_id).tap(label)
        self.taps += 1

    def forge(self, data: str) -> None:
        """Send a callback with made-up data from the last message."""
        update = self.api.user(self.chat_id).tap(
            next(b["text"] for m in reversed(self.api.messages(self.chat_id))
                 for b in _buttons(m)), enqueue=False)
        update["callback_query"]["data"] = data
        self.api.enqueue(update)
        self.taps += 1

    async def answer(self) -> Call:
        """Wait until every tap so far got its callback answer; return the last one."""
        calls = await self.api.wait_for("answerCallbackQuery", count=self.taps)
        return calls[-1]

    async def next(self, method: str, n: int = 1) -> Call:
        """Wait for `n` more calls of `method` to the chat and return the last one."""
        self.seen[method] += n
        calls = await self.api.wait_for(method, chat_id=self.chat_id, count=self.seen[method])
        return calls[-1]


def _buttons(message: dict[str, object]) -> Iterator[dict[str, str]]:
    markup = message.get("reply_markup") or {}
    assert isinstance(markup, dict)
    for row in markup.get("inline_keyboard", []):
        yield from row


async def _survey(db: Database, slug: str) -> Survey:
    async with db.session() as s:
        return (await s.exec(select(Survey).where(Survey.slug == slug))).one()


async def _answers(db: Database, survey: Survey) -> list[tuple[int, Any]]:
    async with db.session() as s:
        rows = (await s.exec(
            select(SurveyQuestion.position, SurveyAnswer.value)
            .join(SurveyQuestion, col(SurveyQuestion.id) == col(SurveyAnswer.question_id))
            .where(SurveyQuestion.survey_id == survey.id)
            .order_by(col(SurveyQuestion.position))
        )).all()
    return [(p, v) for p, v in rows]


SMALL = """
slug: barrio
titulo: Consulta del barrio
anonima: true
preguntas:
  - tipo: unica
    texto: ¿Usa el parque?
    opciones: [Sí, "No"]
    saltar: {"No": fin}
  - tipo: escala
    texto: Califique el parque
"""


async def _respond(db: Database, survey: Survey, chat: int, answers: Sequence[object]) -> None:
    async with db.session() as s:
        await start_response(s, survey=survey, telegram_id=chat, chat_id=chat)
        for number, raw in enumerate(answers, start=1):
            recorded = await record_answer(s, survey=survey, chat_id=chat,
                                           position_number=number, raw=raw)
            assert recorded.status == "ok"
