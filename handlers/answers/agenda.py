"""The events of a period: «eventos de esta semana», «¿qué hay hoy?»."""

from __future__ import annotations

from datetime import date, timedelta

from telegram import InlineKeyboardMarkup

from bot.context import CabildoContext
from bot.formatting import clip
from handlers.answers.items import hit_line
from handlers.answers.markup import _button, _markup
from handlers.callbacks import EventCard
from storage.answers import facts
from storage.answers.ask import Ask
from storage.search import Hit
from storage.types import utcnow

PERIOD_NAMES = {"hoy": "hoy", "manana": "mañana", "fin_de_semana": "este fin de semana",
                "semana": "esta semana", "proxima_semana": "la próxima semana",
                "mes": "este mes", "proximo_mes": "el próximo mes"}
AGENDA_LISTED = 8


def period_days(period: str, today: date) -> tuple[date, date]:
    """Return the first and last local day a period names («esta semana»: today to Sunday)."""
    sunday = today + timedelta(days=6 - today.weekday())
    if period == "manana":
        return today + timedelta(days=1), today + timedelta(days=1)
    if period == "fin_de_semana":
        return max(today, sunday - timedelta(days=1)), sunday
    if period == "semana":
        return today, sunday
    if period == "proxima_semana":
        return sunday + timedelta(days=1), sunday + timedelta(days=7)
    next_month = (today.replace(day=1) + timedelta(days=32)).replace(day=1)
    if period == "mes":
        return today, next_month - timedelta(days=1)
    if period == "proximo_mes":
        return next_month, (next_month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return today, today


async def _agenda(context: CabildoContext, ask: Ask) -> tuple[str, InlineKeyboardMarkup]:
    """List the events of a period («eventos de esta semana», «¿qué hay hoy?»)."""
    settings = context.settings
    first, last = period_days(ask.period, settings.today())
    async with context.db.session() as session:
        coming = await facts.upcoming_events(session, now=utcnow(), limit=500)
    when = PERIOD_NAMES.get(ask.period, ask.period)
    inside = [e for e in coming if first <= e.inicio.astimezone(settings.tz).date() <= last]
    agenda = [_button("📅 Toda la agenda", "menu:agenda")]
    rows = facts.Listed(events={str(e.id): e for e in coming[:1] + inside})
    if not inside:
        text = f"📅 No hay eventos {when}."
        if coming:
            nxt = coming[0]
            text += "\nEl próximo:\n" + hit_line(
                Hit("evento", nxt.clave, nxt.titulo, 1.0, str(nxt.id)), rows, context)
            return text, _markup([_button(clip(nxt.titulo, 60), EventCard(nxt.id or 0).encode())],
                                 agenda)
        return text, _markup(agenda)
    lines = [f"📅 <b>Eventos {when}: {len(inside)}</b>", *(
        hit_line(Hit("evento", e.clave, e.titulo, 1.0, str(e.id)), rows, context)
        for e in inside[:AGENDA_LISTED])]
    buttons = [[_button(clip(e.titulo, 60), EventCard(e.id or 0).encode())]
               for e in inside[:AGENDA_LISTED]]
    return "\n".join(lines), _markup(*buttons, agenda)
