"""Personal data (Ley 1581 de 2012): consent, what is kept about a person, and deleting it.

Deleting erases the chat id everywhere. What stays so that a deletion cannot be used to
vote or answer twice is a keyed pseudonym (HMAC-SHA256 of the chat id with the
installation's secret, `storage.pseudonyms.pseudonym`), written with each ballot, question
and survey response when it is made: it cannot be turned back into a chat id without the
secret, and it only lets the same person, if they come back, find that they already voted
(their new ballot replaces the old one), already answered a survey, or already asked their
daily questions (kept on questions for 24 hours only).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, bindparam, func, update
from sqlalchemy import select as sa_select
from sqlmodel import col, delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lean
from storage.audit import add_entry
from storage.models import (
    Citizen,
    CitizenQuestion,
    Comuna,
    ConversationState,
    PBPhone,
    PBVote,
    QuestionSupport,
    Registration,
    Subscription,
    Survey,
    SurveyAnswer,
    SurveyResponse,
)
from storage.outbox import OUTBOX, PENDING
from storage.participation import count_ballots, forget_voter
from storage.pseudonyms import keyed_hash, pseudonym, survey_secret
from storage.questions import forget_asker, supports_kept
from storage.types import utcnow

# The chat id left on outbox rows of a person who deleted their data (Telegram has no chat 0).
ERASED_CHAT = 0


@dataclass(frozen=True)
class PersonalData:
    """Everything the bot keeps that is linked to one person."""

    telegram_id: int
    role: str
    first_name: str | None
    comuna: str | None
    consent_at: datetime | None
    created_at: datetime
    subscriptions: list[tuple[str, str]]
    registrations: int
    registrations_cancelled: int  # kept (the event's history), but no longer a place
    questions: int
    survey_responses: int
    ballots: int


async def give_consent(session: AsyncSession, *, telegram_id: int, chat_id: int) -> Citizen:
    """Record the person's consent (with time) and return their row."""
    citizen = (
        await session.exec(select(Citizen).where(Citizen.telegram_id == telegram_id))
    ).first()
    now = utcnow()
    if citizen is None:
        citizen = Citizen(telegram_id=telegram_id, chat_id=chat_id, created_at=now,
                          last_seen_at=now)
    if citizen.consent_at is None:
        # The consent record is this timestamp; it goes away with the person's data.
        citizen.consent_at = now
    session.add(citizen)
    await session.flush()
    return citizen


_CITIZENS: Table = Citizen.__table__  # type: ignore[attr-defined]
_CONSENT = sa_select(_CITIZENS.c.consent_at).where(  # built once (`storage.lean`)
    _CITIZENS.c.telegram_id == bindparam("person"))


async def has_consent(session: AsyncSession, *, telegram_id: int) -> bool:
    """Tell whether the person has accepted the personal-data notice."""
    found = await lean.rows(session, _CONSENT, {"person": telegram_id})
    return bool(found) and found[0][0] is not None


async def _count(session: AsyncSession, query: object) -> int:
    return int((await session.exec(query)).one())  # type: ignore[call-overload]


async def personal_data(session: AsyncSession, *, telegram_id: int) -> PersonalData | None:
    """Return what is kept about the person, or None if nothing is."""
    citizen = (
        await session.exec(select(Citizen).where(Citizen.telegram_id == telegram_id))
    ).first()
    if citizen is None:
        return None
    chat = citizen.chat_id
    comuna = None
    if citizen.comuna_id is not None:
        row = await session.get(Comuna, citizen.comuna_id)
        comuna = f"{row.codigo} - {row.nombre}" if row else None
    subs = (
        await session.exec(
            select(Subscription.kind, Subscription.value)
            .where(Subscription.chat_id == chat)
            .order_by(col(Subscription.kind), col(Subscription.value))
        )
    ).all()
    return PersonalData(
        telegram_id=citizen.telegram_id,
        role=citizen.role,
        first_name=citizen.first_name,
        comuna=comuna,
        consent_at=citizen.consent_at,
        created_at=citizen.created_at,
        subscriptions=[(k, v) for k, v in subs],
        registrations=await _count(
            session, select(func.count()).where(Registration.chat_id == chat)
        ),
        registrations_cancelled=await _count(
            session, select(func.count()).where(Registration.chat_id == chat,
                                                Registration.status == "cancelado")
        ),
        questions=await _count(
            session, select(func.count()).where(CitizenQuestion.chat_id == chat)
        ),
        survey_responses=await _count(
            session, select(func.count()).where(SurveyResponse.chat_id == chat)
        ),
        ballots=await count_ballots(session, chat_id=chat),
    )


@dataclass(frozen=True)
class KeptMarks:
    """Survey responses, ballots and question supports with no chat id that carry the
    person's pseudonym, and the rondas where a phone number was verified (`PBPhone`)."""

    survey_responses: int
    ballots: int
    question_supports: int = 0
    verified_phones: int = 0


