"""Survey answering and results: who may answer what, where a person is, and the totals.

One response per person and survey is enforced by the database
(UNIQUE(survey_id, respondent_key)). `respondent_key` is HMAC-SHA256(secret,
"survey id:chat id") with the secret generated once and kept in `AppSecret("survey_hmac")`
(`pseudonym`). Anonymous surveys keep `chat_id` NULL, so the stored answers carry no id —
yet the same person finds their response again to resume it, and cannot answer twice.
Named surveys also keep the chat id, until the person deletes their data: the key stays,
so a completed survey stays answered and is counted once. Anonymous responses also keep
their times only to the day, so they cannot be matched against message times.

The same key (with other prefixes) keeps one ballot per person in participatory budgeting
and the daily limit of questions after a deletion; it cannot be turned back into a chat id
without the secret.

Where a person is inside a survey is never stored: the current question is derived from
the answers stored so far, following the skip rules (`next_question`). The one thing kept
before it is an answer is the options ticked so far in the current multiple-choice
question (`save_ticks`): a draft row of that question whose value is `{"marcadas": [i…]}`
(option indices). It is not an answer: `answers_of`, the results and the export skip it,
and confirming the question («Listo») turns the same row into the answer. So pausing,
leaving by a command, or coming back days later shows the ticks again.

Comuna targeting: a survey without a comuna is for everyone. A survey for one comuna is
offered to people whose comuna is known to be that one (their comuna on record, or a comuna
they follow in /alertas) and to people whose comuna is unknown; it is not offered to people
known to be from other comunas.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from html import escape
from typing import Any
from weakref import WeakKeyDictionary
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import outbox
from storage.exports import column_title, safe_cell
from storage.models import (
    AppSecret,
    Citizen,
    Comuna,
    Event,
    Subscription,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
)
from storage.survey_defs import END, SCALE
from storage.types import utcnow

SECRET_NAME = "survey_hmac"
_SECRETS: WeakKeyDictionary[Any, bytes] = WeakKeyDictionary()  # per engine
MULTI_SEPARATOR = "; "
DRAFT = "marcadas"  # key of a draft row: the ticks of a multiple-choice question, unconfirmed
INVITATION = "📝 <b>{title}</b>\n¿Nos regala un par de minutos? Su opinión nos ayuda a mejorar."
INVITATION_BUTTON = "📝 Responder la encuesta"


class AnswerRefused(ValueError):
    """An answer that does not fit its question; the message is Spanish, for the person."""


@dataclass(frozen=True)
class SurveyStatus:
    """A survey as one person sees it: `nueva`, `en_curso` or `respondida`."""

    survey: Survey
    state: str
    questions: int


@dataclass(frozen=True)
class Position:
    """Where a person is in a survey: their response (if started) and the current question."""

    survey: Survey
    response: SurveyResponse | None
    question: SurveyQuestion | None  # None when finished (or nothing to ask)
    total: int
    ticked: tuple[int, ...] = ()  # options ticked, not yet confirmed, of `question`

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


@dataclass(frozen=True)
class QuestionResult:
    """Totals of one question over completed responses."""

    question: SurveyQuestion
    answered: int
    counts: list[tuple[str, int]]  # option (or scale value) → count; empty for text
    average: float | None = None  # scale questions

    def percent(self, count: int) -> float:
        """Return `count` as a percentage of the people who answered this question."""
        return 100.0 * count / self.answered if self.answered else 0.0


@dataclass(frozen=True)
class SurveyResults:
    """A survey's results: completed and in-progress responses and each question's totals."""

    survey: Survey
    completed: int
    in_progress: int
    questions: list[QuestionResult]


# --- identity ---------------------------------------------------------------------


async def survey_secret(session: AsyncSession) -> bytes:
    """Return the installation's key for pseudonyms (`pseudonym`), creating it once.

    The key never changes once created, so each process reads it once per database.
    """
    engine = session.sync_session.get_bind()
    known = _SECRETS.get(engine)
    if known is not None:
        return known
    row = await session.get(AppSecret, SECRET_NAME)
    if row is None:
        # Two people may start an anonymous survey at once: the first insert wins and the
        # other is ignored, with no rollback that would expire the caller's objects.
        conn = await session.connection()
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        table = AppSecret.__table__  # type: ignore[attr-defined]
        await conn.execute(
            insert(table)
            .values(name=SECRET_NAME, value=secrets.token_hex(32), created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["name"])
        )
        await session.commit()
        row = await session.get(AppSecret, SECRET_NAME, populate_existing=True)
        assert row is not None
    _SECRETS[engine] = bytes.fromhex(row.value)
    return _SECRETS[engine]


def keyed_hash(secret: bytes, scope: str, chat_id: int) -> str:
    """Return the pseudonym of a chat within `scope`: "h:" and HMAC-SHA256 in hex."""
    return "h:" + hmac.new(secret, f"{scope}:{chat_id}".encode(), hashlib.sha256).hexdigest()


async def pseudonym(session: AsyncSession, *, scope: str, chat_id: int) -> str:
    """Return the person's keyed pseudonym within `scope` (not reversible without the key).

    Scopes in use: the survey id (responses), "pp:<ronda>" (ballots), "preguntas".
    """
    return keyed_hash(await survey_secret(session), scope, chat_id)


async def respondent_key(session: AsyncSession, *, survey: Survey, chat_id: int) -> str:
    """Return the key that identifies this person's response to this survey."""
    return await pseudonym(session, scope=str(survey.id), chat_id=chat_id)


