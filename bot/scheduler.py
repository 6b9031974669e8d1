"""Scheduled work, derived from settings and the database at every start (PTB's JobQueue).

JobQueue jobs live in memory, so nothing is lost or doubled by a restart only if the job
itself checks the database: the weekly summary looks for this week's summary (and for an
approval request already sent) before acting, and its messages carry a per-week dedupe key
in the outbox. A run missed while the bot was down is done once at start if it is at most
SCHEDULE_GRACE_HOURS late, and skipped (and logged) otherwise.

With several instances (webhook mode behind a load balancer) every instance runs these
jobs, so each run first claims its period in the database (`storage.jobs.claim_run`: the
week for the summary, the minute for the sweep); the instance whose claim succeeds does the
work and the others skip it. The dedupe keys above stay as a second line of defence.

Every minute a sweep (`handlers.reminders.sweep`) queues event announcements, changed-event
notices, 24 h / 1 h reminders and plan-deadline reminders, each with its own dedupe key.
With SECOP_NIT set, one instance a day (claimed per local date) syncs SECOP II for that
entity (`bot.sync.run_sync`, skipping the source's bad rows and naming them in the log);
its changes become follower alerts and feed the weekly summary like any import.
Every minute, too, one instance sweeps the outbox (`storage.outbox.sweep`): rows a dead
sender had reserved go back to the queue, and rows it had in flight are settled `incierto`.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp, CabildoContext
from handlers import reminders, summary
from handlers.flows import TOPIC_FLOW, TOPIC_TTL
from storage import outbox
from storage.audit import add_entry
from storage.conversations import prune_states
from storage.db import Database
from storage.jobs import claim_run, prune_runs
from storage.models import AuditEntry
from storage.summary import iso_week, summary_sent
from storage.summary import last_due as due_before

log = logging.getLogger(__name__)
SYSTEM = 0  # the actor id recorded for what the scheduler does by itself
SUMMARY_JOB = "resumen-semanal"
SWEEP_JOB = "recordatorios"
OUTBOX_JOB = "barrido-envios"
SECOP_JOB = "sincronizar-secop"
SWEEP_CLAIMS_KEPT = timedelta(days=1)


def last_due(now: datetime, settings: Settings) -> datetime:
    """Return the latest moment, at or before `now`, when the weekly summary was due."""
    return due_before(now, tz=settings.tz, weekday=settings.weekly_summary_day,
                      at=settings.weekly_summary_time)


async def _approval_requested(db: Database, week: str) -> bool:
    async with db.session() as session:
        rows = (await session.exec(
            select(AuditEntry).where(AuditEntry.action == "resumen_solicitado")
        )).all()
    return any(r.detail.get("semana") == week for r in rows)


async def run_weekly_summary(context: CabildoContext) -> None:
    """Send the weekly summary, or ask staff to approve it — once per week."""
    settings, db = context.settings, context.db
    now = datetime.now(settings.tz)
    week = iso_week(last_due(now, settings))
    async with db.session() as session:
        if not await claim_run(session, job=SUMMARY_JOB, key=week, by=_instance(context)):
            log.info("weekly summary %s: another run has it", week)
            return
        if await summary_sent(session, week=week):
            log.info("weekly summary %s already sent", week)
            return
    if settings.weekly_summary_mode == "auto":
        _, queued = await summary.send_summary(db, settings, now=now, actor_id=SYSTEM)
        log.info("weekly summary %s queued for %d subscribers", week, queued)
        return
    if await _approval_requested(db, week):
        log.info("weekly summary %s: approval already requested", week)
        return
    async with db.session() as session:
        add_entry(session, actor_id=SYSTEM, action="resumen_solicitado", detail={"semana": week})
        await session.commit()
    await summary.ask_approval(db, settings, now, week=week)


async def run_sweep(context: CabildoContext) -> None:
    """Queue due event announcements, reminders and plan-deadline reminders."""
    now = datetime.now(UTC)
    async with context.db.session() as session:
        minute = now.strftime("%Y-%m-%dT%H:%M")
        if not await claim_run(session, job=SWEEP_JOB, key=minute, by=_instance(context)):
            return
        await prune_runs(session, job=SWEEP_JOB, before=now - SWEEP_CLAIMS_KEPT)
        # The subject of an answer (and a question the bot could not answer, kept for
        # «Enviarla como pregunta») is not kept past its time.
        await prune_states(session, flow=TOPIC_FLOW, before=now - TOPIC_TTL)
    queued = await reminders.sweep(context.db, context.settings, now)
    if queued:
        log.info("scheduler queued %d announcements and reminders", queued)


async def run_outbox_sweep(context: CabildoContext) -> None:
    """Free what dead senders held: reservations back to the queue, rows in flight `incierto`."""
    now = datetime.now(UTC)
    async with context.db.session() as session:
        minute = now.strftime("%Y-%m-%dT%H:%M")
        if not await claim_run(session, job=OUTBOX_JOB, key=minute, by=_instance(context)):
            return
        await prune_runs(session, job=OUTBOX_JOB, before=now - SWEEP_CLAIMS_KEPT)
        swept = await outbox.sweep(session)
    if swept.released or swept.uncertain:
        log.warning("outbox sweep: %d reserved messages back in the queue, %d in flight when "
                    "their sender stopped settled as uncertain", swept.released, swept.uncertain)


async def run_secop_sync(context: CabildoContext) -> None:
    """Sync SECOP II for SECOP_NIT — once a day across instances — and log what changed."""
    from bot.sync import run_sync
    from storage.importers import ImportFailed

    settings = context.settings
    day = datetime.now(settings.tz).date().isoformat()
    async with context.db.session() as session:
        if not await claim_run(session, job=SECOP_JOB, key=day, by=_instance(context)):
            log.info("SECOP sync of %s: another run has it", day)
            return
    try:
        report = await run_sync(context.db, settings, "secop", settings.secop_nit,
                                skip_bad_rows=True, actor_id=SYSTEM)
    except ImportFailed as exc:
        log.warning("SECOP sync of %s failed, nothing imported: %s", day, exc)
        async with context.db.session() as session:
            add_entry(session, actor_id=SYSTEM, action="sincronizar_fallida",
                      detail={"fuente": "secop", "nit": settings.secop_nit, "error": str(exc)})
            await session.commit()
        return
    log.info("%s", report.text(settings.locale))


def _instance(context: CabildoContext) -> str:
    return context.bot_data.instance


def schedule_jobs(app: CabildoApp) -> None:
    """Add the recurring jobs, and a catch-up run for what came due while the bot was down."""
    settings = app.bot_data.settings
    queue = app.job_queue
    if queue is None:  # pragma: no cover - the job-queue extra is a dependency
        log.warning("no job queue: scheduled work is disabled")
        return
    hour, minute = map(int, settings.weekly_summary_time.split(":"))
    ptb_day = (settings.weekly_summary_day + 1) % 7  # PTB counts from Sunday = 0
    queue.run_daily(
        run_weekly_summary,
        time=time(hour, minute, tzinfo=settings.tz),
        days=(ptb_day,),
        name=SUMMARY_JOB,
    )
    queue.run_repeating(run_sweep, interval=60, first=5, name=SWEEP_JOB)
    queue.run_repeating(run_outbox_sweep, interval=60, first=10, name=OUTBOX_JOB)
    if settings.secop_nit:
        sync_hour, sync_minute = map(int, settings.secop_sync_time.split(":"))
        queue.run_daily(run_secop_sync, time=time(sync_hour, sync_minute, tzinfo=settings.tz),
                        name=SECOP_JOB)
    now = datetime.now(settings.tz)
    due = last_due(now, settings)
    late = now - due
    if late <= timedelta(hours=settings.schedule_grace_hours):
        queue.run_once(run_weekly_summary, when=0, name="resumen-semanal-pendiente")
    else:
        log.info("weekly summary of %s: %s late, past the grace period; not caught up",
                 iso_week(due), late)
