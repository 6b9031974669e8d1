"""Event announcements and reminders, and staff reminders of accountability-plan deadlines.

`sweep` runs every minute from the scheduler. It announces new events (from the announcement
time staff set, if any) to subscribers of the event's comuna and of the topic "eventos",
announces a changed date or place, or a cancellation, once to everyone already told (and to
registrants, with a place or waiting; staff's screen queues the same message at once),
reminds registrants and comuna subscribers 24 h and 1 h before, gives places freed or added
to people on the waiting list, sends the evaluation survey when an event ends (to those
staff marked present, or to the registrants when attendance was not taken), announces new
surveys to followers of «encuestas» and participatory-budget rounds to their comuna
(opening, then results), and reminds staff of plan deadlines one week ahead.
All of it is derived from the tables, with outbox dedupe keys, so restarts neither lose nor
repeat anything.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from html import escape
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from bot.config import Settings
from bot.formatting import local_date, local_datetime
from handlers.callbacks import CallbackData, EventAttend, EventCalendar, EventCard, SurveyOpen
from handlers.events import notify_promoted
from handlers.participation import announce_rounds
from handlers.survey_invitations import INVITATION_BUTTON, announce
from storage import outbox
from storage.attendance import present_chats
from storage.db import Database
from storage.events import POSTPONED, fill_freed_places, is_called_off
from storage.models import Event
from storage.reminders import (
    announced,
    deadlines_between,
    evaluation_survey,
    event_audience,
    followers,
    last_told_key,
    recently_ended,
    registrants,
    signature,
    upcoming_events,
)
from storage.roles import staff_ids
from storage.surveys import opened_between

log = logging.getLogger(__name__)

HORIZON = timedelta(days=60)
# A survey that opened within this window is announced to followers of «encuestas».
NEW_SURVEY_WINDOW = timedelta(days=1)
MIN_WINDOW = timedelta(minutes=15)
REMINDERS = ((timedelta(hours=24), "r24", "mañana"), (timedelta(hours=1), "r1", "en una hora"))
NEW_EVENT = "📅 <b>Nuevo evento</b>: {title}\n{when}\n📍 {place}\nVea la agenda: /agenda"
CHANGED = "⚠️ <b>Cambio en el evento</b> {title}\n{when_line}\n📍 {place}"
NOW_LINE = "Ahora: {when}"
MOVED_LINE = "🕒 Cambió la fecha: del {before} al {when}."
POSTPONED_TEXT = (
    "⏸️ <b>Evento aplazado</b>: {title}\nAplazado: del {before} al {when}.\nMotivo: {reason}\n"
    "📍 {place}\nSi ya tenía cupo, lo conserva."
)
CALLED_OFF_TEXT = (
    "🚫 <b>Evento cancelado</b>: {title}\nEra el {when}.\nMotivo: {reason}\n"
    "Si tenía cupo, no tiene que hacer nada más."
)
REMINDER = "⏰ <b>Recordatorio</b>: {title} es {words}.\n{when}\n📍 {place}"
EVALUATION = (
    "🙏 Gracias por participar en <b>{title}</b>. ¿Nos ayuda a mejorar? Responda la "
    "encuesta «{survey}»: toma unos minutos."
)
DEADLINE = (
    "🗓️ <b>Plan de rendición de cuentas</b>: la actividad {code} vence el {day}.\n{text}\n"
    "Responsable: {who}"
)
SEE_EVENT, ATTEND = "📅 Ver evento", "✅ Asistiré"
NEW_CALENDAR = "📆 Nuevo archivo de calendario"
UPDATE_CALENDAR = "📆 Quitar del calendario"


def _event_text(template: str, event: Event, settings: Settings, **extra: str) -> str:
    before = event.inicio_anterior
    return template.format(
        title=escape(event.titulo),
        when=local_datetime(event.inicio, settings.tz, settings.locale),
        before=local_datetime(before, settings.tz, settings.locale) if before else "",
        place=escape(event.lugar),
        reason=escape(event.motivo or ""),
        **extra,
    )


def _buttons(*rows: list[tuple[str, CallbackData]]) -> dict[str, Any]:
    """Return an inline keyboard as the outbox stores it (plain JSON)."""
    return {"inline_keyboard": [
        [{"text": text, "callback_data": action.encode()} for text, action in row]
        for row in rows
    ]}


def _id(event: Event) -> int:
    assert event.id is not None  # events announced come from the database
    return event.id


def _base(event: Event) -> str:
    return f"evento:{event.id}:"


async def announce_event(session: AsyncSession, settings: Settings, event: Event) -> int:
    """Queue a new event's announcement, with «Ver evento / ✅ Asistiré», to its audience."""
    key = f"{_base(event)}{signature(event)}"
    markup = _buttons([(SEE_EVENT, EventCard(_id(event))), (ATTEND, EventAttend(_id(event)))])
    return await outbox.enqueue(
        session, chat_ids=await event_audience(session, event), kind="anuncio",
        payload={"text": _event_text(NEW_EVENT, event, settings), "reply_markup": markup},
        dedupe=f"{key}:anuncio",
    )