# --- surveys and eligibility ------------------------------------------------------


async def survey_by_slug(session: AsyncSession, slug: str) -> Survey | None:
    """Return the survey with this slug, if any."""
    return (await session.exec(select(Survey).where(Survey.slug == slug.strip().lower()))).first()


def is_open(survey: Survey, now: datetime | None = None) -> bool:
    """Tell whether the survey takes answers now."""
    now = now or utcnow()
    return (survey.abre is None or survey.abre <= now) and (
        survey.cierra is None or now < survey.cierra
    )


async def known_comunas(session: AsyncSession, *, telegram_id: int, chat_id: int) -> set[int]:
    """Return the ids of the comunas the person is known to belong to or follow."""
    ids: set[int] = set()
    own = (await session.exec(
        select(Citizen.comuna_id).where(Citizen.telegram_id == telegram_id)
    )).first()
    if own is not None:
        ids.add(own)
    followed = (await session.exec(
        select(Comuna.id).join(Subscription, col(Subscription.value) == col(Comuna.codigo))
        .where(Subscription.chat_id == chat_id, Subscription.kind == "comuna")
    )).all()
    ids.update(i for i in followed if i is not None)
    return ids


def reaches(survey: Survey, comunas: set[int]) -> bool:
    """Tell whether a survey is for a person with these known comunas (see module doc)."""
    return survey.comuna_id is None or not comunas or survey.comuna_id in comunas


async def questions_of(session: AsyncSession, *, survey_id: int) -> list[SurveyQuestion]:
    """Return a survey's questions in order."""
    return list((await session.exec(
        select(SurveyQuestion).where(SurveyQuestion.survey_id == survey_id)
        .order_by(col(SurveyQuestion.position))
    )).all())


async def event_to_wait_for(
    session: AsyncSession, *, survey: Survey, now: datetime | None = None
) -> Event | None:
    """Return the event a survey evaluates if none of the events it evaluates has ended yet.

    An evaluation survey (an event's `encuesta`) is offered once its event is over: nobody
    evaluates a hearing that has not happened. Surveys no event names return None.
    """
    now = now or utcnow()
    events = (await session.exec(
        select(Event).where(Event.encuesta == survey.slug).order_by(col(Event.inicio))
    )).all()
    if not events or any(_over(e.inicio, e.fin, now) for e in events):
        return None
    return events[0]


def _over(start: datetime, end: datetime | None, now: datetime) -> bool:
    return (end or start) <= now


