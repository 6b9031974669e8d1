"""Citizens' questions for the hearing and the offices: ask, answer, group duplicates, publish.

The row id is the tracking number (`#12`). A person may ask `DAILY_LIMIT` questions in any
24 hours, of at most `MAX_LENGTH` characters (the same bound `handlers.limits` puts on any
message, so a typed question never hits a second, different limit). Staff actions are written
to the audit log in the same transaction as the change. Answers reach the asker, and the
askers of questions grouped as its duplicates, through the outbox, with a dedupe key made of
the question and the answer's text: repeating the same answer sends nothing new, while a
corrected answer is sent once more.

Each question also keeps `asker_key`, a keyed hash of the chat id (`storage.surveys.pseudonym`,
scope "preguntas"). The daily limit counts by it, so deleting one's data (which erases the
chat id) does not reset the limit; the deletion keeps the key only on the questions of the
last 24 hours, the ones the limit still needs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from sqlalchemy import ColumnElement, and_
from sqlmodel import col, func, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage import outbox
from storage.audit import add_entry
from storage.models import CitizenQuestion
from storage.surveys import pseudonym
from storage.types import utcnow

PENDING, ANSWERED, DUPLICATE = "pendiente", "respondida", "duplicada"
STATUSES = (PENDING, ANSWERED, DUPLICATE)
MIN_LENGTH = 10
MIN_LETTERS = 3  # emoji or signs alone («🙂🙂🙂…», «??????????») are no question
MAX_LENGTH = 1000  # handlers.limits.MAX_TEXT_LENGTH stops longer messages before they get here
MAX_ANSWER_HTML = 3000  # the escaped answer, leaving room in a 4096-character message
DAILY_LIMIT = 5
WINDOW = timedelta(hours=24)
EXCERPT = 300

TOO_SHORT = "Su pregunta es muy corta. Escríbala completa, por favor (al menos {min} caracteres)."
TOO_LONG = "Su pregunta es muy larga ({length} caracteres). El máximo es {max}."
NO_WORDS = "Escriba su pregunta con palabras, por favor, para que la Alcaldía pueda responderla."
NOT_FOUND = "No existe la pregunta #{id}."
EMPTY_ANSWER = "La respuesta está vacía."
ANSWER_TOO_LONG = "La respuesta es muy larga ({length} caracteres); el máximo es {max}."
SAME_QUESTION = "Una pregunta no puede ser duplicada de sí misma."
ALREADY_ANSWERED = "La pregunta #{id} ya fue respondida; no la marco como duplicada."
NOT_ANSWERED = "La pregunta #{id} no está respondida; solo se publican preguntas respondidas."
CIRCULAR = "La pregunta #{original} ya es duplicada de la #{id}; no puedo invertirlo."

ANSWER_TITLE = "💬 <b>Respuesta a su pregunta #{id}</b>"
CORRECTED_TITLE = "💬 <b>Respuesta actualizada a su pregunta #{id}</b>"
NOTICE = "{title}\n<i>«{question}»</i>\n\n{answer}"
SAME_AS = "Otra persona preguntó lo mismo (pregunta #{original}); esta es la respuesta:\n\n"
FOOTER = "\n\nVea todas sus preguntas con /mis_preguntas."


class QuestionError(ValueError):
    """A question action that cannot be done; the message says why, in Spanish."""


class RateLimited(QuestionError):
    """The person already asked `DAILY_LIMIT` questions in the last 24 hours."""

    def __init__(self, retry_at: datetime) -> None:
        super().__init__(f"daily limit of {DAILY_LIMIT} questions reached")
        self.retry_at = retry_at  # when the oldest of those leaves the 24-hour window


@dataclass(frozen=True)
class QuestionPage:
    """One page of questions, with the total and the page number actually served."""

    items: list[CitizenQuestion]
    total: int
    number: int
    per_page: int

    @property
    def count(self) -> int:
        """Return how many pages there are (at least one)."""
        return max(1, -(-self.total // self.per_page))


@dataclass(frozen=True)
class AnswerResult:
    """What answering did: the question, whether it replaced an answer, messages queued."""

    question: CitizenQuestion
    updated: bool
    notified: int


@dataclass(frozen=True)
class DuplicateResult:
    """What marking a duplicate did: the question, its (root) original, messages queued."""

    question: CitizenQuestion
    original: CitizenQuestion
    notified: int


def excerpt(text: str, limit: int = EXCERPT) -> str:
    """Return `text` HTML-escaped and cut (with `…`) so the escaped form fits in `limit`."""
    out: list[str] = []
    size = 0
    for char in text:
        piece = escape(char)
        if size + len(piece) > limit - 1:
            return "".join(out).rstrip() + "…"
        out.append(piece)
        size += len(piece)
    return "".join(out)


def clean_text(text: str) -> str:
    """Trim a question and check its length; raise QuestionError if it is not acceptable."""
    text = text.strip()
    if len(text) < MIN_LENGTH:
        raise QuestionError(TOO_SHORT.format(min=MIN_LENGTH))
    if len(text) > MAX_LENGTH:
        raise QuestionError(TOO_LONG.format(length=len(text), max=MAX_LENGTH))
    if sum(char.isalpha() for char in text) < MIN_LETTERS:
        raise QuestionError(NO_WORDS)
    return text


async def asker_key(session: AsyncSession, *, chat_id: int) -> str:
    """Return the person's pseudonym for questions (kept 24 hours after a deletion)."""
    return await pseudonym(session, scope="preguntas", chat_id=chat_id)


