"""Support («Yo también quiero saber»), the rankings it makes, and the moderator's export.

A support is kept under the person's pseudonym (scope "apoyos"), never the chat id; a
question counts the distinct supporters of itself and of the questions grouped under it.
"""


from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case
from sqlalchemy import select as sa_select
from sqlmodel import col, func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert_if_absent
from storage.models import CitizenQuestion, QuestionSupport
from storage.pseudonyms import pseudonym
from storage.questions.core import (
    ANSWERED,
    DUPLICATE,
    HEARING,
    NOT_SUPPORTABLE,
    PENDING,
    SUPPORT_SCOPE,
    TOPICS,
    QuestionError,
    QuestionPage,
    _published_filter,
)
from storage.types import utcnow


@dataclass(frozen=True)
class RankedPage(QuestionPage):
    """One page of questions with their supports (distinct people, duplicates included)."""

    support: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SupportResult:
    """What a tap on «Yo también quiero saber» did: counted now or before, and the total."""

    added: bool
    count: int


def _supportable() -> ColumnElement[bool]:
    return or_(_published_filter(), and_(
        col(CitizenQuestion.status) == PENDING, col(CitizenQuestion.share_pending).is_(True),
        col(CitizenQuestion.topic) == HEARING,
    ))


def is_supportable(question: CitizenQuestion) -> bool:
    """Tell whether people may support this question now (what citizens may see)."""
    if question.status == ANSWERED:
        return question.published
    return question.status == PENDING and question.share_pending and question.topic == HEARING


async def supporter_key(session: AsyncSession, *, chat_id: int) -> str:
    """Return the person's pseudonym for supports (kept after a deletion: one support each)."""
    return await pseudonym(session, scope=SUPPORT_SCOPE, chat_id=chat_id)


def _root() -> Any:
    """The question a support counts for: the original of a duplicate, else itself."""
    return func.coalesce(CitizenQuestion.duplicate_of, CitizenQuestion.id)


def _counts_subquery() -> Any:
    root = _root().label("root")
    return (
        sa_select(root, func.count(func.distinct(QuestionSupport.supporter_key)).label("n"))
        .select_from(QuestionSupport)
        .join(CitizenQuestion, col(CitizenQuestion.id) == col(QuestionSupport.question_id))
        .group_by(root)
        .subquery()
    )


async def support_counts(session: AsyncSession, question_ids: Sequence[int]) -> dict[int, int]:
    """Return how many distinct people support each question (with its duplicates)."""
    if not question_ids:
        return {}
    counts = _counts_subquery()
    rows = await session.exec(  # type: ignore[call-overload]
        sa_select(counts.c.root, counts.c.n).where(counts.c.root.in_(list(question_ids)))
    )
    return {int(root): int(n) for root, n in rows.all()}


async def supported_by(
    session: AsyncSession, *, chat_id: int, question_ids: Sequence[int]
) -> set[int]:
    """Return which of these questions the person already supports."""
    if not question_ids:
        return set()
    key = await supporter_key(session, chat_id=chat_id)
    rows = await session.exec(
        select(QuestionSupport.question_id).where(
            QuestionSupport.supporter_key == key,
            col(QuestionSupport.question_id).in_(list(question_ids)),
        )
    )
    return set(rows.all())


async def support(
    session: AsyncSession, *, question_id: int, chat_id: int, now: datetime | None = None
) -> SupportResult:
    """Count the person's support for a question, once: a second tap (or a double tap, or a
    tap after deleting one's data) adds nothing. Raise QuestionError if it cannot be supported."""
    question = await session.get(CitizenQuestion, question_id)
    if question is None or not is_supportable(question):
        raise QuestionError(NOT_SUPPORTABLE)
    key = await supporter_key(session, chat_id=chat_id)
    added = False
    if await session.get(QuestionSupport, (question_id, key)) is None:
        # the same person's other tap may have got there first
        added = await insert_if_absent(
            session, QuestionSupport.__table__,  # type: ignore[attr-defined]
            question_id=question_id, supporter_key=key, created_at=now or utcnow(),
        )
    counts = await support_counts(session, [question_id])
    return SupportResult(added, counts.get(question_id, 0))


async def supports_kept(session: AsyncSession, *, chat_id: int) -> int:
    """Count the supports kept under the person's pseudonym (they hold no chat id)."""
    key = await supporter_key(session, chat_id=chat_id)
    query = select(func.count()).select_from(QuestionSupport).where(
        QuestionSupport.supporter_key == key)
    return int((await session.exec(query)).one())