async def _waiting_for_events(session: AsyncSession, *, now: datetime) -> set[str]:
    """Return the slugs of evaluation surveys none of whose events has ended (one query)."""
    rows = (await session.exec(
        select(Event.encuesta, Event.inicio, Event.fin).where(col(Event.encuesta).is_not(None))
    )).all()
    named = {slug for slug, _, _ in rows if slug}
    ended = {slug for slug, start, end in rows if slug and _over(start, end, now)}
    return named - ended


async def surveys_for(
    session: AsyncSession, *, telegram_id: int, chat_id: int, now: datetime | None = None
) -> list[SurveyStatus]:
    """Return the open surveys offered to this person, with how far they got in each."""
    now = now or utcnow()
    comunas = await known_comunas(session, telegram_id=telegram_id, chat_id=chat_id)
    waiting = await _waiting_for_events(session, now=now)
    surveys = [s for s in (await session.exec(select(Survey).order_by(col(Survey.id)))).all()
               if is_open(s, now) and reaches(s, comunas) and s.slug not in waiting]
    counts = dict((await session.exec(
        select(SurveyQuestion.survey_id, func.count()).group_by(col(SurveyQuestion.survey_id))
    )).all())
    result = []
    for survey in surveys:
        response = await find_response(session, survey=survey, chat_id=chat_id)
        state = "nueva" if response is None else (
            "respondida" if response.completed_at is not None else "en_curso"
        )
        result.append(SurveyStatus(survey, state, int(counts.get(survey.id or 0, 0))))
    return result


def invitation_payload(survey: Survey, text: str | None = None) -> dict[str, Any]:
    """Return an outbox payload inviting to a survey: a text and an `enc:o:<slug>` button."""
    body = text if text is not None else INVITATION.format(title=escape(survey.titulo))
    button = {"text": INVITATION_BUTTON, "callback_data": f"enc:o:{survey.slug}"}
    return {"text": body, "reply_markup": {"inline_keyboard": [[button]]}}


async def invite(
    session: AsyncSession, *, survey: Survey, chat_ids: list[int], text: str | None = None,
    dedupe: str | None = None,
) -> int:
    """Queue an invitation to the survey for each chat that has not answered it yet.

    Goes through the outbox; `dedupe` (default: one per survey) keeps a chat from getting
    the same invitation twice. Returns how many were queued.
    """
    keys = {await respondent_key(session, survey=survey, chat_id=c): c for c in chat_ids}
    answered = set((await session.exec(
        select(SurveyResponse.respondent_key).where(
            SurveyResponse.survey_id == survey.id,
            col(SurveyResponse.completed_at).is_not(None),
            col(SurveyResponse.respondent_key).in_(list(keys)),
        )
    )).all()) if keys else set()
    pending = [chat for key, chat in keys.items() if key not in answered]
    return await outbox.enqueue(
        session, chat_ids=pending, payload=invitation_payload(survey, text), kind="encuesta",
        dedupe=dedupe or f"encuesta:{survey.slug}",
    )


async def announce(session: AsyncSession, *, survey: Survey) -> int:
    """Invite the people following the «encuestas» topic to an open survey, once each.

    Comuna targeting follows the same rule as the list (see the module doc). Returns how
    many invitations were queued (0 when the survey is not open).
    """
    if not is_open(survey):
        return 0
    followers = set((await session.exec(
        select(Subscription.chat_id).where(Subscription.kind == "tema",
                                           Subscription.value == "encuestas")
    )).all())
    if survey.comuna_id is not None and followers:
        known: dict[int, set[int]] = {}
        for chat, comuna in (await session.exec(
            select(Subscription.chat_id, Comuna.id)
            .join(Comuna, col(Comuna.codigo) == col(Subscription.value))
            .where(Subscription.kind == "comuna")
        )).all():
            known.setdefault(chat, set()).add(comuna or 0)
        for chat, comuna in (await session.exec(
            select(Citizen.chat_id, Citizen.comuna_id).where(col(Citizen.comuna_id).is_not(None))
        )).all():
            known.setdefault(chat, set()).add(comuna or 0)
        followers = {c for c in followers if reaches(survey, known.get(c, set()))}
    return await invite(session, survey=survey, chat_ids=sorted(followers),
                        dedupe=f"encuesta-nueva:{survey.slug}")


