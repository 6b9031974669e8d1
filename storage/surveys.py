"""Surveys: their definitions, who may answer which, and the list a person sees.

Answering them — a person's response, where they are in it, recording answers and the
ticks of a multiple choice — is `storage.survey_answers`; the totals and the export are
`storage.survey_results`.

One response per person and survey is enforced by the database (UNIQUE(survey_id,
respondent_key)). `respondent_key` is HMAC-SHA256(secret, "survey id:chat id") with the
installation's secret (`storage.pseudonyms`). Anonymous surveys keep `chat_id` NULL, so the
stored answers carry no id — yet the same person finds their response again to resume it,
and cannot answer twice. Named surveys also keep the chat id, until the person deletes their
data: the key stays, so a completed survey stays answered and is counted once. Anonymous
responses also keep their times only to the day, so they cannot be matched against message
times.

Comuna targeting: a survey without a comuna is for everyone. A survey for one comuna is
offered to people whose comuna is known to be that one (their comuna on record, or a comuna
they follow in /alertas) and to people whose comuna is unknown; it is not offered to people
known to be from other comunas.
"""


from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, union
from sqlalchemy import select as sa_select
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lean
from storage.db import dialect_of, with_lists
from storage.events import all_events
from storage.models import (
    Citizen,
    Comuna,
    Event,
    Subscription,
    Survey,
    SurveyQuestion,
    SurveyResponse,
)
from storage.pseudonyms import pseudonym
from storage.snapshot import held, rows_of
from storage.types import utcnow


@dataclass(frozen=True)
class SurveyStatus:
    """A survey as one person sees it: `nueva`, `en_curso` or `respondida`."""

    survey: Survey
    state: str
    questions: int


async def respondent_key(session: AsyncSession, *, survey: Survey, chat_id: int) -> str:
    """Return the key that identifies this person's response to this survey."""
    return await pseudonym(session, scope=str(survey.id), chat_id=chat_id)


# --- surveys and eligibility ------------------------------------------------------


@dataclass(frozen=True)
class Definitions:
    """Every survey and its questions in order, as the snapshot holds them (read only)."""

    surveys: dict[int, Survey]
    questions: dict[int, tuple[SurveyQuestion, ...]]


async def _read_definitions(session: AsyncSession) -> Definitions:
    surveys = {s.id or 0: s for s in await rows_of(session, Survey, col(Survey.id))}
    questions: dict[int, list[SurveyQuestion]] = {i: [] for i in surveys}
    order = (col(SurveyQuestion.survey_id), col(SurveyQuestion.position))
    for question in await rows_of(session, SurveyQuestion, *order):
        questions.setdefault(question.survey_id, []).append(question)
    return Definitions(surveys, {i: tuple(qs) for i, qs in questions.items()})


async def definitions(session: AsyncSession) -> Definitions:
    """Return the survey definitions from the snapshot (`storage.snapshot`)."""
    return await held(session, _read_definitions, ("survey", "surveyquestion"))


async def survey_by_id(session: AsyncSession, survey_id: int) -> Survey | None:
    """Return the survey with this id, if any (not to be changed: staff edits read afresh)."""
    return (await definitions(session)).surveys.get(survey_id)


async def survey_by_slug(session: AsyncSession, slug: str) -> Survey | None:
    """Return the survey with this slug, if any."""
    return (await session.exec(select(Survey).where(Survey.slug == slug.strip().lower()))).first()


def is_open(survey: Survey, now: datetime | None = None) -> bool:
    """Tell whether the survey takes answers now."""
    now = now or utcnow()
    return (survey.abre is None or survey.abre <= now) and (
        survey.cierra is None or now < survey.cierra
    )


_KNOWN_COMUNAS = union(
    sa_select(col(Citizen.comuna_id)).where(col(Citizen.telegram_id) == bindparam("person")),
    sa_select(col(Comuna.id))
    .join(Subscription, col(Subscription.value) == col(Comuna.codigo))
    .where(col(Subscription.chat_id) == bindparam("chat"), col(Subscription.kind) == "comuna"),
)


async def known_comunas(session: AsyncSession, *, telegram_id: int, chat_id: int) -> set[int]:
    """Return the ids of the comunas the person is known to belong to or follow."""
    params = {"person": telegram_id, "chat": chat_id}
    found = await lean.rows(session, _KNOWN_COMUNAS, params)  # both in one round trip
    return {i for (i,) in found if i is not None}