async def tell_change(
    session: AsyncSession, settings: Settings, event: Event, *, changed: bool = False
) -> int:
    """Queue, once, the news of a cancelled event or of its new date or place.

    It goes to everyone told anything about the event and to its registrants (with a place
    or waiting). Staff's screen calls it right after a change (`changed`); the minute's sweep
    calls it for every event and finds a change by comparing the date and place of the last
    message about the event with the event's own. Dedupe keys name the cancellation, or the
    new date and place and the event's sequence, so each person hears each change once.
    """
    base = _base(event)
    if is_called_off(event):
        dedupe = f"{base}cancelado"
        text = _event_text(CALLED_OFF_TEXT, event, settings)
        markup = _buttons([(UPDATE_CALENDAR, EventCalendar(_id(event)))])
    else:
        current = f"{base}{signature(event)}:"
        latest = await last_told_key(session, prefix=base)
        if not changed and (latest is None or latest.startswith(current)):
            return 0
        # Whether the date moved since the last message (otherwise only the place changed).
        moved = (event.inicio_anterior is not None if latest is None
                 else not latest.startswith(f"{base}{event.inicio.isoformat()}|"))
        dedupe = f"{current}cambio:{event.secuencia}"
        if moved and event.estado == POSTPONED and event.inicio_anterior is not None:
            text = _event_text(POSTPONED_TEXT, event, settings)
        else:
            line = MOVED_LINE if moved and event.inicio_anterior is not None else NOW_LINE
            text = _event_text(CHANGED, event, settings,
                               when_line=_event_text(line, event, settings))
        markup = _buttons([(NEW_CALENDAR, EventCalendar(_id(event)))],
                          [(SEE_EVENT, EventCard(_id(event)))])
    if await outbox.queued_before(session, dedupe=dedupe):
        return 0
    return await outbox.enqueue(
        session, chat_ids=await followers(session, event), kind="anuncio",
        payload={"text": text, "reply_markup": markup}, dedupe=dedupe,
    )


async def sweep(db: Database, settings: Settings, now: datetime) -> int:
    """Queue every announcement and reminder that is due at `now`; return how many."""
    queued = 0
    window = max(timedelta(hours=settings.schedule_grace_hours), MIN_WINDOW)
    async with db.session() as session:
        for event in await upcoming_events(session, now=now, horizon=HORIZON):
            if is_called_off(event):
                queued += await tell_change(session, settings, event)
                continue
            key = f"{_base(event)}{signature(event)}"
            ready = event.anunciar_desde is None or event.anunciar_desde <= now
            if ready and not await announced(session, event):
                queued += await announce_event(session, settings, event)
            queued += await tell_change(session, settings, event)
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
                    payload={"text": _event_text(REMINDER, event, settings, words=words),
                             "reply_markup": _buttons([(SEE_EVENT, EventCard(_id(event)))])},
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


async def send_evaluation(
    session: AsyncSession, event: Event, chats: list[int]
) -> int:
    """Queue the event's evaluation survey for these people (each at most once)."""
    survey = await evaluation_survey(session, event)
    if survey is None or not chats:
        return 0
    text = EVALUATION.format(title=escape(event.titulo), survey=escape(survey.titulo))
    markup = _buttons([(INVITATION_BUTTON, SurveyOpen(survey.slug))])
    return await outbox.enqueue(
        session, chat_ids=chats, kind="evaluacion",
        payload={"text": text, "reply_markup": markup}, dedupe=f"evaluacion:{event.id}",
    )


async def _evaluations(
    session: AsyncSession, settings: Settings, since: datetime, now: datetime
) -> int:
    """Send the evaluation survey when an event ends: to those marked present, if staff took
    attendance, otherwise to its confirmed registrants."""
    queued = 0
    for event in await recently_ended(session, since=since, until=now):
        if is_called_off(event) or await outbox.queued_before(
            session, dedupe=f"evaluacion:{event.id}"
        ):
            continue
        chats = await present_chats(session, event_id=event.id or 0)
        queued += await send_evaluation(session, event, chats or await registrants(session, event))
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