# --- answering --------------------------------------------------------------------


async def find_response(
    session: AsyncSession, *, survey: Survey, chat_id: int
) -> SurveyResponse | None:
    """Return the person's response to the survey, if they started it."""
    key = await respondent_key(session, survey=survey, chat_id=chat_id)
    return (await session.exec(select(SurveyResponse).where(
        SurveyResponse.survey_id == survey.id, SurveyResponse.respondent_key == key
    ))).first()


def _day(moment: datetime, tz: tzinfo) -> datetime:
    """Return the start of `moment`'s local day in `tz` (an anonymous response's times are
    kept to the day only, and the day is the municipality's, not UTC's)."""
    local = moment.astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


def _shown_day(moment: datetime, tz: ZoneInfo) -> str:
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
    existing = await find_response(session, survey=survey, chat_id=chat_id)
    if existing is not None:
        return existing
    key = await respondent_key(session, survey=survey, chat_id=chat_id)
    comuna_id = survey.comuna_id
    if not survey.anonima and comuna_id is None:
        comuna_id = (await session.exec(
            select(Citizen.comuna_id).where(Citizen.telegram_id == telegram_id)
        )).first()
    now = now or utcnow()
    response = SurveyResponse(
        survey_id=survey.id or 0, respondent_key=key,
        chat_id=None if survey.anonima else chat_id, comuna_id=comuna_id,
        started_at=_day(now, tz) if survey.anonima else now,
    )
    session.add(response)
    try:
        await session.commit()
    except IntegrityError:  # a double tap started it already
        await session.rollback()
        found = await find_response(session, survey=survey, chat_id=chat_id)
        assert found is not None
        return found
    return response


def is_draft(value: Any) -> bool:
    """Tell whether a stored value is a draft (unconfirmed ticks), not an answer."""
    return isinstance(value, dict)


async def _answer_rows(session: AsyncSession, *, response_id: int) -> list[SurveyAnswer]:
    return list((await session.exec(
        select(SurveyAnswer).where(SurveyAnswer.response_id == response_id)
    )).all())


def _final(rows: list[SurveyAnswer]) -> dict[int, Any]:
    return {a.question_id: a.value for a in rows if not is_draft(a.value)}


def _ticks(rows: list[SurveyAnswer], question: SurveyQuestion | None) -> tuple[int, ...]:
    """Return the draft ticks of `question` among a response's rows (valid indices only)."""
    if question is None or question.kind != "multiple":
        return ()
    count = len(question.options or [])
    for row in rows:
        if row.question_id == question.id and is_draft(row.value):
            ticked = row.value.get(DRAFT)
            if isinstance(ticked, list):
                return tuple(sorted({i for i in ticked if isinstance(i, int) and 0 <= i < count}))
    return ()


async def answers_of(session: AsyncSession, *, response_id: int) -> dict[int, Any]:
    """Return a response's answers by question id (drafts left out)."""
    return _final(await _answer_rows(session, response_id=response_id))


def skip_target(question: SurveyQuestion, value: Any) -> int | None:
    """Return the position a skip rule sends this answer to (`END` = the end), or None."""
    if question.kind not in ("unica", "escala"):
        return None
    rules = question.skip_rules or {}
    target = rules.get(str(value))
    return None if target is None else int(target)


def next_question(
    questions: list[SurveyQuestion], answers: dict[int, Any]
) -> SurveyQuestion | None:
    """Return the first unanswered question on the path the answers take, or None when done."""
    by_position = {q.position: q for q in questions}
    ordered = sorted(by_position)
    index = 0
    while index < len(ordered):
        question = by_position[ordered[index]]
        if question.id not in answers:
            return question
        target = skip_target(question, answers[question.id])
        if target == END:
            return None
        if target is not None and target in by_position:
            index = ordered.index(target)
        else:
            index += 1
    return None


