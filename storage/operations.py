"""How the installation is doing, for the people who run it: `/estado` and `cabildo estado`.

Read-only and cheap (a handful of aggregate queries), so staff can ask any time: the
outbox (what waits, what went out or failed in the last day, and why), when each scheduled
job last ran and on which instance, who can be reached, and the questions waiting for an
answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Citizen, CitizenQuestion, JobRun, OutboxMessage, Subscription
from storage.outbox import (
    BLOCKED,
    FAILED,
    IS_PENDING,
    IS_SENDING,
    IS_UNCERTAIN,
    PENDING,
    SENDING,
    SENT,
    UNCERTAIN,
)

DAY = timedelta(days=1)
DRAIN_LATE = timedelta(minutes=1)  # a sender hands a message over every 1/rate seconds
TOP_ERRORS = 3


@dataclass(frozen=True)
class JobLastRun:
    """The newest claimed run of one scheduled job."""

    job: str
    period: str
    at: datetime
    by: str


@dataclass(frozen=True)
class OperationalState:
    """A snapshot of the installation's health, as of `now`."""

    now: datetime
    waiting: int  # outbox rows due now or later, not yet sent
    oldest_due: datetime | None  # when the oldest row that is already due became due
    sending: int
    stuck: int  # `enviando` past their lease: their sender is gone and the sweep has not run
    last_handed: datetime | None  # when a sender last handed a message to Telegram
    sent_day: int
    failed_day: int
    blocked_day: int
    uncertain_day: int  # `incierto`: may have arrived, not resent
    errors_day: list[tuple[str, int]]  # the commonest failure reasons of the last day
    jobs: list[JobLastRun]
    people: int
    consented: int
    unreachable: int
    leaders: int
    staff_ids: frozenset[int]  # people whose role in the table is staff or admin (ADMIN_IDS
    # may name more)
    linked_groups: int
    questions_waiting: int
    oldest_question: datetime | None


def not_draining(state: OperationalState, *, after: timedelta = DRAIN_LATE) -> bool:
    """Tell whether messages are due and no sender has handed one over for `after`."""
    if state.oldest_due is None or state.now - state.oldest_due <= after:
        return False
    return state.last_handed is None or state.now - state.last_handed > after


async def _scalar(session: AsyncSession, query: object) -> int:
    return int((await session.exec(query)).one() or 0)  # type: ignore[call-overload]


async def operational_state(session: AsyncSession, *, now: datetime) -> OperationalState:
    """Return the installation's state as of `now` (UTC)."""
    out = OutboxMessage
    since = now - DAY
    by_status = dict(
        (await session.exec(
            select(out.status, func.count()).group_by(col(out.status))
        )).all()
    )
    oldest_due = (await session.exec(
        select(func.min(out.not_before)).where(IS_PENDING, out.not_before <= now)
    )).one()
    recent = dict(
        (await session.exec(
            select(out.status, func.count())
            .where(col(out.status).in_([FAILED, BLOCKED, UNCERTAIN]),
                   col(out.claimed_at) >= since)
            .group_by(col(out.status))
        )).all()
    )
    stuck = await _scalar(session, select(func.count()).where(
        IS_SENDING,
        (col(out.lease_until).is_(None)) | (col(out.lease_until) < now),
    ))
    last_handed = (await session.exec(
        select(func.max(out.claimed_at)).where(out.status != PENDING)
    )).one()
    sent_day = await _scalar(
        session, select(func.count()).where(out.status == SENT, col(out.sent_at) >= since)
    )
    errors = (await session.exec(
        select(out.last_error, func.count())
        .where(out.status == FAILED, col(out.claimed_at) >= since)
        .group_by(col(out.last_error))
        .order_by(func.count().desc(), col(out.last_error))
        .limit(TOP_ERRORS)
    )).all()
    newest = (
        select(JobRun.job, func.max(JobRun.claimed_at).label("at"))
        .group_by(col(JobRun.job))
        .subquery()
    )
    jobs = (await session.exec(
        select(JobRun.job, JobRun.period_key, JobRun.claimed_at, JobRun.claimed_by)
        .join(newest, (col(JobRun.job) == newest.c.job) & (col(JobRun.claimed_at) == newest.c.at))
        .order_by(col(JobRun.job))
    )).all()
    people = (await session.exec(
        select(
            func.count(),
            func.count(col(Citizen.consent_at)),
            func.count(col(Citizen.blocked_at)),
        ).where(Citizen.chat_id > 0)
    )).one()
    roles = dict(
        (await session.exec(
            select(Citizen.role, func.count()).where(Citizen.chat_id > 0)
            .group_by(col(Citizen.role))
        )).all()
    )
    staff_ids = frozenset((await session.exec(
        select(Citizen.telegram_id).where(col(Citizen.role).in_(["staff", "admin"]))
    )).all())
    groups = await _scalar(
        session,
        select(func.count(func.distinct(Subscription.chat_id))).where(Subscription.chat_id < 0),
    )
    questions = (await session.exec(
        select(func.count(), func.min(CitizenQuestion.created_at))
        .where(CitizenQuestion.status == "pendiente")
    )).one()
    seen: set[str] = set()
    last_runs = []
    for job, period, at, by in jobs:
        if job not in seen:  # two claims in the same instant: keep one
            seen.add(job)
            last_runs.append(JobLastRun(job, period, at, by))
    return OperationalState(
        now=now,
        waiting=int(by_status.get(PENDING, 0)),
        oldest_due=oldest_due,
        sending=int(by_status.get(SENDING, 0)),
        stuck=stuck,
        last_handed=last_handed,
        sent_day=sent_day,
        failed_day=int(recent.get(FAILED, 0)),
        blocked_day=int(recent.get(BLOCKED, 0)),
        uncertain_day=int(recent.get(UNCERTAIN, 0)),
        errors_day=[(str(error or "sin detalle"), int(count)) for error, count in errors],
        jobs=last_runs,
        people=int(people[0]),
        consented=int(people[1]),
        unreachable=int(people[2]),
        leaders=int(roles.get("lider", 0)),
        staff_ids=staff_ids,
        linked_groups=groups,
        questions_waiting=int(questions[0]),
        oldest_question=questions[1],
    )


@dataclass(frozen=True)
class OutboxHealth:
    """What `/healthz` says about the outbox: cheap enough to ask every few seconds."""

    pending: int
    stuck: int
    uncertain_day: int
    stalled: bool  # messages due for over a minute and none handed over in that minute


async def outbox_health(session: AsyncSession, *, now: datetime) -> OutboxHealth:
    """Return the outbox's health as of `now` (UTC)."""
    out = OutboxMessage
    pending, oldest_due = (await session.exec(
        select(func.count(), func.min(out.not_before)).where(IS_PENDING)
    )).one()
    stuck = await _scalar(session, select(func.count()).where(
        IS_SENDING,
        (col(out.lease_until).is_(None)) | (col(out.lease_until) < now),
    ))
    uncertain = await _scalar(session, select(func.count()).where(
        IS_UNCERTAIN, col(out.claimed_at) >= now - DAY
    ))
    stalled = False
    if oldest_due is not None and now - oldest_due > DRAIN_LATE:
        last_handed = (await session.exec(
            select(func.max(out.claimed_at)).where(out.status != PENDING)
        )).one()
        stalled = last_handed is None or now - last_handed > DRAIN_LATE
    return OutboxHealth(int(pending), stuck, uncertain, stalled)
