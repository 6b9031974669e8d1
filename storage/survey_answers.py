"""Answering a survey: a person's response, where they are in it, recording answers.

Where a person is inside a survey is never stored: the current question is derived from the
answers stored so far, following the skip rules (`storage.survey_rules.next_question`). The
one thing kept before it is an answer is the options ticked so far in the current
multiple-choice question (`save_ticks`): a draft row of that question whose value is
`{"marcadas": [i…]}` (option indices). It is not an answer: `answers_of`, the results and
the export skip it, and confirming the question («Listo») turns the same row into the
answer. So pausing, leaving by a command, or coming back days later shows the ticks again.
Who may answer which survey, and the keys that make one response per person, are
`storage.surveys`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam
from sqlalchemy import select as sa_select
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lean
from storage.db import connection_flushed, dialect_of, insert_for, per_dialect
from storage.models import Citizen, Survey, SurveyAnswer, SurveyQuestion, SurveyResponse
from storage.survey_rules import (
    DRAFT,
    answer_value,
    draft_ticks,
    final_answers,
    next_question,
    valid_ticks,
)
from storage.surveys import is_open, questions_of, respondent_key
from storage.types import utcnow


@dataclass(frozen=True)
class Progress:
    """What a started response's position was worked out from: the survey's questions and
    the response's answer rows (drafts included)."""

    questions: list[SurveyQuestion]
    rows: list[SurveyAnswer]


@dataclass(frozen=True)
class Position:
    """Where a person is in a survey: their response (if started) and the current question."""

    survey: Survey
    response: SurveyResponse | None
    question: SurveyQuestion | None  # None when finished (or nothing to ask)
    total: int
    ticked: tuple[int, ...] = ()  # options ticked, not yet confirmed, of `question`
    # Set by `position` for a response under way: recording an answer in the same unit of
    # work (`record_answer`, `save_ticks` with `where=`) need not read them again.
    read: Progress | None = field(default=None, repr=False, compare=False)

    @property
    def done(self) -> bool:
        """Tell whether the person completed the survey."""
        return self.response is not None and self.response.completed_at is not None


@dataclass(frozen=True)
class Recorded:
    """The outcome of recording an answer: `ok`, `stale`, `closed` or `not_started`."""

    status: str
    position: Position | None = None
    question: SurveyQuestion | None = None  # the question answered, when `ok`
    value: Any = None  # the answer as stored, when `ok`


# --- answering --------------------------------------------------------------------


_RESPONSES = SurveyResponse.__table__  # type: ignore[attr-defined]
_ANSWERS = SurveyAnswer.__table__  # type: ignore[attr-defined]
# Built once, run on every survey tap (`storage.lean`). What they read comes back as
# objects no session holds: a change is written by `_COMPLETE` or `_SET_VALUE`.
_FIND = sa_select(_RESPONSES).where(_RESPONSES.c.survey_id == bindparam("survey"),
                                    _RESPONSES.c.respondent_key == bindparam("key"))
_ANSWER_ROWS = sa_select(_ANSWERS).where(_ANSWERS.c.response_id == bindparam("response"))
# A response with its answers, in one round trip (a survey tap reads both).
_WITH_ANSWERS = sa_select(
    _RESPONSES, _ANSWERS.c.id.label("answer_id"), _ANSWERS.c.question_id, _ANSWERS.c.value,
).select_from(_RESPONSES.outerjoin(_ANSWERS, _ANSWERS.c.response_id == _RESPONSES.c.id)).where(
    _RESPONSES.c.survey_id == bindparam("survey"),
    _RESPONSES.c.respondent_key == bindparam("key"),
).order_by(_ANSWERS.c.id)
_RESPONSE_COLUMNS = len(_RESPONSES.c)
_COMPLETE = _RESPONSES.update().where(_RESPONSES.c.id == bindparam("response")).values(
    completed_at=bindparam("at", type_=_RESPONSES.c.completed_at.type))
_ADD_ANSWER = per_dialect(lambda insert: insert(_ANSWERS).values(
    response_id=bindparam("response"), question_id=bindparam("question"),
    value=bindparam("value", type_=_ANSWERS.c.value.type)).on_conflict_do_nothing())
_SET_VALUE = _ANSWERS.update().where(_ANSWERS.c.id == bindparam("answer")).values(
    value=bindparam("new", type_=_ANSWERS.c.value.type))


async def find_response(
    session: AsyncSession, *, survey: Survey, chat_id: int
) -> SurveyResponse | None:
    """Return the person's response to the survey, if they started it (no session holds it)."""
    key = await respondent_key(session, survey=survey, chat_id=chat_id)
    found = await lean.objects(session, SurveyResponse, _FIND, {"survey": survey.id, "key": key})
    return found[0] if found else None