async def position(session: AsyncSession, *, survey: Survey, chat_id: int) -> Position:
    """Return where the person is in the survey (without starting it)."""
    questions = await questions_of(session, survey_id=survey.id or 0)
    response = await find_response(session, survey=survey, chat_id=chat_id)
    if response is None:
        return Position(survey, None, questions[0] if questions else None, len(questions))
    if response.completed_at is not None:
        return Position(survey, response, None, len(questions))
    rows = await _answer_rows(session, response_id=response.id or 0)
    current = next_question(questions, _final(rows))
    return Position(survey, response, current, len(questions), _ticks(rows, current))


def answer_value(question: SurveyQuestion, raw: Any) -> Any:
    """Turn a raw answer (option index, indices, 1–5, text) into what is stored, or refuse."""
    options = list(question.options or [])
    if question.kind == "unica":
        if not isinstance(raw, int) or not 0 <= raw < len(options):
            raise AnswerRefused("Esa opción no existe.")
        return options[raw]
    if question.kind == "multiple":
        if not isinstance(raw, list | tuple) or not all(isinstance(i, int) for i in raw):
            raise AnswerRefused("Esa selección no es válida.")
        chosen = sorted(set(raw))
        if not chosen:
            raise AnswerRefused("Marque al menos una opción.")
        if any(not 0 <= i < len(options) for i in chosen):
            raise AnswerRefused("Esa opción no existe.")
        if len(chosen) > (question.max_choices or len(options)):
            raise AnswerRefused(f"Puede marcar hasta {question.max_choices} opciones.")
        return [options[i] for i in chosen]
    if question.kind == "escala":
        if not isinstance(raw, int) or raw not in SCALE:
            raise AnswerRefused("Elija un valor de 1 a 5.")
        return raw
    text = str(raw).strip() if isinstance(raw, str) else ""
    if not text:
        raise AnswerRefused("Escriba su respuesta en un mensaje de texto.")
    limit = question.max_length or 500
    if len(text) > limit:
        raise AnswerRefused(
            f"Su respuesta tiene {len(text)} caracteres; el máximo es {limit}. "
            "Escríbala más corta, por favor."
        )
    return text


async def record_answer(
    session: AsyncSession, *, survey: Survey, chat_id: int, position_number: int, raw: Any,
    now: datetime | None = None, kinds: tuple[str, ...] | None = None, tz: tzinfo = UTC,
) -> Recorded:
    """Store the answer to the current question if `position_number` is still the current one.

    `tz` is the municipality's time zone: an anonymous response keeps only the local day.

    `kinds` (a button's) limits the kinds of question the answer can be for; another kind
    is stale. Raises `AnswerRefused` for an answer that does not fit the question; changes
    nothing then.
    """
    now = now or utcnow()
    if not is_open(survey, now):
        return Recorded("closed")
    questions = await questions_of(session, survey_id=survey.id or 0)
    response = await find_response(session, survey=survey, chat_id=chat_id)
    if response is None:
        return Recorded("not_started")
    if response.completed_at is not None:
        return Recorded("stale", Position(survey, response, None, len(questions)))
    rows = await _answer_rows(session, response_id=response.id or 0)
    answers = _final(rows)
    current = next_question(questions, answers)
    if (current is None or current.position != position_number
            or (kinds is not None and current.kind not in kinds)):
        return Recorded("stale", Position(survey, response, current, len(questions),
                                          _ticks(rows, current)))
    value = answer_value(current, raw)
    draft = next((r for r in rows if r.question_id == current.id), None)
    if draft is not None:  # the ticks kept so far become the answer
        draft.value = value
        session.add(draft)
    else:
        session.add(SurveyAnswer(response_id=response.id or 0, question_id=current.id or 0,
                                 value=value))
    answers[current.id or 0] = value
    following = next_question(questions, answers)
    if following is None:
        response.completed_at = _day(now, tz) if survey.anonima else now
        session.add(response)
    try:
        await session.commit()
    except IntegrityError:  # the same answer raced in from a double tap
        await session.rollback()
        return Recorded("stale", await position(session, survey=survey, chat_id=chat_id))
    return Recorded("ok", Position(survey, response, following, len(questions)), current, value)