async def kept_marks(session: AsyncSession, *, chat_id: int) -> KeptMarks:
    """Count the responses and ballots kept under the person's keyed pseudonym only.

    They are what `/borrar_datos` leaves (and every anonymous response): the person's
    answers and votes with no link to the chat, marked so they are not counted twice.
    """
    unlinked_responses = select(SurveyResponse.id).where(col(SurveyResponse.chat_id).is_(None))
    unlinked_ballots = select(PBVote.id).where(col(PBVote.chat_id).is_(None))
    supports = select(QuestionSupport.question_id)  # never linked to a chat
    phones = select(PBPhone.id)  # never linked to a chat either
    if ((await session.exec(unlinked_responses.limit(1))).first() is None
            and (await session.exec(unlinked_ballots.limit(1))).first() is None
            and (await session.exec(supports.limit(1))).first() is None
            and (await session.exec(phones.limit(1))).first() is None):
        return KeptMarks(0, 0)  # nothing to look for (and no key to create)
    secret = await survey_secret(session)
    survey_ids = (await session.exec(select(Survey.id))).all()
    response_keys = [keyed_hash(secret, str(sid), chat_id) for sid in survey_ids]
    rondas = (await session.exec(select(PBVote.ronda).distinct())).all()
    ballot_keys = [keyed_hash(secret, f"pp:{ronda}", chat_id) for ronda in rondas]
    responses = await _count(session, select(func.count()).where(
        col(SurveyResponse.chat_id).is_(None),
        col(SurveyResponse.respondent_key).in_(response_keys),
    )) if response_keys else 0
    ballots = await _count(session, select(func.count()).where(
        col(PBVote.chat_id).is_(None), col(PBVote.voter_key).in_(ballot_keys),
    )) if ballot_keys else 0
    # A verified number is kept as its ronda's ballot pseudonym beside the number's hash.
    phone_rondas = (await session.exec(select(PBPhone.ronda).distinct())).all()
    phone_keys = [keyed_hash(secret, f"pp:{ronda}", chat_id) for ronda in phone_rondas]
    verified = await _count(session, select(func.count()).where(
        col(PBPhone.voter_key).in_(phone_keys),
    )) if phone_keys else 0
    return KeptMarks(responses, ballots, await supports_kept(session, chat_id=chat_id),
                     verified)


async def delete_personal_data(session: AsyncSession, *, telegram_id: int) -> bool:
    """Delete or anonymise everything linked to the person; return whether anything was kept.

    Completed survey answers, questions and ballots stay (so totals and the public record stay
    right) but lose every link to the chat; they keep only their keyed pseudonym (see the
    module doc). A named survey left halfway is deleted with its answers. The deletion itself
    is logged without the person's id.
    """
    await survey_secret(session)  # created now, if needed, so the rest is one transaction
    citizen = (
        await session.exec(select(Citizen).where(Citizen.telegram_id == telegram_id))
    ).first()
    chat_ids = {telegram_id} | ({citizen.chat_id} if citizen else set())
    for chat in chat_ids:
        await session.exec(delete(Subscription).where(col(Subscription.chat_id) == chat))
        await session.exec(delete(Registration).where(col(Registration.chat_id) == chat))
        await session.exec(
            delete(ConversationState).where(col(ConversationState.chat_id) == chat)
        )
        await forget_asker(session, chat_id=chat)
        responses = (
            await session.exec(select(SurveyResponse).where(SurveyResponse.chat_id == chat))
        ).all()
        for response in responses:
            if response.completed_at is None:
                await session.exec(
                    delete(SurveyAnswer).where(col(SurveyAnswer.response_id) == response.id)
                )
                await session.delete(response)
                continue
            # The key (the pseudonym, also for rows from before it) keeps it answered once.
            response.chat_id = None
            response.respondent_key = await pseudonym(
                session, scope=str(response.survey_id), chat_id=chat
            )
            session.add(response)
        await forget_voter(session, chat_id=chat)
        await _forget_outbox(session, chat_id=chat)
    if citizen is not None:
        await session.delete(citizen)
    add_entry(session, actor_id=None, action="borrado_datos", detail={})
    await session.flush()
    return citizen is not None


async def _forget_outbox(session: AsyncSession, *, chat_id: int) -> None:
    """Withdraw the chat's queued messages; strip the chat id and text from the others.

    Rows already handed to Telegram (or settled) keep their status, so broadcast reports
    still count them; their payload (which may quote the person's question) is emptied and
    their chat id becomes ERASED_CHAT. A dedupe key ends in the chat id; that end becomes
    the row's own id, so the key stays unique and `outbox.queued_before` still sees it.
    """
    conn = await session.connection()
    c = OUTBOX.c
    await conn.execute(OUTBOX.delete().where(c.chat_id == chat_id, c.status == PENDING))
    rows = (await conn.execute(select(c.id, c.dedupe_key).where(c.chat_id == chat_id))).all()
    if not rows:
        return
    suffix = f":{chat_id}"
    params = []
    for row_id, key in rows:
        if key is not None and key.endswith(suffix):
            own = f":borrado{row_id}"
            key = key[: -len(suffix)][: 200 - len(own)] + own
        params.append({"rid": row_id, "new_key": key})
    await conn.execute(
        update(OUTBOX)
        .where(c.id == bindparam("rid"))
        .values(chat_id=ERASED_CHAT, payload={}, dedupe_key=bindparam("new_key")),
        params,
    )
