"""Comparisons: «la obra más cara», «qué metas van más atrasadas», «qué secretaría ejecuta
menos»."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup

from bot.context import CabildoContext
from bot.formatting import clip, local_date, money_short, percent, reported_percent
from handlers.answers.markup import _button, _markup
from handlers.callbacks import GoalCard, ProcessCard, WorkCard
from storage.answers import facts
from storage.answers.ask import Ask, parse
from storage.budget import Execution
from storage.goals import progress
from storage.models import Work
from storage.search import SearchIndex

NO_BUDGET = "Todavía no hay datos de ejecución del presupuesto."
RANK_NEXT = "Le siguen:"


def _kind_named(text: str) -> str:
    """Return the kind of item a text names («obras en la comuna 4» → obra), or ""."""
    return parse(text).kind


def _compare_kind(ask: Ask) -> str:
    if ask.kind:
        return ask.kind
    if ask.measure in ("mas_ejecucion", "menos_ejecucion"):
        return "presupuesto"
    return "obra"


async def _comparison(context: CabildoContext, index: SearchIndex, ask: Ask
                      ) -> tuple[str, InlineKeyboardMarkup] | None:
    """Answer «la obra más cara», «qué metas van más atrasadas», «qué secretaría ejecuta menos»."""
    settings = context.settings
    locale, today = settings.locale, settings.today()
    kind = _compare_kind(ask)
    keys = facts.candidates(index, ask.rest, kind, today=today)
    measure = ask.measure
    async with context.db.session() as session:
        if kind == "obra":
            works = await facts.ranked_works(session, measure, keys=keys, today=today)
            if not works:
                return None
            return _rank_works(works, measure, context)
        if kind == "meta":
            goals = await facts.ranked_goals(session, measure, keys=keys)
            if not goals:
                return None
            most = measure in ("mas_avance", "mas_valor", "mas_ejecucion")
            head = "🎯 Las metas más avanzadas:" if most else "🎯 Las metas con menos avance:"
            lines = [head] + [
                f"{i}. {escape(clip(g.meta, 110))} — <b>{percent(progress(g), locale)}</b>"
                for i, g in enumerate(goals[:5], 1)]
            rows = [[_button(f"{i}. {clip(g.meta, 56)}", GoalCard(g.codigo).encode())]
                    for i, g in enumerate(goals[:5], 1)]
            return "\n".join(lines), _markup(*rows)
        if kind == "presupuesto":
            ranked = await facts.ranked_offices(session, measure, keys=keys)
            if not ranked:
                return NO_BUDGET, _markup()
            return _rank_offices(ranked, measure, locale)
        if kind == "contratacion":
            processes = await facts.ranked_processes(session, measure, keys=keys)
            if not processes:
                return None
            top = processes[0]
            adjective = "menor" if measure == "menos_valor" else "mayor"
            text = (f"El proceso de {adjective} valor es <b>{escape(top.numero_proceso)}</b> "
                    f"(«{escape(clip(top.objeto, 120))}»): <b>{money_short(top.valor, locale)}"
                    f"</b>, {escape(top.estado.lower())}.")
            return text, _markup([_button("📑 Ver el proceso",
                                          ProcessCard(top.numero_proceso).encode())])
    return None


def _rank_works(works: list[Work], measure: str, context: CabildoContext
                ) -> tuple[str, InlineKeyboardMarkup]:
    locale, today = context.settings.locale, context.settings.today()
    top, others = works[0], works[1:3]
    name = f"<b>{escape(top.nombre)}</b>"

    def fact(w: Work) -> str:
        if measure in ("mas_valor", "menos_valor"):
            return money_short(w.valor_contrato or 0, locale)
        return reported_percent(w.avance_fisico, locale)

    if measure == "mas_valor":
        text = f"La obra de mayor valor es {name}: <b>{fact(top)}</b>."
    elif measure == "menos_valor":
        text = f"La obra de menor valor es {name}: <b>{fact(top)}</b>."
    elif measure == "mas_avance":
        text = (f"La obra sin terminar más avanzada es {name}, con <b>{fact(top)}</b> de "
                "avance físico.")
    elif measure == "menos_avance":
        text = (f"La obra sin terminar con menos avance es {name}: <b>{fact(top)}</b> de avance "
                f"físico ({escape(top.estado.lower())}).")
    elif facts.days_late(top, today):
        text = (f"La obra más atrasada es {name}: debía entregarse el <b>"
                f"{local_date(top.fecha_fin_prevista, locale) if top.fecha_fin_prevista else ''}"
                f"</b> y lleva {fact(top)} de avance físico ({escape(top.estado.lower())}).")
    else:
        text = (f"Ninguna obra ha pasado su fecha de entrega. La de menos avance es {name}, "
                f"con <b>{fact(top)}</b> ({escape(top.estado.lower())}).")
    if others:
        text += f"\n{RANK_NEXT} " + "; ".join(
            f"{escape(w.nombre)} ({fact(w)})" for w in others) + "."
    rows = [[_button(clip(w.nombre, 60), WorkCard(w.codigo).encode())] for w in works[:3]]
    return text, _markup(*rows)


def _rank_offices(ranked: list[Execution], measure: str, locale: str
                  ) -> tuple[str, InlineKeyboardMarkup]:
    top, others = ranked[0], ranked[1:3]
    name = f"<b>{escape(top.name)}</b>"
    if measure in ("mas_valor", "menos_valor"):
        more = measure == "mas_valor"
        text = (f"La dependencia con {'más' if more else 'menos'} presupuesto en {top.vigencia} "
                f"es {name}: <b>{money_short(top.apropiacion, locale)}</b>.")
        def fact(o: Execution) -> str:
            return money_short(o.apropiacion, locale)
    else:
        more = measure in ("mas_avance", "mas_ejecucion")
        text = (f"La dependencia que {'más' if more else 'menos'} ha ejecutado en {top.vigencia} "
                f"es {name}: ha comprometido el <b>{percent(top.executed, locale)}</b> de "
                f"{money_short(top.apropiacion, locale)}.")
        def fact(o: Execution) -> str:
            return percent(o.executed, locale)
    if others:
        text += f"\n{RANK_NEXT} " + "; ".join(
            f"{escape(o.name)} ({fact(o)})" for o in others) + "."
    return text, _markup([_button("💰 Ver todas las dependencias", "menu:presupuesto")])