def reaches(survey: Survey, comunas: set[int]) -> bool:
    """Tell whether a survey is for a person with these known comunas (see module doc)."""
    return survey.comuna_id is None or not comunas or survey.comuna_id in comunas


async def questions_of(session: AsyncSession, *, survey_id: int) -> list[SurveyQuestion]:
    """Return a survey's questions in order."""
    return list((await definitions(session)).questions.get(survey_id, ()))


async def event_to_wait_for(
    session: AsyncSession, *, survey: Survey, now: datetime | None = None
) -> Event | None:
    """Return the event a survey evaluates if none of the events it evaluates has ended yet.

    An evaluation survey (an event's `encuesta`) is offered once its event is over: nobody
    evaluates a hearing that has not happened. Surveys no event names return None.
    """
    now = now or utcnow()
    events = [e for e in await all_events(session) if e.encuesta == survey.slug]
    if not events or any(_over(e.inicio, e.fin, now) for e in events):
        return None
    return events[0]


def _over(start: datetime, end: datetime | None, now: datetime) -> bool:
    return (end or start) <= now


async def _waiting_for_events(session: AsyncSession, *, now: datetime) -> set[str]:
    """Return the slugs of evaluation surveys none of whose events has ended (one query)."""
    rows = [e for e in await all_events(session) if e.encuesta]
    named = {e.encuesta for e in rows if e.encuesta}
    ended = {e.encuesta for e in rows if e.encuesta and _over(e.inicio, e.fin, now)}
    return named - ended


_RESPONSES = SurveyResponse.__table__  # type: ignore[attr-defined]
# How far the person got in each survey of a list, in one round trip (`surveys_for`).
_STATES = with_lists(lambda one_of: sa_select(
    _RESPONSES.c.survey_id, _RESPONSES.c.respondent_key, _RESPONSES.c.completed_at,
).where(one_of(_RESPONSES.c.survey_id, "surveys"), one_of(_RESPONSES.c.respondent_key, "keys")))


async def surveys_for(
    session: AsyncSession, *, telegram_id: int, chat_id: int, now: datetime | None = None
) -> list[SurveyStatus]:
    """Return the open surveys offered to this person, with how far they got in each."""
    now = now or utcnow()
    comunas = await known_comunas(session, telegram_id=telegram_id, chat_id=chat_id)
    waiting = await _waiting_for_events(session, now=now)
    book = await definitions(session)
    surveys = [s for s in book.surveys.values()
               if is_open(s, now) and reaches(s, comunas) and s.slug not in waiting]
    keys = {survey.id or 0: await respondent_key(session, survey=survey, chat_id=chat_id)
            for survey in surveys}
    done = {(row[0], row[1]): row[2] is not None for row in await lean.rows(
        session, _STATES[dialect_of(session)],
        {"surveys": list(keys), "keys": list(set(keys.values()))})} if keys else {}
    result = []
    for survey in surveys:
        completed = done.get((survey.id or 0, keys[survey.id or 0]))
        state = "nueva" if completed is None else ("respondida" if completed else "en_curso")
        result.append(SurveyStatus(survey, state, len(book.questions.get(survey.id or 0, ()))))
    return result


async def yet_to_answer(
    session: AsyncSession, *, survey: Survey, chat_ids: list[int]
) -> list[int]:
    """Return the chats, of these, that have not completed the survey (those to invite)."""
    keys = {await respondent_key(session, survey=survey, chat_id=c): c for c in chat_ids}
    answered = set((await session.exec(
        select(SurveyResponse.respondent_key).where(
            SurveyResponse.survey_id == survey.id,
            col(SurveyResponse.completed_at).is_not(None),
            col(SurveyResponse.respondent_key).in_(list(keys)),
        )
    )).all()) if keys else set()
    return [chat for key, chat in keys.items() if key not in answered]


async def followers_reached(session: AsyncSession, *, survey: Survey) -> list[int]:
    """Return the chats following the «encuestas» topic that the survey is for, sorted.

    Comuna targeting follows the same rule as the list (see the module doc).
    """
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
    return sorted(followers)


async def opened_between(
    session: AsyncSession, *, since: datetime, until: datetime
) -> list[Survey]:
    """Return surveys that opened (or, with no opening date, were created) in (since, until]."""
    opened = func.coalesce(Survey.abre, Survey.created_at)
    query = select(Survey).where(opened > since, opened <= until).order_by(col(Survey.id))
    return [s for s in (await session.exec(query)).all() if is_open(s, until)]
