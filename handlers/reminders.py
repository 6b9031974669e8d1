"""Event announcements and reminders, and staff reminders of accountability-plan deadlines.

`sweep` runs every minute from the scheduler. It announces new events (from the announcement
time staff set, if any) to subscribers of the event's comuna and of the topic "eventos",
announces a changed date or place again to everyone already told (and to registrants),
reminds registrants and comuna subscribers 24 h and 1 h before, gives places freed or added
to people on the waiting list, sends the evaluation survey to registrants when an event
ends, announces new surveys to followers of «encuestas» and participatory-budget rounds to
their comuna (opening, then results), and reminds staff of plan deadlines one week ahead.
All of it is derived from the tables, with outbox dedupe keys, so restarts neither lose nor
repeat anything.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from html import escape

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.formatting import local_date, local_datetime
from handlers.events import notify_promoted
from handlers.participation import announce_rounds
from storage import outbox
from storage.db import Database
from storage.events import fill_freed_places
from storage.models import Event
from storage.reminders import (
    already_told,
    deadlines_between,
    evaluation_survey,
    event_audience,
    recently_ended,
    registrants,
    signature,
    upcoming_events,
)
from storage.roles import staff_ids
from storage.surveys import announce, opened_between

log = logging.getLogger(__name__)

HORIZON = timedelta(days=60)
# A survey that opened within this window is announced to followers of «encuestas».
NEW_SURVEY_WINDOW = timedelta(days=1)
MIN_WINDOW = timedelta(minutes=15)
REMINDERS = ((timedelta(hours=24), "r24", "mañana"), (timedelta(hours=1), "r1", "en una hora"))
NEW_EVENT = "📅 <b>Nuevo evento</b>: {title}\n{when}\n📍 {place}\nVea la agenda: /agenda"
CHANGED = "⚠️ <b>Cambio en el evento</b> {title}\nAhora: {when}\n📍 {place}"
REMINDER = "⏰ <b>Recordatorio</b>: {title} es {words}.\n{when}\n📍 {place}"
EVALUATION = (
    "🙏 Gracias por inscribirse en <b>{title}</b>. ¿Nos ayuda a mejorar? Responda la "
    "encuesta «{survey}»: toma unos minutos."
)
DEADLINE = (
    "🗓️ <b>Plan de rendición de cuentas</b>: la actividad {code} vence el {day}.\n{text}\n"
    "Responsable: {who}"
)


def _event_text(template: str, event: Event, settings: Settings, **extra: str) -> str:
    return template.format(
        title=escape(event.titulo),
        when=local_datetime(event.inicio, settings.tz, settings.locale),
        place=escape(event.lugar),
        **extra,
    )


async def sweep(db: Database, settings: Settings, now: datetime) -> int:
    """Queue every announcement and reminder that is due at `now`; return how many."""
    queued = 0
    window = max(timedelta(hours=settings.schedule_grace_hours), MIN_WINDOW)
    async with db.session() as session:
        for event in await upcoming_events(session, now=now, horizon=HORIZON):
            base = f"evento:{event.id}:"
            key = f"{base}{signature(event)}"
            told_before = await already_told(session, prefix=base)
            told_now = await already_told(session, prefix=f"{key}:anuncio")
            if not told_before:
                if event.anunciar_desde is None or event.anunciar_desde <= now:
                    queued += await outbox.enqueue(
                        session, chat_ids=await event_audience(session, event), kind="anuncio",
                        payload={"text": _event_text(NEW_EVENT, event, settings)},
                        dedupe=f"{key}:anuncio",
                    )
            elif not told_now:
                chats = set(told_before) | set(await registrants(session, event))
                queued += await outbox.enqueue(
                    session, chat_ids=sorted(chats), kind="anuncio",
                    payload={"text": _event_text(CHANGED, event, settings)},
                    dedupe=f"{key}:anuncio",
                )
            for lead, tag, words in REMINDERS:
                due = event.inicio - lead
                if due > now:
                    continue
                if now - due > window:
                    log.info("reminder %s of event %s skipped: %s late", tag, event.id, now - due)
                    continue
                chats = set(await registrants(session, event))
                chats |= set(await event_audience(session, event))
                queued += await outbox.enqueue(
                    session, chat_ids=sorted(chats), kind="recordatorio",
                    payload={"text": _event_text(REMINDER, event, settings, words=words)},
                    dedupe=f"{key}:{tag}",
                )
            if event.capacidad is not None:
                moved = await fill_freed_places(session, event=event)
                if moved:
                    queued += await notify_promoted(db, settings, event, moved)
        queued += await _evaluations(session, settings, now - window, now)
        for survey in await opened_between(session, since=now - NEW_SURVEY_WINDOW, until=now):
            # Once announced, later sweeps skip the per-follower work.
            if not await outbox.queued_before(session, dedupe=f"encuesta-nueva:{survey.slug}"):
                queued += await announce(session, survey=survey)
        queued += await _plan_deadlines(session, settings, now)
    queued += await announce_rounds(db, settings, now)
    return queued


async def _evaluations(
    session: AsyncSession, settings: Settings, since: datetime, now: datetime
) -> int:
    """Send the evaluation survey to the registrants of events that just ended."""
    queued = 0
    for event in await recently_ended(session, since=since, until=now):
        survey = await evaluation_survey(session, event)
        if survey is None or await outbox.queued_before(session, dedupe=f"evaluacion:{event.id}"):
            continue
        chats = await registrants(session, event)
        if not chats:
            continue
        text = EVALUATION.format(title=escape(event.titulo), survey=escape(survey.titulo))
        markup = {"inline_keyboard": [[{"text": "📝 Responder la encuesta",
                                        "callback_data": f"enc:o:{survey.slug}"}]]}
        queued += await outbox.enqueue(
            session, chat_ids=chats, kind="evaluacion",
            payload={"text": text, "reply_markup": markup},
            dedupe=f"evaluacion:{event.id}",
        )
    return queued


async def _plan_deadlines(session: AsyncSession, settings: Settings, now: datetime) -> int:
    today = now.astimezone(settings.tz).date()
    due = await deadlines_between(session, start=today, end=today + timedelta(days=7))
    if not due:
        return 0
    staff = sorted(set(await staff_ids(session)) | set(settings.admin_ids))
    queued = 0
    for activity, day in due:
        text = DEADLINE.format(
            code=escape(activity.actividad), day=local_date(day, settings.locale),
            text=escape(activity.descripcion), who=escape(activity.responsable),
        )
        queued += await outbox.enqueue(
            session, chat_ids=staff, payload={"text": text}, kind="plan",
            dedupe=f"plan:{activity.actividad}:{day.isoformat()}",
        )
    return queued