def _chosen(question: SurveyQuestion, chosen: list[int]) -> list[int]:
    """Return valid ticks of a multiple-choice question (sorted), or refuse them."""
    options = list(question.options or [])
    ticked = sorted(set(chosen))
    if any(not isinstance(i, int) or not 0 <= i < len(options) for i in ticked):
        raise AnswerRefused("Esa opción no existe.")
    limit = question.max_choices or len(options)
    if len(ticked) > limit:
        raise AnswerRefused(f"Puede marcar hasta {limit} opciones.")
    return ticked


async def save_ticks(
    session: AsyncSession, *, survey: Survey, chat_id: int, position_number: int,
    chosen: list[int], now: datetime | None = None,
) -> str:
    """Keep the options ticked so far in the current multiple-choice question (a draft).

    Returns `ok`, `closed`, `not_started` or `stale` (question `position_number` is not the
    current one, or not multiple choice). Raises `AnswerRefused` for options that do not
    exist or too many; changes nothing then. An empty selection is kept too (all unticked).
    """
    if not is_open(survey, now or utcnow()):
        return "closed"
    response = await find_response(session, survey=survey, chat_id=chat_id)
    if response is None:
        return "not_started"
    if response.completed_at is not None:
        return "stale"
    survey_id, response_id = survey.id or 0, response.id or 0
    for attempt in (1, 2):
        questions = await questions_of(session, survey_id=survey_id)
        rows = await _answer_rows(session, response_id=response_id)
        current = next_question(questions, _final(rows))
        if current is None or current.position != position_number or current.kind != "multiple":
            return "stale"
        value = {DRAFT: _chosen(current, chosen)}
        draft = next((r for r in rows if r.question_id == current.id), None)
        if draft is not None:
            draft.value = value
            session.add(draft)
        else:
            session.add(SurveyAnswer(response_id=response_id, question_id=current.id or 0,
                                     value=value))
        try:
            await session.commit()
        except IntegrityError:  # another instance stored a draft at the same moment
            await session.rollback()
            if attempt == 2:
                raise
            continue
        break
    return "ok"


# --- results and export -----------------------------------------------------------


async def _completed_answers(
    session: AsyncSession, survey_id: int
) -> list[tuple[int, int, Any]]:
    rows = (await session.exec(
        select(SurveyAnswer.response_id, SurveyAnswer.question_id, SurveyAnswer.value)
        .join(SurveyResponse, col(SurveyResponse.id) == col(SurveyAnswer.response_id))
        .where(SurveyResponse.survey_id == survey_id,
               col(SurveyResponse.completed_at).is_not(None))
    )).all()
    return [(r, q, v) for r, q, v in rows if not is_draft(v)]


async def response_counts(session: AsyncSession, *, survey_id: int) -> tuple[int, int]:
    """Return (completed, in progress) responses of a survey."""
    rows = (await session.exec(
        select(col(SurveyResponse.completed_at).is_not(None), func.count())
        .where(SurveyResponse.survey_id == survey_id)
        .group_by(col(SurveyResponse.completed_at).is_not(None))
    )).all()
    counts = {bool(done): int(n) for done, n in rows}
    return counts.get(True, 0), counts.get(False, 0)