async def _response_with_answers(
    session: AsyncSession, *, survey: Survey, chat_id: int
) -> tuple[SurveyResponse | None, list[SurveyAnswer]]:
    """The person's response to the survey and its answer rows (drafts included), read
    together; (None, []) if they have not started it."""
    key = await respondent_key(session, survey=survey, chat_id=chat_id)
    found = await lean.rows(session, _WITH_ANSWERS, {"survey": survey.id, "key": key})
    if not found:
        return None, []
    names = _RESPONSES.c.keys()
    response = lean.built(SurveyResponse,
                          dict(zip(names, found[0][:_RESPONSE_COLUMNS], strict=True)))
    answers = [lean.built(SurveyAnswer, {"id": answer_id, "response_id": response.id,
                                         "question_id": question_id, "value": value})
               for answer_id, question_id, value in (row[_RESPONSE_COLUMNS:] for row in found)
               if answer_id is not None]
    return response, answers


def _day(moment: datetime, tz: tzinfo) -> datetime:
    """Return the start of `moment`'s local day in `tz` (an anonymous response's times are
    kept to the day only, and the day is the municipality's, not UTC's)."""
    local = moment.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def shown_day(moment: datetime, tz: ZoneInfo) -> str:
    """Return the local date an anonymous response's day stands for.

    Days are stored as the local midnight; rows stored before that, at midnight UTC
    (never a local midnight in a zone with an offset), are read by their UTC date rather
    than shown as the day before.
    """
    utc = moment.astimezone(UTC)
    if utc.time() == time(0) and (utc.astimezone(tz).utcoffset() or timedelta(0)):
        return utc.strftime("%Y-%m-%d")
    return moment.astimezone(tz).strftime("%Y-%m-%d")


async def start_response(
    session: AsyncSession, *, survey: Survey, telegram_id: int, chat_id: int,
    tz: tzinfo = UTC, now: datetime | None = None,
) -> SurveyResponse:
    """Return the person's response to the survey, creating it (once) if needed.

    `tz` is the municipality's time zone: an anonymous response keeps only the local day.
    """
    return (await _create(session, survey=survey, telegram_id=telegram_id, chat_id=chat_id,
                          tz=tz, now=now))[0]


async def start(
    session: AsyncSession, *, survey: Survey, telegram_id: int, chat_id: int,
    tz: tzinfo = UTC,
) -> Position:
    """Start the person's response (`start_response`) and return where they are in it: at
    the first question, without reading the answers of a response just created."""
    response, created = await _create(session, survey=survey, telegram_id=telegram_id,
                                      chat_id=chat_id, tz=tz)
    if not created:  # it was there (a double tap, another instance): read how far it got
        return await position(session, survey=survey, chat_id=chat_id, response=response)
    questions = await questions_of(session, survey_id=survey.id or 0)
    return Position(survey, response, next_question(questions, {}), len(questions), (),
                    Progress(questions, []))


async def _create(
    session: AsyncSession, *, survey: Survey, telegram_id: int, chat_id: int,
    tz: tzinfo = UTC, now: datetime | None = None,
) -> tuple[SurveyResponse, bool]:
    """The person's response, and whether it was created now: the INSERT comes first (a
    response that exists refuses it), so a new one costs no read before it."""
    key = await respondent_key(session, survey=survey, chat_id=chat_id)
    comuna_id = survey.comuna_id
    if not survey.anonima and comuna_id is None:
        comuna_id = (await session.exec(
            select(Citizen.comuna_id).where(Citizen.telegram_id == telegram_id)
        )).first()
    now = now or utcnow()
    conn = await connection_flushed(session)
    created = (await conn.execute(
        insert_for(conn, _RESPONSES).values(
            survey_id=survey.id or 0, respondent_key=key,
            chat_id=None if survey.anonima else chat_id, comuna_id=comuna_id,
            started_at=_day(now, tz) if survey.anonima else now,
        ).on_conflict_do_nothing().returning(*_RESPONSES.c)
    )).first()
    if created is not None:
        return lean.built(SurveyResponse, dict(created._mapping)), True
    found = await find_response(session, survey=survey, chat_id=chat_id)  # it was there
    assert found is not None
    return found, False


async def _answer_rows(session: AsyncSession, *, response_id: int) -> list[SurveyAnswer]:
    return await lean.objects(session, SurveyAnswer, _ANSWER_ROWS, {"response": response_id})


async def _set_value(
    session: AsyncSession, draft: SurveyAnswer, value: Any, *, alone: bool = False
) -> None:
    """Replace a draft's ticks by `value` (the answer, or the ticks kept now); `alone`:
    committed by itself if nothing began (`storage.lean.execute_alone`)."""
    draft.value = value
    write = lean.execute_alone if alone else lean.execute
    await write(session, _SET_VALUE, {"answer": draft.id, "new": value})


async def answers_of(session: AsyncSession, *, response_id: int) -> dict[int, Any]:
    """Return a response's answers by question id (drafts left out)."""
    return final_answers(await _answer_rows(session, response_id=response_id))


