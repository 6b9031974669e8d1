"""`/estado` (staff): is the bot sending, is the scheduler running, who can be reached.

The same text, without its HTML, is what `cabildo estado` prints on the server.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from telegram import Update

from bot.context import CabildoContext
from bot.formatting import clip, local_datetime, number, plural
from bot.version import version
from storage.db import Database
from storage.operations import OperationalState, not_draining, operational_state
from storage.types import utcnow

TITLE = "🩺 <b>Estado de Cabildo</b> · versión {version} · base de datos {database}"
OUTBOX = (
    "📤 <b>Envíos</b>: {waiting} en cola{oldest}; {sending} enviándose.\n"
    "Últimas 24 horas: {sent}, {failed}, {uncertain}{blocked}."
)
UNCERTAIN = "{count} sin confirmar (pudieron llegar; no se reenvían), "
OLDEST = " (el primero espera desde hace {ago})"
ERRORS = "Motivos de fallo (24 h): {reasons}."
JOBS_NONE = "⏱️ <b>Tareas programadas</b>: todavía no han corrido."
JOBS = "⏱️ <b>Tareas programadas</b>:"
JOB_LINE = "· {name}: hace {ago} ({when}), en {by}"
JOB_NAMES = {"recordatorios": "avisos y recordatorios", "resumen-semanal": "resumen semanal",
             "barrido-envios": "revisión de envíos",
             "sincronizar-secop": "sincronización con SECOP II"}
PEOPLE = (
    "👥 <b>Personas</b>: {people}; {consented} el aviso de datos; {unreachable}. "
    "{leaders}, {staff}; {groups}."
)
QUESTIONS = "❓ <b>Preguntas sin responder</b>: {count}{oldest}."
OLDEST_QUESTION = " (la más antigua es del {when})"
WARN_SWEEP = (
    "⚠️ Los avisos y recordatorios no corren desde hace {ago}: revise que el bot esté en "
    "marcha (se ejecutan cada minuto)."
)
WARN_QUEUE = (
    "⚠️ Hay mensajes esperando desde hace {ago}: revise que el bot esté en marcha y el "
    "registro (log) por errores de Telegram."
)
WARN_NEVER = (
    "⚠️ Las tareas programadas no han corrido nunca: ¿está el bot en marcha? (Corren cada "
    "minuto mientras el bot funciona.)"
)
WARN_STUCK = (
    "⚠️ {count} {verb} «enviándose» más de lo normal: la instancia que {pronoun} enviaba se "
    "detuvo. La revisión de cada minuto {pronoun} marca «sin confirmar»; si no cambia, revise "
    "que el bot esté en marcha."
)
WARN_STALLED = (
    "⚠️ Hay mensajes por enviar y ninguno ha salido desde hace {ago}: revise que el bot esté "
    "en marcha y el registro (log) por errores de Telegram o de la base de datos."
)
ALL_GOOD = "✅ Todo en orden."
# Past these, something is not running: the sweep runs every minute, the outbox drains fast.
SWEEP_LATE = timedelta(minutes=5)
QUEUE_LATE = timedelta(minutes=15)


def ago(delta: timedelta) -> str:
    """Say a duration the way people do: `40 segundos`, `3 minutos`, `2 horas`, `5 días`."""
    seconds = max(0, int(delta.total_seconds()))
    for size, one, many in ((86400, "día", "días"), (3600, "hora", "horas"),
                            (60, "minuto", "minutos")):
        if seconds >= size:
            return plural(seconds // size, one, many)
    return plural(seconds, "segundo", "segundos")


def status_text(
    state: OperationalState, *, tz: ZoneInfo, version: str, database: str,
    admins: Collection[int] = (),
) -> str:
    """Return the `/estado` message (Telegram HTML)."""
    now = state.now
    oldest = OLDEST.format(ago=ago(now - state.oldest_due)) if state.oldest_due else ""
    lines = [
        TITLE.format(version=version, database=database),
        "",
        OUTBOX.format(
            waiting=number(state.waiting, decimals=0), oldest=oldest,
            sending=number(state.sending, decimals=0),
            sent=plural(state.sent_day, "enviado", "enviados"),
            failed=plural(state.failed_day, "fallido", "fallidos"),
            uncertain=UNCERTAIN.format(count=number(state.uncertain_day, decimals=0))
            if state.uncertain_day else "",
            blocked=plural(state.blocked_day, "a alguien que bloqueó el bot",
                           "a personas que bloquearon el bot"),
        ),
    ]
    if state.errors_day:
        reasons = "; ".join(f"«{escape(clip(reason, 80))}» ×{count}"
                            for reason, count in state.errors_day)
        lines.append(ERRORS.format(reasons=reasons))
    lines.append("")
    if state.jobs:
        lines.append(JOBS)
        for run in state.jobs:
            lines.append(JOB_LINE.format(
                name=JOB_NAMES.get(run.job, run.job), ago=ago(now - run.at),
                when=local_datetime(run.at, tz), by=escape(clip(run.by, 60)),
            ))
    else:
        lines.append(JOBS_NONE)
    lines += [
        "",
        PEOPLE.format(
            people=plural(state.people, "persona con el bot", "personas con el bot"),
            consented=plural(state.consented, "aceptó", "aceptaron"),
            unreachable=plural(state.unreachable, "bloqueó el bot o no se le puede escribir",
                               "bloquearon el bot o no se les puede escribir"),
            leaders=plural(state.leaders, "líder", "líderes"),
            staff=plural(len(state.staff_ids | set(admins)),
                         "funcionario o administrador",
                         "funcionarios o administradores"),
            groups=plural(state.linked_groups, "grupo vinculado", "grupos vinculados"),
        ),
        QUESTIONS.format(
            count=number(state.questions_waiting, decimals=0),
            oldest=OLDEST_QUESTION.format(when=local_datetime(state.oldest_question, tz))
            if state.oldest_question else "",
        ),
        "",
        *warnings(state),
    ]
    return "\n".join(lines).replace("\n\n\n", "\n\n").strip()


def warnings(state: OperationalState) -> list[str]:
    """Return what needs the operator's attention, or that all is well."""
    found = [] if state.jobs else [WARN_NEVER]
    sweep = next((run for run in state.jobs if run.job == "recordatorios"), None)
    if sweep is not None and state.now - sweep.at > SWEEP_LATE:
        found.append(WARN_SWEEP.format(ago=ago(state.now - sweep.at)))
    if state.oldest_due is not None and state.now - state.oldest_due > QUEUE_LATE:
        found.append(WARN_QUEUE.format(ago=ago(state.now - state.oldest_due)))
    if not_draining(state):
        since = state.now - (state.last_handed or state.oldest_due or state.now)
        found.append(WARN_STALLED.format(ago=ago(since)))
    if state.stuck:
        one = state.stuck == 1
        found.append(WARN_STUCK.format(
            count=plural(state.stuck, "mensaje", "mensajes"), verb="lleva" if one else "llevan",
            pronoun="lo" if one else "los",
        ))
    return found or [ALL_GOOD]


async def current_status(
    database: Database, *, tz: ZoneInfo, version: str, admins: Collection[int] = (),
    now: datetime | None = None,
) -> tuple[str, bool]:
    """Read the installation's state; return the `/estado` text and whether all is well."""
    async with database.session() as session:
        state = await operational_state(session, now=now or utcnow())
    kind = "SQLite" if database.is_sqlite else "PostgreSQL"
    text = status_text(state, tz=tz, version=version, database=kind, admins=admins)
    return text, warnings(state) == [ALL_GOOD]


async def show_status(update: Update, context: CabildoContext) -> None:
    """Show staff whether messages go out, jobs run, and who can be reached."""
    message = update.effective_message
    if message is None:
        return
    text, _ = await current_status(context.db, tz=context.settings.tz, version=version(),
                                   admins=context.settings.admin_ids)
    await message.reply_text(text)