async def check_rate(
    session: AsyncSession, *, chat_id: int, now: datetime | None = None
) -> None:
    """Raise RateLimited if the person asked `DAILY_LIMIT` questions in the last 24 hours.

    Questions the person asked before deleting their data still count (by their key).
    """
    now = now or utcnow()
    key = await asker_key(session, chat_id=chat_id)
    recent = (
        await session.exec(
            select(CitizenQuestion.created_at)
            .where(
                or_(CitizenQuestion.chat_id == chat_id, CitizenQuestion.asker_key == key),
                CitizenQuestion.created_at > now - WINDOW,
            )
            .order_by(col(CitizenQuestion.created_at))
        )
    ).all()
    if len(recent) >= DAILY_LIMIT:
        retry_at = recent[len(recent) - DAILY_LIMIT] + WINDOW
        raise RateLimited(retry_at)


async def ask(
    session: AsyncSession,
    *,
    chat_id: int,
    topic: str,
    text: str,
    now: datetime | None = None,
) -> CitizenQuestion:
    """Record a person's question (checking length and the daily limit) and commit it."""
    text = clean_text(text)
    now = now or utcnow()
    await check_rate(session, chat_id=chat_id, now=now)
    question = CitizenQuestion(
        chat_id=chat_id, asker_key=await asker_key(session, chat_id=chat_id), topic=topic[:60],
        text=text, created_at=now,
    )
    session.add(question)
    await session.commit()
    await session.refresh(question)
    return question


async def get_question(session: AsyncSession, *, question_id: int) -> CitizenQuestion | None:
    """Return the question with this tracking number, or None."""
    return await session.get(CitizenQuestion, question_id)


