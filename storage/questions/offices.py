"""The offices questions go to, and finding the questions one most likely repeats."""


from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import and_
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import add_entry
from storage.models import BudgetLine, CitizenQuestion, Goal
from storage.questions.core import DUPLICATE, _required
from storage.search import SearchIndex, build_question_index
from storage.text import fold


def office_code(name: str) -> str:
    """Return a short stable code for an office (callback data holds it, not the name)."""
    return hashlib.sha256(fold(name).encode()).hexdigest()[:8]


async def offices(session: AsyncSession, *, of_questions: bool = False) -> list[str]:
    """Return the offices questions can go to: those of the budget and the goals, and any
    already given to a question (only these with `of_questions`), sorted by name."""
    names: set[str] = set()
    queries: tuple[Any, ...] = (select(CitizenQuestion.office),)
    if not of_questions:
        queries += (select(BudgetLine.dependencia), select(Goal.responsable))
    for query in queries:
        names.update(n.strip() for n in (await session.exec(query.distinct())).all() if n)
    return sorted(names, key=fold)


async def office_named(session: AsyncSession, code: str) -> str | None:
    """Return the office whose `office_code` is `code`, or None."""
    return next((n for n in await offices(session) if office_code(n) == code), None)


async def set_office(
    session: AsyncSession, *, question_id: int, office: str | None, actor_id: int
) -> CitizenQuestion:
    """Give a question to the office that answers it (None: to nobody yet); log it."""
    question = await _required(session, question_id)
    if question.office != office:
        question.office = office
        session.add(question)
        add_entry(session, actor_id=actor_id, action="pregunta_dependencia",
                  detail={"pregunta": question_id, "dependencia": office})
        await session.flush()
    return question


async def reachable_askers(session: AsyncSession, *, question_id: int) -> int:
    """Return how many people an answer to this question would reach: its asker and the
    askers of its duplicates who have not deleted their data."""
    query = select(CitizenQuestion.chat_id).where(
        or_(col(CitizenQuestion.id) == question_id,
            and_(col(CitizenQuestion.duplicate_of) == question_id,
                 col(CitizenQuestion.status) == DUPLICATE)),
        col(CitizenQuestion.chat_id).is_not(None),
    )
    return len(set((await session.exec(query)).all()))


async def likely_duplicates(
    session: AsyncSession, *, question_id: int, index: SearchIndex | None = None,
    limit: int = 3,
) -> list[CitizenQuestion]:
    """Return the questions this one most likely repeats, best first, from the search
    index's matcher (`SearchIndex.similar`) over the questions not grouped already (`index`,
    from `build_question_index`; built here when not given)."""
    question = await _required(session, question_id)
    index = index or await build_question_index(session)
    hits = index.similar(question.text, kind="pregunta", exclude={str(question_id)},
                         limit=limit)
    found = [await session.get(CitizenQuestion, int(h.key)) for h in hits]
    return [q for q in found if q is not None]