async def _ranked(
    session: AsyncSession,
    where: ColumnElement[bool],
    order: list[Any],
    *,
    page: int,
    per_page: int,
) -> RankedPage:
    counts = _counts_subquery()
    total = int((await session.exec(
        select(func.count()).select_from(CitizenQuestion).where(where)
    )).one())
    pages = max(1, -(-total // per_page))
    number = min(max(page, 0), pages - 1)
    supported = func.coalesce(counts.c.n, 0)
    query = (
        select(CitizenQuestion, supported)
        .outerjoin(counts, counts.c.root == col(CitizenQuestion.id))
        .where(where)
        .order_by(*[supported.desc() if o is None else o for o in order])
        .offset(number * per_page).limit(per_page)
    )
    rows = (await session.exec(query)).all()
    items = [q for q, _ in rows]
    return RankedPage(items, total, number, per_page,
                      {q.id: int(n) for q, n in rows if q.id is not None})


async def most_supported(
    session: AsyncSession, *, page: int = 0, per_page: int = 5
) -> RankedPage:
    """Return one page of the questions people may support, most supported first."""
    return await _ranked(
        session, _supportable(),
        [None, col(CitizenQuestion.created_at), col(CitizenQuestion.id)],
        page=page, per_page=per_page,
    )


def _filters(
    topic: str | None, office: str | None, without_office: bool = False
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if topic:
        where.append(col(CitizenQuestion.topic) == topic)
    if office:
        where.append(col(CitizenQuestion.office) == office)
    elif without_office:
        where.append(col(CitizenQuestion.office).is_(None))
    return where


def _topic_rank() -> Any:
    return case({key: i for i, (key, _) in enumerate(TOPICS)},
                value=col(CitizenQuestion.topic), else_=len(TOPICS))


async def staff_queue(
    session: AsyncSession,
    *,
    sort: str = "apoyos",
    topic: str | None = None,
    office: str | None = None,
    without_office: bool = False,
    page: int = 0,
    per_page: int = 5,
) -> RankedPage:
    """Return one page of the pending questions: most supported first (`apoyos`), by topic
    and then support (`tema`), or oldest first (`fecha`); optionally of one topic, of one
    office or of none yet (`without_office`)."""
    where = and_(col(CitizenQuestion.status) == PENDING,
                 *_filters(topic, office, without_office))
    oldest = [col(CitizenQuestion.created_at), col(CitizenQuestion.id)]
    order: list[Any] = {
        "tema": [_topic_rank(), None, *oldest],
        "fecha": oldest,
    }.get(sort, [None, *oldest])
    return await _ranked(session, where, order, page=page, per_page=per_page)


EXPORT_HEADER = [
    "numero", "tema", "estado", "apoyos", "duplicadas", "pregunta", "dependencia",
    "recibida", "respondida", "respuesta", "publicada", "quien_pregunto_recibe_respuesta",
]


async def export_rows(
    session: AsyncSession,
    *,
    tz: ZoneInfo,
    topic: str | None = None,
    office: str | None = None,
    without_office: bool = False,
) -> tuple[list[str], list[list[Any]]]:
    """Return the moderator's sheet: every question not grouped under another (pending and
    answered), most supported first, with its duplicates counted; no personal data."""
    where = and_(col(CitizenQuestion.status) != DUPLICATE,
                 *_filters(topic, office, without_office))
    page = await _ranked(session, where, [None, col(CitizenQuestion.created_at),
                                          col(CitizenQuestion.id)], page=0, per_page=10**9)
    duplicates: dict[int, int] = {}
    reachable: dict[int, int] = {}
    for original, chat_id in (await session.exec(
        select(CitizenQuestion.duplicate_of, CitizenQuestion.chat_id)
        .where(col(CitizenQuestion.status) == DUPLICATE)
    )).all():
        if original is not None:
            duplicates[original] = duplicates.get(original, 0) + 1
            reachable[original] = reachable.get(original, 0) + (chat_id is not None)
    names = dict(TOPICS)

    def when(moment: datetime | None) -> str:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""

    rows: list[list[Any]] = []
    for q in page.items:
        assert q.id is not None
        rows.append([
            q.id, names.get(q.topic, q.topic), q.status, page.support.get(q.id, 0),
            duplicates.get(q.id, 0), q.text, q.office or "", when(q.created_at),
            when(q.answered_at), q.answer or "", q.published,
            q.chat_id is not None or reachable.get(q.id, 0) > 0,
        ])
    return EXPORT_HEADER, rows