async def survey_results(session: AsyncSession, *, survey: Survey) -> SurveyResults:
    """Return counts and percentages per question over completed responses."""
    questions = await questions_of(session, survey_id=survey.id or 0)
    per_question: dict[int, list[Any]] = {q.id or 0: [] for q in questions}
    for _, question_id, value in await _completed_answers(session, survey.id or 0):
        per_question.setdefault(question_id, []).append(value)
    completed, in_progress = await response_counts(session, survey_id=survey.id or 0)
    results = []
    for question in questions:
        values = per_question.get(question.id or 0, [])
        tally: Counter[str] = Counter()
        average = None
        if question.kind == "unica":
            tally.update(str(v) for v in values)
            labels = list(question.options or [])
        elif question.kind == "multiple":
            for chosen in values:
                tally.update(str(v) for v in chosen or [])
            labels = list(question.options or [])
        elif question.kind == "escala":
            tally.update(str(v) for v in values)
            labels = [str(v) for v in SCALE]
            numbers = [int(v) for v in values]
            average = sum(numbers) / len(numbers) if numbers else None
        else:
            labels = []
        counts = [(label, tally.get(label, 0)) for label in labels]
        results.append(QuestionResult(question, len(values), counts, average))
    return SurveyResults(survey, completed, in_progress, results)


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return MULTI_SEPARATOR.join(str(v) for v in value)
    return value


async def export_rows(
    session: AsyncSession, *, survey: Survey, tz: ZoneInfo
) -> tuple[list[str], list[list[Any]]]:
    """Return a header and one row per response (one column per question), oldest first.

    Anonymous surveys get no chat column and dates only; multiple choices are joined
    with "; "; unanswered (skipped or pending) questions are empty.
    """
    questions = await questions_of(session, survey_id=survey.id or 0)
    responses = (await session.exec(
        select(SurveyResponse).where(SurveyResponse.survey_id == survey.id)
        .order_by(col(SurveyResponse.id))
    )).all()
    comunas = {c.id: c.codigo for c in (await session.exec(select(Comuna))).all()}
    answers: dict[int, dict[int, Any]] = {}
    for response_id, question_id, value in (await session.exec(
        select(SurveyAnswer.response_id, SurveyAnswer.question_id, SurveyAnswer.value)
        .join(SurveyResponse, col(SurveyResponse.id) == col(SurveyAnswer.response_id))
        .where(SurveyResponse.survey_id == survey.id)
    )).all():
        if not is_draft(value):
            answers.setdefault(response_id, {})[question_id] = value
    header = ["respuesta", "estado", "inicio", "fin"]
    if not survey.anonima:
        header.append("chat_id")
    header.append("comuna")
    header += [f"P{q.position}. {column_title(q.text)}" for q in questions]
    def when(moment: datetime | None) -> str:
        if moment is None:
            return ""
        if survey.anonima:
            return _shown_day(moment, tz)
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    rows: list[list[Any]] = []
    for r in responses:
        row: list[Any] = [
            r.id, "completa" if r.completed_at else "en curso",
            when(r.started_at), when(r.completed_at),
        ]
        if not survey.anonima:
            row.append(r.chat_id)
        row.append(comunas.get(r.comuna_id, "") if r.comuna_id else "")
        given = answers.get(r.id or 0, {})
        row += [_cell(given.get(q.id or 0)) for q in questions]
        rows.append(row)
    return header, rows


async def surveys_with_counts(session: AsyncSession) -> list[tuple[Survey, int, int]]:
    """Return every survey with its completed and in-progress response counts, newest first."""
    surveys = (await session.exec(select(Survey).order_by(col(Survey.id).desc()))).all()
    result = []
    for survey in surveys:
        completed, in_progress = await response_counts(session, survey_id=survey.id or 0)
        result.append((survey, completed, in_progress))
    return result


def export_xlsx(header: list[str], rows: list[list[Any]], *, title: str) -> bytes:
    """Return the export as an XLSX workbook; text that looks like a formula stays text."""
    book = Workbook(write_only=True)
    sheet = book.create_sheet(title[:31] or "encuesta")
    sheet.append([safe_cell(h) for h in header])
    for row in rows:
        sheet.append([v if isinstance(v, int | float) and not isinstance(v, bool)
                      else safe_cell(v) for v in row])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def opened_between(
    session: AsyncSession, *, since: datetime, until: datetime
) -> list[Survey]:
    """Return surveys that opened (or, with no opening date, were created) in (since, until]."""
    opened = func.coalesce(Survey.abre, Survey.created_at)
    query = select(Survey).where(opened > since, opened <= until).order_by(col(Survey.id))
    return [s for s in (await session.exec(query)).all() if is_open(s, until)]
