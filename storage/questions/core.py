"""Asking, reading and publishing citizens' questions: the rules, limits and messages.

See `storage.questions` for the whole picture.
"""


from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_
from sqlmodel import col, func, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession
from sqlmodel.sql.expression import SelectOfScalar

from storage.audit import add_entry
from storage.models import CitizenQuestion
from storage.pseudonyms import pseudonym
from storage.types import utcnow

PENDING, ANSWERED, DUPLICATE = "pendiente", "respondida", "duplicada"
HEARING = "audiencia"  # the topic of the public hearing's questions
# (key, name): the hearing first, then the usual subjects of the offices.
TOPICS: tuple[tuple[str, str], ...] = (
    (HEARING, "Audiencia pública"),
    ("obras", "Obras"),
    ("presupuesto", "Presupuesto"),
    ("metas", "Metas del plan"),
    ("contratacion", "Contratación"),
    ("otro", "Otro tema"),
)
SUPPORT_SCOPE = "apoyos"
SORTS = ("apoyos", "tema", "fecha")  # the staff queue's orders: most supported first, …
STATUSES = (PENDING, ANSWERED, DUPLICATE)
MIN_LENGTH = 10
MIN_LETTERS = 3  # emoji or signs alone («🙂🙂🙂…», «??????????») are no question
MAX_LENGTH = 1000  # handlers.limits.MAX_TEXT_LENGTH stops longer messages before they get here
DAILY_LIMIT = 5
WINDOW = timedelta(hours=24)

TOO_SHORT = "Su pregunta es muy corta. Escríbala completa, por favor (al menos {min} caracteres)."
TOO_LONG = "Su pregunta es muy larga ({length} caracteres). El máximo es {max}."
NO_WORDS = "Escriba su pregunta con palabras, por favor, para que la Alcaldía pueda responderla."
NOT_FOUND = "No existe la pregunta #{id}."
EMPTY_ANSWER = "La respuesta está vacía."
SAME_QUESTION = "Una pregunta no puede ser duplicada de sí misma."
ALREADY_ANSWERED = "La pregunta #{id} ya fue respondida; no la marco como duplicada."
NOT_ANSWERED = "La pregunta #{id} no está respondida; solo se publican preguntas respondidas."
CIRCULAR = "La pregunta #{original} ya es duplicada de la #{id}; no puedo invertirlo."
NOT_SUPPORTABLE = "Esa pregunta ya no se puede apoyar."
NOT_YOURS = "Solo quien hizo la pregunta puede decidir si se muestra."
NOT_SHAREABLE = "Esa pregunta ya no está pendiente; no cambié nada."


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
    """Record a person's question (checking length and the daily limit)."""
    text = clean_text(text)
    now = now or utcnow()
    await check_rate(session, chat_id=chat_id, now=now)
    question = CitizenQuestion(
        chat_id=chat_id, asker_key=await asker_key(session, chat_id=chat_id), topic=topic[:60],
        text=text, created_at=now,
    )
    session.add(question)
    await session.flush()
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


async def set_published(
    session: AsyncSession, *, question_id: int, actor_id: int, published: bool | None = None
) -> CitizenQuestion:
    """Publish or withdraw an answered question (`None` toggles); log it.

    Withdrawing also hides a pending question its asker let others see and support (staff
    may find personal details in it). Asking for the state it already has changes nothing
    and logs nothing (a double tap).
    """
    question = await _required(session, question_id)
    wanted = not question.published if published is None else published
    if wanted and question.status != ANSWERED:
        raise QuestionError(NOT_ANSWERED.format(id=question_id))
    if wanted == question.published and not (not wanted and question.share_pending):
        return question
    question.published, question.share_pending = wanted, False
    session.add(question)
    add_entry(
        session, actor_id=actor_id,
        action="pregunta_publicada" if wanted else "pregunta_retirada",
        detail={"pregunta": question_id},
    )
    await session.flush()
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


async def set_shared(
    session: AsyncSession, *, question_id: int, chat_id: int, shared: bool
) -> CitizenQuestion:
    """Record the asker's choice to show a pending hearing question so others support it."""
    question = await _required(session, question_id)
    if question.chat_id != chat_id:
        raise QuestionError(NOT_YOURS)
    if question.status != PENDING or question.topic != HEARING:
        raise QuestionError(NOT_SHAREABLE)
    if question.share_pending != shared:
        question.share_pending = shared
        session.add(question)
        await session.flush()
    return question