async def position(
    session: AsyncSession, *, survey: Survey, chat_id: int,
    response: SurveyResponse | None = None,
) -> Position:
    """Return where the person is in the survey (without starting it); `response`: theirs,
    when the caller has just read it (`start_response`)."""
    questions = await questions_of(session, survey_id=survey.id or 0)
    if response is None:
        response, rows = await _response_with_answers(session, survey=survey, chat_id=chat_id)
    else:
        rows = None
    if response is None:
        return Position(survey, None, questions[0] if questions else None, len(questions))
    if response.completed_at is not None:
        return Position(survey, response, None, len(questions))
    if rows is None:
        rows = await _answer_rows(session, response_id=response.id or 0)
    current = next_question(questions, final_answers(rows))
    return Position(survey, response, current, len(questions), draft_ticks(rows, current),
                    Progress(questions, rows))


def _known(
    where: Position | None, survey: Survey
) -> tuple[SurveyResponse, Progress] | None:
    """The response under way to `survey` and what `where` read of it, if it read it."""
    if where is None or where.read is None or where.response is None:
        return None
    return (where.response, where.read) if where.survey.id == survey.id else None


async def record_answer(
    session: AsyncSession, *, survey: Survey, chat_id: int, position_number: int, raw: Any,
    now: datetime | None = None, kinds: tuple[str, ...] | None = None, tz: tzinfo = UTC,
    where: Position | None = None,
) -> Recorded:
    """Store the answer to the current question if `position_number` is still the current one.

    `tz` is the municipality's time zone: an anonymous response keeps only the local day.

    `kinds` (a button's) limits the kinds of question the answer can be for; another kind
    is stale. Raises `AnswerRefused` for an answer that does not fit the question; changes
    nothing then. `where`: the person's `position`, read earlier in the same unit of work
    (not read again).
    """
    now = now or utcnow()
    if not is_open(survey, now):
        return Recorded("closed")
    known = _known(where, survey)
    if known is not None:
        response, read = known
        questions, rows = read.questions, read.rows
    else:
        questions = await questions_of(session, survey_id=survey.id or 0)
        found, rows = await _response_with_answers(session, survey=survey, chat_id=chat_id)
        if found is None:
            return Recorded("not_started")
        if found.completed_at is not None:
            return Recorded("stale", Position(survey, found, None, len(questions)))
        response = found
    answers = final_answers(rows)
    current = next_question(questions, answers)
    if (current is None or current.position != position_number
            or (kinds is not None and current.kind not in kinds)):
        return Recorded("stale", Position(survey, response, current, len(questions),
                                          draft_ticks(rows, current)))
    value = answer_value(current, raw)
    answers[current.id or 0] = value
    following = next_question(questions, answers)
    # An answer before the last stands on its own: written alone, one round trip. The last
    # one and the response's completion go together.
    write = lean.execute if following is None else lean.execute_alone
    draft = next((r for r in rows if r.question_id == current.id), None)
    if draft is not None:  # the ticks kept so far become the answer
        await _set_value(session, draft, value, alone=following is not None)
    elif not await write(session, _ADD_ANSWER[dialect_of(session)], {
        "response": response.id or 0, "question": current.id or 0, "value": value,
    }):  # the same answer raced in from a double tap
        return Recorded("stale", await position(session, survey=survey, chat_id=chat_id))
    if following is None:
        response.completed_at = _day(now, tz) if survey.anonima else now
        await lean.execute(session, _COMPLETE,
                           {"response": response.id, "at": response.completed_at})
    return Recorded("ok", Position(survey, response, following, len(questions)), current, value)


async def save_ticks(
    session: AsyncSession, *, survey: Survey, chat_id: int, position_number: int,
    chosen: list[int], now: datetime | None = None, where: Position | None = None,
) -> str:
    """Keep the options ticked so far in the current multiple-choice question (a draft).

    Returns `ok`, `closed`, `not_started` or `stale` (question `position_number` is not the
    current one, or not multiple choice). Raises `AnswerRefused` for options that do not
    exist or too many; changes nothing then. An empty selection is kept too (all unticked).
    `where`: the person's `position`, read earlier in the same unit of work.
    """
    if not is_open(survey, now or utcnow()):
        return "closed"
    known = _known(where, survey)
    response = known[0] if known is not None else (
        await find_response(session, survey=survey, chat_id=chat_id))
    if response is None:
        return "not_started"
    if response.completed_at is not None:
        return "stale"
    survey_id, response_id = survey.id or 0, response.id or 0
    for _attempt in (1, 2):
        if known is not None:  # the first try works from what `where` read
            questions, rows, known = known[1].questions, known[1].rows, None
        else:
            questions = await questions_of(session, survey_id=survey_id)
            rows = await _answer_rows(session, response_id=response_id)
        current = next_question(questions, final_answers(rows))
        if current is None or current.position != position_number or current.kind != "multiple":
            return "stale"
        value = {DRAFT: valid_ticks(current, chosen)}
        draft = next((r for r in rows if r.question_id == current.id), None)
        if draft is not None:  # a draft stands on its own: written alone, one round trip
            await _set_value(session, draft, value, alone=True)
            return "ok"
        if await lean.execute_alone(session, _ADD_ANSWER[dialect_of(session)], {
            "response": response_id, "question": current.id or 0, "value": value,
        }):
            return "ok"
        # another instance stored a draft at the same moment: update that one
    raise RuntimeError("a survey draft kept changing under us")
