"""What askers are told when their question is answered, and question excerpts for screens.

`storage.questions` records an answer or a duplicate and says who is to hear which answer
(`AnswerNotice`); this module words those notices in Telegram HTML, queues them through the
outbox in the same transaction and commits. Staff answer through `answer` and
`mark_duplicate` here, never through the storage functions alone, so an answer always
reaches its askers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape

from sqlmodel.ext.asyncio.session import AsyncSession

from storage import outbox
from storage import questions as store

MAX_ANSWER_HTML = 3000  # the escaped answer, leaving room in a 4096-character message
EXCERPT = 300

ANSWER_TOO_LONG = "La respuesta es muy larga ({length} caracteres); el máximo es {max}."
ANSWER_TITLE = "💬 <b>Respuesta a su pregunta #{id}</b>"
CORRECTED_TITLE = "💬 <b>Respuesta actualizada a su pregunta #{id}</b>"
NOTICE = "{title}\n<i>«{question}»</i>\n\n{answer}"
SAME_AS = "Otra persona preguntó lo mismo (pregunta #{original}); esta es la respuesta:\n\n"
FOOTER = "\n\nVea todas sus preguntas con /mis_preguntas."


@dataclass(frozen=True)
class AnswerResult(store.Answered):
    """What answering did: what was recorded, and how many messages were queued."""

    notified: int = 0


@dataclass(frozen=True)
class DuplicateResult(store.Duplicated):
    """What marking a duplicate did: what was recorded, and how many messages were queued."""

    notified: int = 0


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


def notice_text(notice: store.AnswerNotice) -> str:
    """Return the message that brings `notice.answered`'s answer to the asker of `notice.asked`."""
    asked, answered = notice.asked, notice.answered
    answer = escape(answered.answer or "")
    if asked.id != answered.id:
        answer = SAME_AS.format(original=answered.id) + answer
    title = (CORRECTED_TITLE if notice.corrected else ANSWER_TITLE).format(id=asked.id)
    return NOTICE.format(title=title, question=excerpt(asked.text), answer=answer) + FOOTER


async def _queue(session: AsyncSession, notices: list[store.AnswerNotice]) -> int:
    """Queue each notice to its asker (a repeated answer is sent once); return how many."""
    queued = 0
    for notice in notices:
        queued += await outbox.enqueue(
            session, chat_ids=[notice.chat_id], payload={"text": notice_text(notice)},
            kind="respuesta", dedupe=notice.dedupe,
        )
    return queued


async def answer(
    session: AsyncSession,
    *,
    question_id: int,
    text: str,
    actor_id: int,
    now: datetime | None = None,
) -> AnswerResult:
    """Answer (or correct the answer to) a question, tell its asker and its duplicates',
    and commit (`storage.questions.record_answer`)."""
    text = text.strip()
    if len(escape(text)) > MAX_ANSWER_HTML:
        raise store.QuestionError(ANSWER_TOO_LONG.format(length=len(text), max=MAX_ANSWER_HTML))
    recorded = await store.record_answer(
        session, question_id=question_id, text=text, actor_id=actor_id, now=now
    )
    notified = await _queue(session, recorded.notices)
    await session.commit()
    return AnswerResult(recorded.question, recorded.updated, recorded.notices, notified)


async def mark_duplicate(
    session: AsyncSession, *, question_id: int, original_id: int, actor_id: int
) -> DuplicateResult:
    """Mark a question as a duplicate of another, send the original's answer if it has one,
    and commit (`storage.questions.record_duplicate`)."""
    recorded = await store.record_duplicate(
        session, question_id=question_id, original_id=original_id, actor_id=actor_id
    )
    notified = await _queue(session, recorded.notices)
    await session.commit()
    return DuplicateResult(recorded.question, recorded.original, recorded.notices, notified)