async def _page(
    session: AsyncSession,
    query: SelectOfScalar[CitizenQuestion],
    count_query: SelectOfScalar[int],
    *,
    page: int,
    per_page: int,
) -> QuestionPage:
    total = int((await session.exec(count_query)).one())
    pages = max(1, -(-total // per_page))
    number = min(max(page, 0), pages - 1)
    items = (await session.exec(query.offset(number * per_page).limit(per_page))).all()
    return QuestionPage(list(items), total, number, per_page)


async def questions_of(
    session: AsyncSession, *, chat_id: int, page: int = 0, per_page: int = 5
) -> QuestionPage:
    """Return one page of the person's own questions, newest first."""
    where = CitizenQuestion.chat_id == chat_id
    query = (
        select(CitizenQuestion)
        .where(where)
        .order_by(col(CitizenQuestion.created_at).desc(), col(CitizenQuestion.id).desc())
    )
    count = select(func.count()).select_from(CitizenQuestion).where(where)
    return await _page(session, query, count, page=page, per_page=per_page)


async def pending_queue(
    session: AsyncSession, *, page: int = 0, per_page: int = 5
) -> QuestionPage:
    """Return one page of the questions waiting for an answer, oldest first."""
    where = CitizenQuestion.status == PENDING
    query = (
        select(CitizenQuestion)
        .where(where)
        .order_by(col(CitizenQuestion.created_at), col(CitizenQuestion.id))
    )
    count = select(func.count()).select_from(CitizenQuestion).where(where)
    return await _page(session, query, count, page=page, per_page=per_page)


def _published_filter() -> ColumnElement[bool]:
    return and_(col(CitizenQuestion.status) == ANSWERED, col(CitizenQuestion.published).is_(True))


async def published_questions(
    session: AsyncSession, *, page: int = 0, per_page: int = 5
) -> QuestionPage:
    """Return one page of the published answered questions, newest answer first."""
    query = (
        select(CitizenQuestion)
        .where(_published_filter())
        .order_by(col(CitizenQuestion.answered_at).desc(), col(CitizenQuestion.id).desc())
    )
    count = select(func.count()).select_from(CitizenQuestion).where(_published_filter())
    return await _page(session, query, count, page=page, per_page=per_page)


async def published_question(
    session: AsyncSession, *, question_id: int
) -> CitizenQuestion | None:
    """Return the question if it is answered and published (what anyone may read), else None."""
    question = await session.get(CitizenQuestion, question_id)
    if question is None or question.status != ANSWERED or not question.published:
        return None
    return question


async def _required(session: AsyncSession, question_id: int) -> CitizenQuestion:
    question = await session.get(CitizenQuestion, question_id)
    if question is None:
        raise QuestionError(NOT_FOUND.format(id=question_id))
    return question


def _answer_key(question_id: int, answer: str) -> str:
    digest = hashlib.sha256(answer.encode()).hexdigest()[:12]
    return f"pregunta:{question_id}:respuesta:{digest}"


async def _notify(
    session: AsyncSession,
    *,
    asked: CitizenQuestion,
    answered: CitizenQuestion,
    corrected: bool = False,
) -> int:
    """Queue the answer of `answered` to the asker of `asked` (the same or a duplicate)."""
    if asked.chat_id is None or answered.answer is None or asked.id is None:
        return 0
    answer = escape(answered.answer)
    if asked.id != answered.id:
        answer = SAME_AS.format(original=answered.id) + answer
    text = NOTICE.format(
        title=(CORRECTED_TITLE if corrected else ANSWER_TITLE).format(id=asked.id),
        question=excerpt(asked.text), answer=answer,
    )
    return await outbox.enqueue(
        session, chat_ids=[asked.chat_id], payload={"text": text + FOOTER}, kind="respuesta",
        dedupe=_answer_key(asked.id, answered.answer),
    )


async def _duplicates_of(session: AsyncSession, question_id: int) -> list[CitizenQuestion]:
    query = select(CitizenQuestion).where(
        CitizenQuestion.duplicate_of == question_id, CitizenQuestion.status == DUPLICATE
    )
    return list((await session.exec(query.order_by(col(CitizenQuestion.id)))).all())


async def answer(
    session: AsyncSession,
    *,
    question_id: int,
    text: str,
    actor_id: int,
    now: datetime | None = None,
) -> AnswerResult:
    """Answer (or correct the answer to) a question; notify its asker and its duplicates'.

    A question marked as a duplicate that gets its own answer stops being a duplicate.
    """
    text = text.strip()
    if not text:
        raise QuestionError(EMPTY_ANSWER)
    if len(escape(text)) > MAX_ANSWER_HTML:
        raise QuestionError(ANSWER_TOO_LONG.format(length=len(text), max=MAX_ANSWER_HTML))
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
    notified = 0
    told: set[int] = set()  # a person who asked the same twice hears the answer once
    for asked in [question, *await _duplicates_of(session, question_id)]:
        if asked.chat_id is None or asked.chat_id in told:
            continue
        told.add(asked.chat_id)
        notified += await _notify(session, asked=asked, answered=question, corrected=updated)
    await session.commit()
    return AnswerResult(question, updated, notified)


async def mark_duplicate(
    session: AsyncSession, *, question_id: int, original_id: int, actor_id: int
) -> DuplicateResult:
    """Mark a question as a duplicate of another (of its root, if that one is a duplicate too).

    Its asker gets the original's answer now if there is one, or when it is answered.
    Questions already grouped under this one move to the same original.
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
    notified = 0
    if original.status == ANSWERED:
        for asked in (question, *moved):
            notified += await _notify(session, asked=asked, answered=original)
    await session.commit()
    return DuplicateResult(question, original, notified)


async def set_published(
    session: AsyncSession, *, question_id: int, actor_id: int, published: bool | None = None
) -> CitizenQuestion:
    """Publish or withdraw an answered question (`None` toggles); log it and commit.

    Asking for the state it already has changes nothing and logs nothing (a double tap).
    """
    question = await _required(session, question_id)
    wanted = not question.published if published is None else published
    if wanted and question.status != ANSWERED:
        raise QuestionError(NOT_ANSWERED.format(id=question_id))
    if wanted == question.published:
        return question
    question.published = wanted
    session.add(question)
    add_entry(
        session, actor_id=actor_id,
        action="pregunta_publicada" if wanted else "pregunta_retirada",
        detail={"pregunta": question_id},
    )
    await session.commit()
    return question


async def forget_asker(
    session: AsyncSession, *, chat_id: int, now: datetime | None = None
) -> int:
    """Unlink the person's questions from their chat; the caller commits.

    The questions stay (the public record); the key stays only on unlinked questions of the
    last 24 hours, so the daily limit still counts them (older keys of anyone who deleted
    their data are dropped here too). Returns how many questions were unlinked.
    """
    now = now or utcnow()
    key = await asker_key(session, chat_id=chat_id)
    result = await session.exec(
        update(CitizenQuestion).where(col(CitizenQuestion.chat_id) == chat_id)
        .values(chat_id=None, asker_key=key)
    )
    await session.exec(
        update(CitizenQuestion)
        .where(col(CitizenQuestion.chat_id).is_(None),
               col(CitizenQuestion.asker_key).is_not(None),
               col(CitizenQuestion.created_at) <= now - WINDOW)
        .values(asker_key=None)
    )
    return int(result.rowcount or 0)
