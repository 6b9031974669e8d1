"""Answering questions and grouping duplicates: what changes, and whom to tell.

Recording returns the notices (`AnswerNotice`) with their outbox dedupe key, made of the
question and the answer's text; `handlers.question_notices` words them, queues them and
commits.
"""


from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.audit import add_entry
from storage.models import CitizenQuestion
from storage.questions.core import (
    ALREADY_ANSWERED,
    ANSWERED,
    CIRCULAR,
    DUPLICATE,
    EMPTY_ANSWER,
    SAME_QUESTION,
    QuestionError,
    _required,
)
from storage.types import utcnow


@dataclass(frozen=True)
class AnswerNotice:
    """An answer one asker is to hear: the question they asked and the one answered (the
    same, or the original it duplicates), whether it corrects an earlier answer, and the
    outbox dedupe key (the same answer is never sent twice)."""

    chat_id: int
    asked: CitizenQuestion
    answered: CitizenQuestion
    corrected: bool
    dedupe: str


@dataclass(frozen=True)
class Answered:
    """What recording an answer did: the question, whether it replaced an answer, and the
    askers to tell."""

    question: CitizenQuestion
    updated: bool
    notices: list[AnswerNotice]


@dataclass(frozen=True)
class Duplicated:
    """What marking a duplicate did: the question, its (root) original, and the askers to
    tell (when the original is answered)."""

    question: CitizenQuestion
    original: CitizenQuestion
    notices: list[AnswerNotice]


def _answer_key(question_id: int, answer: str) -> str:
    digest = hashlib.sha256(answer.encode()).hexdigest()[:12]
    return f"pregunta:{question_id}:respuesta:{digest}"


def _notice(
    asked: CitizenQuestion, answered: CitizenQuestion, corrected: bool = False
) -> list[AnswerNotice]:
    """The answer of `answered` for the asker of `asked` (the same or a duplicate), if the
    asker can still be reached."""
    if asked.chat_id is None or answered.answer is None or asked.id is None:
        return []
    return [AnswerNotice(asked.chat_id, asked, answered, corrected,
                         _answer_key(asked.id, answered.answer))]


async def _duplicates_of(session: AsyncSession, question_id: int) -> list[CitizenQuestion]:
    query = select(CitizenQuestion).where(
        CitizenQuestion.duplicate_of == question_id, CitizenQuestion.status == DUPLICATE
    )
    return list((await session.exec(query.order_by(col(CitizenQuestion.id)))).all())


async def record_answer(
    session: AsyncSession,
    *,
    question_id: int,
    text: str,
    actor_id: int,
    now: datetime | None = None,
) -> Answered:
    """Answer (or correct the answer to) a question; return whom to tell (its asker and its
    duplicates'). The caller queues the notices and commits (`handlers.question_notices`).

    A question marked as a duplicate that gets its own answer stops being a duplicate.
    """
    text = text.strip()
    if not text:
        raise QuestionError(EMPTY_ANSWER)
    question = await _required(session, question_id)
    updated = question.status == ANSWERED
    unchanged = updated and question.answer == text
    question.status, question.answer, question.duplicate_of = ANSWERED, text, None
    if not unchanged:
        question.answered_by, question.answered_at = actor_id, now or utcnow()
    session.add(question)
    add_entry(
        session, actor_id=actor_id, action="pregunta_respondida",
        detail={"pregunta": question_id, "actualizada": updated, "texto": text[:200]},
    )
    await session.flush()
    notices: list[AnswerNotice] = []
    told: set[int] = set()  # a person who asked the same twice hears the answer once
    for asked in [question, *await _duplicates_of(session, question_id)]:
        if asked.chat_id is None or asked.chat_id in told:
            continue
        told.add(asked.chat_id)
        notices += _notice(asked, question, corrected=updated)
    return Answered(question, updated, notices)


async def record_duplicate(
    session: AsyncSession, *, question_id: int, original_id: int, actor_id: int
) -> Duplicated:
    """Mark a question as a duplicate of another (of its root, if that one is a duplicate too).

    Its asker is to get the original's answer now if there is one (the returned notices),
    or when it is answered. Questions already grouped under this one move to the same
    original. The caller queues the notices and commits (`handlers.question_notices`).
    """
    if question_id == original_id:
        raise QuestionError(SAME_QUESTION)
    question = await _required(session, question_id)
    original = await _required(session, original_id)
    if question.status == ANSWERED:
        raise QuestionError(ALREADY_ANSWERED.format(id=question_id))
    seen = {original_id}
    while original.status == DUPLICATE and original.duplicate_of not in (None, *seen):
        assert original.duplicate_of is not None
        seen.add(original.duplicate_of)
        original = await _required(session, original.duplicate_of)
    if original.id == question_id:
        raise QuestionError(CIRCULAR.format(original=original_id, id=question_id))
    assert original.id is not None
    question.status, question.duplicate_of = DUPLICATE, original.id
    question.published = False
    session.add(question)
    moved = await _duplicates_of(session, question_id)
    for child in moved:
        child.duplicate_of = original.id
        session.add(child)
    add_entry(
        session, actor_id=actor_id, action="pregunta_duplicada",
        detail={"pregunta": question_id, "original": original.id},
    )
    await session.flush()
    notices: list[AnswerNotice] = []
    if original.status == ANSWERED:
        for asked in (question, *moved):
            notices += _notice(asked, original)
    return Duplicated(question, original, notices)
