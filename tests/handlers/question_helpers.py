"""Shared by the question tests: people, `seed`, publishing a question, waiting for replies."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import pytest

from bot.localapi import LocalBotAPI
from handlers import question_notices as notices
from storage import questions
from storage.db import Database
from storage.models import BudgetLine
from storage.privacy import give_consent

ADMIN = 1000
ANA, LUIS, NEW = 5101, 5102, 5103  # Ana and Luis accepted the data notice; NEW did not
OTHER = 5104
OFFICE = "Secretaría de Infraestructura"


def _buttons(params: dict[str, Any]) -> list[tuple[str, str]]:
    rows = (params.get("reply_markup") or {}).get("inline_keyboard", [])
    return [(b["text"], b.get("callback_data", "")) for row in rows for b in row]


async def _answer_to(api: LocalBotAPI, tap: dict[str, Any]) -> dict[str, Any]:
    """Wait for the bot's answer to one button press (its toast or alert)."""
    query_id = tap["callback_query"]["id"]
    for _ in range(300):
        found = [c.params for c in api.calls if c.method == "answerCallbackQuery"
                 and c.params.get("callback_query_id") == query_id]
        if found:
            return found[0]
        await asyncio.sleep(0.05)
    raise TimeoutError(f"no answer to the button press {query_id}")


async def _latest(api: LocalBotAPI, chat_id: int, method: str, count: int) -> dict[str, Any]:
    calls = await api.wait_for(method, chat_id=chat_id, count=count)
    return calls[count - 1].params


@pytest.fixture
async def seed(db: Database) -> None:
    async with db.session() as s:
        for person in (ANA, LUIS):
            await give_consent(s, telegram_id=person, chat_id=person)
        s.add(BudgetLine(vigencia=2026, dependencia="Secretaría de Hacienda",
                         apropiacion_definitiva=Decimal(1), compromisos=Decimal(1)))
        s.add(BudgetLine(vigencia=2026, dependencia=OFFICE, apropiacion_definitiva=Decimal(1),
                         compromisos=Decimal(1)))
        await s.commit()


async def _published(db: Database, *, text: str, answer: str, office: str | None = OFFICE,
                     chat_id: int = LUIS) -> int:
    """Ask, answer and publish a question the way staff do; return its number."""
    async with db.session() as s:
        q = await questions.ask(s, chat_id=chat_id, topic="audiencia", text=text)
        assert q.id is not None
        if office:
            await questions.set_office(s, question_id=q.id, office=office, actor_id=ADMIN)
        await notices.answer(s, question_id=q.id, text=answer, actor_id=ADMIN)
        await questions.set_published(s, question_id=q.id, actor_id=ADMIN, published=True)
        return q.id
