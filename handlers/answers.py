"""Compose answers: the sentence with the fact asked for first, then the buttons to go further.

`reply` is tried before the list of matches (`handlers.search`): it answers an attribute of
one item («¿cuánto avance tiene…?», «¿quién es el contratista…?», «¿cuándo es…?»), a
comparison («la obra más cara», «qué secretaría ha ejecutado menos»), a definition («qué
significa apropiación»), how to do something («cómo me inscribo a la audiencia»), and
follow-ups about the item just answered («¿y cuándo la terminan?», «¿y la de la comuna 5?»),
kept `TOPIC_TTL` in the conversation state (the database: any instance can take the next
message). It returns False when the question is none of these, or names nothing clearly.
"""

from __future__ import annotations

import contextlib
from dataclasses import replace
from datetime import date, timedelta
from html import escape

from babel.dates import format_time
from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import CabildoContext
from bot.formatting import clip, local_date, local_datetime, money_short, percent, plural
from handlers.events import event_card
from handlers.flows import TOPIC_FLOW, TOPIC_TTL
from handlers.paging import callback
from handlers.screens import show
from storage.answers import facts
from storage.answers.ask import Ask, parse
from storage.answers.lexicon import load
from storage.budget import Execution
from storage.contracting import by_stage
from storage.conversations import FlowState, clear_state, get_state, set_state
from storage.goals import STATUS_ASKED, progress
from storage.goals import status_of as goal_status
from storage.models import Comuna, ContractingProcess, Event, Goal, Work
from storage.search import TOPIC_WORDS, Hit, SearchIndex
from storage.search import status_of as work_status
from storage.types import utcnow

STATUS_LABELS = {"suspendida": "suspendidas", "terminada": "terminadas",
                 "en ejecucion": "en ejecución", "por iniciar": "por iniciar",
                 "en contratacion": "en contratación"}
MENU_ROW = [InlineKeyboardButton("🏠 Menú", callback_data="menu:inicio")]

WHICH = "¿Se refiere a…?"
THESE = "Encontré {count}:"
PLURAL_RATIO = 0.5  # asked in plural: the items scoring at least this share of the best
GONE = "Esa opción ya no está disponible."
PLACES_LINES = ("Cupos", "Inscripciones", "<b>✅", "<b>⏳", "🔗")
LATE = " ⚠️ Esa fecha ya pasó y la obra no ha terminado."
NO_BUDGET = "Todavía no hay datos de ejecución del presupuesto."
RANK_NEXT = "Le siguen:"
DEFINITION = "📘 <b>{term}</b>: {definition}"
HOWTO = {
    "votar": ("🗳️ Para votar en los <b>presupuestos participativos</b>, abra la votación de su "
              "comuna, elija los proyectos que prefiera y confirme su voto.",
              "🗳️ Presupuestos participativos", "menu:presupuestos"),
    "preguntar": ("❓ Para preguntar a la Alcaldía escriba <b>/preguntar</b> seguido de su "
                  "pregunta, o toque el botón. Le damos un número para seguirla y le avisamos "
                  "cuando la respondan.", "❓ Preguntar", "menu:preguntar"),
    "alertas": ("🔔 Con <b>/alertas</b> elige su comuna y los temas (obras, eventos, "
                "contratación, resumen semanal) y le avisamos con un mensaje.",
                "🔔 Alertas", "menu:alertas"),
    "encuesta": ("📝 En <b>/encuestas</b> están las encuestas abiertas; toque una para "
                 "responderla.", "📝 Encuestas", "menu:encuestas"),
    "inscribirse": ("📅 En la <b>/agenda</b> están los próximos eventos: abra uno y toque "
                    "«✅ Asistiré».", "📅 Agenda", "menu:agenda"),
}
OUTSIDE = {
    "emergencias": "🚨 Si es una emergencia, llame ya a la <b>línea {phone}</b>.",
    "tramites": "📋 Trámites, impuestos y certificados: {procedures}",
    "pqrsd": "✉️ Peticiones, quejas, reclamos y denuncias (PQRSD): {pqrsd}",
}
SEND_AS_QUESTION = "❓ Enviarla como pregunta a la Alcaldía"
NOT_IN_DATA = "No encontré información sobre «{text}» en los datos de la Alcaldía."
PQRSD_NO_URL = "por los canales de atención de la Alcaldía."


def outside_lines(pointer: str, context: CabildoContext) -> list[str]:
    """Return where to go for something outside accountability (from the settings)."""
    settings = context.settings
    if pointer not in OUTSIDE:
        return []
    pqrsd = (f'<a href="{escape(settings.pqrsd_url)}">{escape(settings.pqrsd_url)}</a>'
             if settings.pqrsd_url else PQRSD_NO_URL)
    url = escape(settings.procedures_url)
    procedures = f'<a href="{url}">{url}</a>'
    return [OUTSIDE[pointer].format(phone=escape(settings.emergency_line), pqrsd=pqrsd,
                                    procedures=procedures)]


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def _markup(*rows: list[InlineKeyboardButton]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([*rows, MENU_ROW])


# --- one item: the sentence ---------------------------------------------------------------


def work_sentence(work: Work, comuna: Comuna | None, attribute: str,
                  context: CabildoContext) -> str:
    """Say the asked attribute of a work in a sentence or two."""
    locale, today = context.settings.locale, context.settings.today()
    name = f"<b>{escape(work.nombre)}</b>"
    status = escape(work.estado.lower())
    physical = percent(work.avance_fisico, locale)
    finished = work_status(work.estado) == "terminada"
    late = facts.days_late(work, today) > 0
    due = local_date(work.fecha_fin_prevista, locale) if work.fecha_fin_prevista else ""
    if attribute == "avance":
        text = f"{name} lleva <b>{physical}</b> de avance físico"
        if work.avance_financiero is not None:
            text += f" y {percent(work.avance_financiero, locale)} de avance financiero"
        return text + f". Está {status}." + (LATE if late else "")
    if attribute in ("avance_financiero", "pagos"):
        if work.avance_financiero is None:
            return (f"{name} no tiene avance financiero registrado; lleva {physical} de "
                    "avance físico.")
        return (f"{name} lleva <b>{percent(work.avance_financiero, locale)}</b> de avance "
                f"financiero (lo pagado del contrato) y {physical} de avance físico.")
    if attribute == "contratista":
        if not work.contratista:
            return f"{name} todavía no tiene contratista registrado: está {status}."
        value = (f", con un contrato de {money_short(work.valor_contrato, locale)}"
                 if work.valor_contrato is not None else "")
        return f"El contratista de {name} es <b>{escape(work.contratista)}</b>{value}."
    if attribute == "valor":
        if work.valor_contrato is None:
            return f"{name} no tiene valor de contrato registrado: está {status}."
        who = f" ({escape(work.contratista)})" if work.contratista else ""
        return (f"El contrato de {name} vale <b>{money_short(work.valor_contrato, locale)}</b>"
                f"{who}. Lleva {physical} de avance físico.")
    if attribute == "inicio":
        if work.fecha_inicio is None:
            return f"{name} no tiene fecha de inicio registrada: está {status}."
        verb = "empezó" if work.fecha_inicio <= today else "empieza"
        return f"{name} {verb} el <b>{local_date(work.fecha_inicio, locale)}</b>. Está {status}."
    if attribute in ("fin", "fecha"):
        if finished:
            return f"{name} ya está <b>terminada</b>" + (
                f" (su fecha prevista era el {due})." if due else ".")
        if not due:
            return f"{name} no tiene fecha de entrega registrada: está {status}, con {physical}."
        return (f"La entrega de {name} está prevista para el <b>{due}</b>. Lleva {physical} de "
                f"avance físico y está {status}." + (LATE if late else ""))
    if attribute in ("lugar", "sitio"):
        where = [escape(work.direccion)] if work.direccion else []
        if comuna is not None:
            where.append(f"{escape(comuna.tipo)} {escape(comuna.codigo)} · {escape(comuna.nombre)}")
        return f"{name} queda en <b>{', '.join(where) or 'un lugar sin registrar'}</b>."
    if attribute == "enlace":
        if not work.enlace_secop:
            return f"{name} no tiene enlace a SECOP registrado."
        return (f'El contrato de {name} está en SECOP: <a href="{escape(work.enlace_secop)}">'
                "ver el contrato</a>.")
    text = f"{name} está <b>{status}</b>, con <b>{physical}</b> de avance físico"
    if due and not finished:
        text += f"; entrega prevista el {due}"
    return text + "." + (LATE if late and not finished else "")


def goal_sentence(goal: Goal, attribute: str, locale: str) -> str:
    """Say the asked attribute of a plan goal."""
    name = f"«{escape(clip(goal.meta, 160))}»"
    share = progress(goal)
    if attribute == "responsable":
        who = escape(goal.responsable) if goal.responsable else "sin dependencia registrada"
        return f"La meta {name} está a cargo de <b>{who}</b>; va en {percent(share, locale)}."
    unit = f" {escape(goal.unidad.lower())}" if goal.unidad else ""
    numbers = f"{_num(goal.avance)} de {_num(goal.meta_cuatrienio)}{unit}"
    cut = f" Corte: {local_date(goal.fecha_corte, locale)}." if goal.fecha_corte else ""
    if attribute == "corte":
        return (f"El avance de la meta {name} tiene corte del <b>"
                f"{local_date(goal.fecha_corte, locale) if goal.fecha_corte else 'sin fecha'}"
                f"</b>: va en {percent(share, locale)}.")
    who = f" Responsable: {escape(goal.responsable)}." if goal.responsable else ""
    return (f"La meta {name} va en <b>{percent(share, locale)}</b> ({numbers}): "
            f"{goal_status(share)}.{cut}{who}")


def _num(value: float) -> str:
    return f"{value:,.0f}".replace(",", ".") if value == int(value) else (
        f"{value:,.1f}".replace(",", "_").replace(".", ",").replace("_", "."))


def office_sentence(item: Execution, attribute: str, locale: str, *, total: bool = False) -> str:
    """Say an office's (or the whole budget's) appropriation, commitments or payments."""
    who = "El presupuesto total" if total else f"<b>{escape(item.name)}</b>"
    budget = money_short(item.apropiacion, locale)
    cut = f" Corte: {local_date(item.fecha_corte, locale)}." if item.fecha_corte else ""
    amounts = {"compromisos": ("comprometido", item.compromisos),
               "obligaciones": ("obligado", item.obligaciones),
               "pagos": ("pagado", item.pagos)}
    if attribute in amounts:
        verb, amount = amounts[attribute]
        subject = f"En {item.vigencia} se ha" if total else f"{who} ha"
        of = "del presupuesto" if total else "de su presupuesto"
        others = [f"{v} {money_short(a, locale)} ({percent(item.share(a), locale)})"
                  for k, (v, a) in amounts.items() if k != attribute]
        return (f"{subject} {verb} <b>{money_short(amount, locale)}</b>, el "
                f"<b>{percent(item.share(amount), locale)}</b> {of} de {budget}. "
                f"Además ha {' y '.join(others)}.{cut}")
    head = (f"{who} de {item.vigencia} es de <b>{budget}</b>" if total else
            f"{who} tiene un presupuesto {item.vigencia} de <b>{budget}</b>")
    return (f"{head}: ha comprometido el <b>{percent(item.executed, locale)}</b> "
            f"({money_short(item.compromisos, locale)}) y pagado el "
            f"{percent(item.share(item.pagos), locale)} ({money_short(item.pagos, locale)}).{cut}")


def event_sentence(event: Event, attribute: str, context: CabildoContext) -> str:
    """Say when and where an event is."""
    settings = context.settings
    name = f"<b>{escape(event.titulo)}</b>"
    when = local_datetime(event.inicio, settings.tz, settings.locale)
    place = escape(", ".join(filter(None, [event.lugar, event.direccion])))
    if attribute in ("lugar", "sitio"):
        return f"{name} será en <b>{place}</b> ({when})."
    if attribute == "hora":
        hour = format_time(event.inicio.astimezone(settings.tz), "h:mm a", locale=settings.locale)
        return f"{name} empieza a las <b>{hour}</b>, el {when}, en {place}."
    return f"{name} es el <b>{when}</b>, en {place}."


def process_sentence(item: ContractingProcess, attribute: str, locale: str, today_: object) -> str:
    """Say a contracting process's status, value or closing date."""
    name = f"El proceso <b>{escape(item.numero_proceso)}</b> («{escape(clip(item.objeto, 120))}»)"
    value = money_short(item.valor, locale)
    if attribute == "valor":
        return f"{name} vale <b>{value}</b>; está {escape(item.estado.lower())}."
    if attribute in ("cierre", "fecha") and item.fecha_cierre:
        return f"{name} cierra el <b>{local_date(item.fecha_cierre, locale)}</b>; está " \
               f"{escape(item.estado.lower())}."
    if attribute == "apertura" and item.fecha_apertura:
        return f"{name} abrió el <b>{local_date(item.fecha_apertura, locale)}</b>."
    if attribute == "modalidad":
        return f"{name} es por <b>{escape(item.modalidad.lower())}</b>."
    closing = (f"; cierre: {local_date(item.fecha_cierre, locale)}" if item.fecha_cierre else "")
    return (f"{name} está <b>{escape(item.estado.lower())}</b>: {escape(item.modalidad.lower())}, "
            f"{value}{closing}.")


# --- one item: the whole reply ------------------------------------------------------------


async def _item_reply(context: CabildoContext, hit: Hit, attribute: str, chat_id: int
                      ) -> tuple[str, InlineKeyboardMarkup] | None:
    """Return the sentence and buttons for one item, or None if it is gone."""
    locale = context.settings.locale
    async with context.db.session() as session:
        if hit.kind == "obra":
            found = await facts.work(session, hit.key)
            if found is None:
                return None
            work, comuna = found
            text = work_sentence(work, comuna, attribute, context)
            return text, _markup([_button("🏗️ Ver la ficha de la obra",
                                          callback("obra", "w", work.codigo))])
        if hit.kind == "meta":
            goal = await facts.goal(session, hit.key)
            if goal is None:
                return None
            return goal_sentence(goal, attribute, locale), _markup(
                [_button("🎯 Ver la meta", callback("meta", "g", goal.codigo))])
        if hit.kind == "presupuesto":
            _, per_office = await facts.offices(session)
            names = [o.name for o in per_office]
            if hit.key not in names:
                return None
            item = per_office[names.index(hit.key)]
            return office_sentence(item, attribute, locale), _markup(
                [_button("💰 Ver el detalle", callback("ppto", "d", names.index(hit.key)))],
                [_button("💰 Presupuesto", "menu:presupuesto")])
        if hit.kind == "evento" and hit.ref.isdigit():
            event = await facts.event(session, int(hit.ref))
        elif hit.kind == "contratacion":
            process = await facts.process(session, hit.key)
            if process is None:
                return None
            rows = [[_button("📑 Ver el proceso", callback("contr", "p", process.numero_proceso))]
                    ] if len(process.numero_proceso) < 50 else []
            return process_sentence(process, attribute, locale, None), _markup(*rows)
        else:
            return None
    if event is None:
        return None
    card, markup = await event_card(context, event, chat_id)
    # The card's places and the person's own registration, after the sentence.
    extra = [line for line in card.splitlines() if line.startswith(PLACES_LINES)]
    rows = [[_button("📅 Ver el evento", callback("ev", "e", event.id))],
            *(list(row) for row in markup.inline_keyboard)]
    return "\n".join([event_sentence(event, attribute, context), *extra]), InlineKeyboardMarkup(
        rows)


def hit_fact(hit: Hit, rows: facts.Listed, context: CabildoContext) -> str:
    """Return the key fact shown beside a hit's title in a list («en ejecución · 54 %»)."""
    settings = context.settings
    locale = settings.locale
    if hit.kind == "obra" and hit.key in rows.works:
        work = rows.works[hit.key]
        late = " · ⚠️ atrasada" if facts.days_late(work, settings.today()) else ""
        return f"{escape(work.estado.lower())} · {percent(work.avance_fisico, locale)}{late}"
    if hit.kind == "meta" and hit.key in rows.goals:
        goal = rows.goals[hit.key]
        return f"{percent(progress(goal), locale)} ({goal_status(progress(goal))})"
    if hit.kind == "evento" and hit.ref in rows.events:
        start = rows.events[hit.ref].inicio.astimezone(settings.tz)
        return f"{local_date(start.date(), locale)}, {format_time(start, 'h:mm a', locale=locale)}"
    if hit.kind == "contratacion" and hit.key in rows.processes:
        process = rows.processes[hit.key]
        closing = (f" · cierre: {local_date(process.fecha_cierre, locale)}"
                   if process.fecha_cierre else "")
        return f"{escape(process.estado.lower())}{closing}"
    if hit.kind == "presupuesto" and hit.key in rows.offices:
        return f"{percent(rows.offices[hit.key].executed, locale)} comprometido"
    return ""


def hit_line(hit: Hit, rows: facts.Listed, context: CabildoContext) -> str:
    """Return a list line: the title and, when there is one, its key fact."""
    fact = hit_fact(hit, rows, context)
    return f"• {escape(clip(hit.title, 120))}" + (f" — {fact}" if fact else "")


# A choice answers the question asked about the item chosen: `resp:<kind>:<attribute>:<key>`
# (an event by its id, an office by its place in the year's list).
CHOICE_KINDS = {"obra": "o", "meta": "m", "presupuesto": "p", "evento": "e", "contratacion": "c"}


def _choice_button(hit: Hit, offices: list[str], attribute: str) -> InlineKeyboardButton | None:
    label = clip(hit.title, 60)
    key = (hit.ref if hit.kind == "evento" else str(offices.index(hit.key))
           if hit.kind == "presupuesto" and hit.key in offices else hit.key)
    if attribute and hit.kind in CHOICE_KINDS and key:
        with contextlib.suppress(ValueError):  # a key too long for Telegram's 64 bytes
            return _button(label, callback("resp", CHOICE_KINDS[hit.kind], attribute, key))
    if hit.kind == "obra":
        return _button(label, callback("obra", "w", hit.key))
    if hit.kind == "meta":
        return _button(label, callback("meta", "g", hit.key))
    if hit.kind == "presupuesto" and hit.key in offices:
        return _button(label, callback("ppto", "d", offices.index(hit.key)))
    if hit.kind == "evento" and hit.ref.isdigit():
        return _button(label, callback("ev", "e", hit.ref))
    if hit.kind == "contratacion" and len(hit.key) < 50:
        return _button(label, callback("contr", "p", hit.key))
    return None


async def _choices(context: CabildoContext, hits: list[Hit], attribute: str = "",
                   heading: str = WHICH) -> tuple[str, InlineKeyboardMarkup]:
    async with context.db.session() as session:
        _, per_office = await facts.offices(session)
        rows = await facts.listed(session, hits)
    offices = [o.name for o in per_office]
    buttons = [b for b in (_choice_button(h, offices, attribute) for h in hits)
               if b is not None]
    lines = [heading, *(hit_line(h, rows, context) for h in hits)]
    return "\n".join(lines), _markup(*([b] for b in buttons))


# --- counts and totals -------------------------------------------------------------------

BUDGET_FIGURES = frozenset({"apropiacion", "compromisos", "obligaciones", "pagos", "ejecutado"})
STAGE_NAMES = {"ofertas": "recibiendo ofertas", "evaluacion": "en evaluación",
               "adjudicado": "adjudicados", "otro": "en otros estados"}
OPEN_WORDS = frozenset({"abierto", "abiertos", "abierta", "abiertas", "ofertas", "licitar",
                        "convocatorias", "vigentes"})


BUDGET_TOTALS = (
    "💰 <b>Presupuesto {year}</b>: apropiación de {appropriation}. Se ha comprometido el "
    "{committed} y pagado el {paid}."
)
BUDGET_FIGURE = {"compromisos": "Comprometido", "obligaciones": "Obligado", "pagos": "Pagado"}


def budget_line(total: Execution, locale: str) -> str:
    """Say the year's whole budget and how much of it is committed and paid."""
    return BUDGET_TOTALS.format(
        year=total.vigencia, appropriation=money_short(total.apropiacion, locale),
        committed=percent(total.executed, locale),
        paid=percent(total.share(total.pagos), locale),
    )


async def _budget_total(context: CabildoContext, attribute: str
                        ) -> tuple[str, InlineKeyboardMarkup] | None:
    """Answer «¿cuánto se ha pagado?» for the whole budget of the latest year."""
    locale = context.settings.locale
    async with context.db.session() as session:
        total, _ = await facts.offices(session)
    if total is None:
        return None
    figures = {"compromisos": total.compromisos, "obligaciones": total.obligaciones,
               "pagos": total.pagos}
    asked = [attribute] if attribute in figures else ["compromisos", "pagos"]
    lines = [budget_line(total, locale), *(
        f"{BUDGET_FIGURE[a]}: <b>{money_short(figures[a], locale)}</b> "
        f"({percent(total.share(figures[a]), locale)})." for a in asked)]
    if total.fecha_corte:
        lines.append(f"Corte: {local_date(total.fecha_corte, locale)}.")
    return "\n".join(lines), _markup([_button("💰 Presupuesto", "menu:presupuesto")])


async def _count(context: CabildoContext, index: SearchIndex, ask: Ask
                 ) -> tuple[str, InlineKeyboardMarkup] | None:
    """Answer «¿cuántas metas se han cumplido?», «¿cuántos procesos están abiertos?»."""
    settings = context.settings
    today = settings.today()
    words = set(ask.words)
    async with context.db.session() as session:
        if ask.kind == "meta":
            goals = await facts.ranked_goals(session, "mas_avance", keys=None)
            by_status = {name: sum(goal_status(progress(g)) == name for g in goals)
                         for name in ("cumplida", "en curso", "rezagada")}
            asked = next((STATUS_ASKED[w] for w in ask.words if w in STATUS_ASKED), None)
            if asked is not None:
                text = (f"🎯 Hay <b>{plural(by_status[asked], 'meta', 'metas')} "
                        f"{asked if asked == 'en curso' else asked + 's'}</b> de "
                        f"{len(goals)} del plan.")
            else:
                text = (f"🎯 El plan tiene <b>{plural(len(goals), 'meta', 'metas')}</b>: "
                        f"{by_status['cumplida']} cumplidas, {by_status['en curso']} en curso y "
                        f"{by_status['rezagada']} rezagadas.")
            return text, _markup([_button("🎯 Metas del plan", "menu:metas")])
        if ask.kind == "contratacion":
            stages = await by_stage(session, today=today)
            if words & OPEN_WORDS:
                count = len(stages.get("ofertas", []))
                text = f"📑 Hay <b>{plural(count, 'proceso', 'procesos')}</b> recibiendo ofertas."
            else:
                total = sum(len(v) for v in stages.values())
                parts = [f"{len(v)} {STAGE_NAMES[k]}" for k, v in stages.items() if v]
                text = (f"📑 Hay <b>{plural(total, 'proceso', 'procesos')}</b> de contratación: "
                        + ", ".join(parts) + ".")
            return text, _markup([_button("📑 Contratación", "menu:contratacion")])
    if ask.kind == "evento":
        count = sum(r.kind == "evento" for r in index.records)
        text = f"📅 Hay <b>{plural(count, 'evento', 'eventos')}</b> próximos en la agenda."
        return text, _markup([_button("📅 Agenda", "menu:agenda")])
    if ask.kind == "obra" and facts.candidates(index, ask.rest, "obra", today=today) is None:
        works = [r for r in index.records if r.kind == "obra"]
        statuses: dict[str, int] = {}
        for record in works:
            label = record.status or "sin estado"
            statuses[label] = statuses.get(label, 0) + 1
        parts = [f"{n} {STATUS_LABELS.get(k, k)}" for k, n in
                 sorted(statuses.items(), key=lambda kv: -kv[1])]
        text = (f"🏗️ Hay <b>{plural(len(works), 'obra', 'obras')}</b> registradas: "
                + ", ".join(parts) + ".")
        return text, _markup([_button("🏗️ Obras por comuna", "menu:obras")])
    return None  # works narrowed by comuna or status: the list says how many


CONTRACTING_WORDS = frozenset({"licitar", "licitacion", "licitaciones", "contrato", "contratos",
                               "contratacion", "proceso", "procesos", "convocatoria"})


def _asks_open_processes(ask: Ask) -> bool:
    """Tell whether the question asks for the processes taking bids («contratos abiertos de
    infraestructura», «¿en qué puedo licitar?»)."""
    words = set(ask.words)
    return not ask.intent and bool(words & OPEN_WORDS) and (
        ask.kind == "contratacion" or bool(words & CONTRACTING_WORDS))


async def _open_processes(context: CabildoContext, index: SearchIndex, ask: Ask
                          ) -> tuple[str, InlineKeyboardMarkup]:
    """List the processes taking bids, narrowed by the other words, with closing dates."""
    settings = context.settings
    locale, today = settings.locale, settings.today()
    narrow = [w for w in ask.content if w not in OPEN_WORDS and w not in CONTRACTING_WORDS
              and w not in ("recibiendo", "puedo", "pueden", "participar")]
    keys = facts.candidates(index, " ".join(narrow), "contratacion", today=today) if narrow \
        else None
    async with context.db.session() as session:
        taking = (await by_stage(session, today=today)).get("ofertas", [])
    if keys is not None:
        taking = [p for p in taking if p.numero_proceso in keys]
    about = f" sobre «{escape(' '.join(narrow))}»" if keys is not None else ""
    more = [_button("📑 Contratación", "menu:contratacion")]
    if not taking:
        return f"📑 Ahora no hay procesos recibiendo ofertas{about}.", _markup(more)
    lines = [f"📑 <b>Procesos recibiendo ofertas{about}: {len(taking)}</b>"]
    for process in taking[:8]:
        closing = (f"cierre: {local_date(process.fecha_cierre, locale)} · "
                   if process.fecha_cierre else "")
        lines.append(f"• {escape(clip(process.objeto, 110))} — {closing}"
                     f"{money_short(process.valor, locale)}")
    rows = [[_button(clip(p.objeto, 60), callback("contr", "p", p.numero_proceso))]
            for p in taking[:8] if len(p.numero_proceso) < 50]
    return "\n".join(lines), _markup(*rows, more)


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
            return text, _markup([_button(clip(nxt.titulo, 60), callback("ev", "e", nxt.id))],
                                 agenda)
        return text, _markup(agenda)
    lines = [f"📅 <b>Eventos {when}: {len(inside)}</b>", *(
        hit_line(Hit("evento", e.clave, e.titulo, 1.0, str(e.id)), rows, context)
        for e in inside[:AGENDA_LISTED])]
    buttons = [[_button(clip(e.titulo, 60), callback("ev", "e", e.id))]
               for e in inside[:AGENDA_LISTED]]
    return "\n".join(lines), _markup(*buttons, agenda)


# --- comparisons ----------------------------------------------------------------------------


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
            rows = [[_button(f"{i}. {clip(g.meta, 56)}", callback("meta", "g", g.codigo))]
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
                                          callback("contr", "p", top.numero_proceso))])
    return None


def _rank_works(works: list[Work], measure: str, context: CabildoContext
                ) -> tuple[str, InlineKeyboardMarkup]:
    locale, today = context.settings.locale, context.settings.today()
    top, others = works[0], works[1:3]
    name = f"<b>{escape(top.nombre)}</b>"

    def fact(w: Work) -> str:
        if measure in ("mas_valor", "menos_valor"):
            return money_short(w.valor_contrato or 0, locale)
        return percent(w.avance_fisico, locale)

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
    rows = [[_button(clip(w.nombre, 60), callback("obra", "w", w.codigo))] for w in works[:3]]
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


# --- the entry point ----------------------------------------------------------------------


async def _topic(update: Update, context: CabildoContext) -> FlowState | None:
    """Return the subject of the last answer in this chat, if recent (read once per update)."""
    stashed = context.known_state
    if stashed is None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return None
        async with context.db.session() as session:
            stashed = (await get_state(session, chat_id=chat.id, user_id=user.id),)
        context.known_state = stashed
    state = stashed[0]
    if state is None or state.flow != TOPIC_FLOW or state.updated_at is None:
        return None
    return state if utcnow() - state.updated_at <= TOPIC_TTL else None


async def remember(update: Update, context: CabildoContext, data: dict[str, str]) -> None:
    """Keep the subject of this answer for a follow-up, unless another flow is pending."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    stashed = context.known_state
    if stashed is not None and stashed[0] is not None and stashed[0].flow != TOPIC_FLOW:
        return  # a survey or a basket in progress is not replaced by a subject
    async with context.db.session() as session:
        if stashed is None:
            current = await get_state(session, chat_id=chat.id, user_id=user.id)
            if current is not None and current.flow != TOPIC_FLOW:
                return
        await set_state(session, chat_id=chat.id, user_id=user.id,
                        state=FlowState(TOPIC_FLOW, "", data))


async def forget(update: Update, context: CabildoContext) -> None:
    """Drop the kept subject (a new subject that is not one item, or the menu)."""
    user, chat = update.effective_user, update.effective_chat
    stashed = context.known_state
    if user is None or chat is None or (stashed is not None and (
            stashed[0] is None or stashed[0].flow != TOPIC_FLOW)):
        return
    async with context.db.session() as session:
        await clear_state(session, chat_id=chat.id, user_id=user.id, flows=[TOPIC_FLOW])


# Kinds named in plural: how they go is a list, not one item's figure.
PLURAL_KINDS = frozenset({"metas", "obras", "eventos", "procesos", "contratos", "proyectos"})
# Attributes that belong to events before anything else («¿cuándo es…?», «¿a qué hora?»).
EVENT_FIRST = frozenset({"fecha", "hora", "cupos", "sitio"})


def _kinds_for(ask: Ask) -> tuple[str, ...]:
    """Return the kinds that have the attribute asked, the likeliest first."""
    kinds = tuple(k for k, attrs in load().kind_attributes.items() if ask.attribute in attrs)
    if ask.attribute in EVENT_FIRST and "evento" in kinds:
        kinds = ("evento", *(k for k in kinds if k != "evento"))
    if ask.attribute in BUDGET_FIGURES and "presupuesto" in kinds:
        kinds = ("presupuesto", *(k for k in kinds if k != "presupuesto"))
    if ask.kind and ask.kind in kinds:
        return (ask.kind,)
    return kinds


async def reply(update: Update, context: CabildoContext, text: str, index: SearchIndex) -> bool:
    """Answer with the fact asked for; False when the question is not one of these."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return False
    ask = parse(text)
    answer: tuple[str, InlineKeyboardMarkup] | None = None
    subject: dict[str, str] | None = None
    if ask.intent == "fuera":
        lines = [NOT_IN_DATA.format(text=escape(text[:80])), *outside_lines(ask.pointer, context)]
        answer = "\n".join(lines), _markup(
            [_button(SEND_AS_QUESTION, "preg:e")])
        subject = {"unanswered": text[:2000]}
    elif ask.intent == "definir":
        lines = [DEFINITION.format(term=escape(e.term), definition=escape(e.definition))
                 for e in ask.terms[:4]]
        answer = "\n\n".join(lines), _markup()
    elif ask.intent == "como":
        answer = await _howto(update, context, index, ask)
    elif ask.intent == "comparar":
        topic = await _topic(update, context) if ask.starts_follow and not ask.content else None
        listed_before = str(topic.data.get("list", "")) if topic is not None else ""
        if listed_before:  # «obras en la comuna 4» … «¿y cuál es la más cara?»: among those
            ask = replace(ask, rest=f"{listed_before} {ask.rest}",
                          kind=ask.kind or _kind_named(listed_before))
        answer = await _comparison(context, index, ask)
    elif ask.intent == "contar":
        answer = await _count(context, index, ask)
    elif ask.intent == "agenda":
        answer = await _agenda(context, ask)
    elif _asks_open_processes(ask):
        answer = await _open_processes(context, index, ask)
    elif ask.attribute in BUDGET_FIGURES and not ask.starts_follow and all(
            w in TOPIC_WORDS for w in ask.content):  # «¿cuánto se ha pagado del presupuesto?»
        answer = await _budget_total(context, ask.attribute)
    else:
        topic = await _topic(update, context)
        found = await _about(context, index, ask, topic)
        if found is not None:
            hits, attribute = found
            if len(hits) == 1:
                answer = await _item_reply(context, hits[0], attribute, chat.id)
                subject = {"kind": hits[0].kind, "key": hits[0].key, "ref": hits[0].ref,
                           "title": hits[0].title[:200], "attribute": attribute}
            else:
                answer = await _choices(context, hits, attribute,
                                        THESE.format(count=len(hits)) if ask.plural else WHICH)
    if answer is None:
        return False
    if subject is not None:  # kept first: a quick follow-up must find it
        await remember(update, context, subject)
    await message.reply_text(answer[0][:4000], reply_markup=answer[1])
    return True


async def _about(context: CabildoContext, index: SearchIndex, ask: Ask, topic: FlowState | None
                 ) -> tuple[list[Hit], str] | None:
    """Return the item(s) an attribute question or a follow-up is about, and the attribute."""
    today = context.settings.today()
    previous = topic.data if topic is not None else {}
    # «¿y cuánto tiene de presupuesto?»: words that only name a section say nothing new.
    said = [w for w in ask.content if w not in TOPIC_WORDS]
    if previous.get("kind") and ask.starts_follow and said and not ask.frame_only and (
            len(said) <= 3):
        # «¿y la de Guarín?», «¿y el de salud?»: the same question about another one of the
        # same kind of thing (what the last one's title shares with others: «plaza de mercado»)
        kind = str(previous["kind"])
        attribute = ask.attribute or str(previous.get("attribute") or "resumen")
        found = facts.match(index, ask.rest, (kind,), today=today)
        if found.clear is None:
            words = index.shared_words(str(previous.get("title", "")), kind)
            found = facts.match(index, " ".join([*words, ask.rest]), (kind,), today=today)
        if found.hits:
            return found.hits, attribute
    if previous.get("kind") and (ask.follow or ask.starts_follow) and (
            not said or ask.frame_only):
        kind = str(previous["kind"])
        attribute = ask.attribute if ask.attribute in load().kind_attributes.get(kind, ()) else (
            str(previous.get("attribute") or "resumen") if not ask.attribute else "resumen")
        if ask.frame_only:  # «¿y la de la comuna 5?»: the same kind of thing there
            words = index.shared_words(str(previous.get("title", "")), kind)
            found = facts.match(index, " ".join([*words, ask.rest]), (kind,), today=today)
            return (found.hits, attribute) if found.hits else None
        hit = Hit(kind, str(previous["key"]), str(previous.get("title", "")), 1.0,
                  str(previous.get("ref", "")))
        return [hit], attribute
    if ask.intent != "atributo" or not ask.content:
        return None
    if ask.attribute in ("resumen", "avance", "estado") and PLURAL_KINDS & set(ask.words):
        return None  # «¿cómo van las metas de salud?»: the list, each with its figure
    kinds = _kinds_for(ask)
    found = facts.Match()
    if ask.attribute == "sitio":  # «¿dónde es la visita de obra…?»: an event, if one is named
        found = facts.match(index, ask.rest, ("evento",), today=today)
    if not found.hits or found.relaxed:
        found = facts.match(index, ask.rest, kinds, today=today)
    if not found.hits or (found.relaxed and ask.pointer):
        return None  # «dónde saco el pasaporte»: a trámite, not the place of some work
    if ask.plural and found.clear is not None:  # «¿cuándo son los facebook live?»: all of them
        same = [h for h in index.ranked(ask.rest, today=today) if h.kind == found.clear.kind]
        return [h for h in same if h.score >= PLURAL_RATIO * same[0].score][:5], ask.attribute
    return found.hits, ask.attribute


async def _howto(update: Update, context: CabildoContext, index: SearchIndex, ask: Ask
                 ) -> tuple[str, InlineKeyboardMarkup] | None:
    """Answer «cómo me inscribo…», «cómo voto», «cómo pregunto» with the action itself."""
    chat = update.effective_chat
    text, label, data = HOWTO[ask.action]
    if ask.action == "inscribirse" and ask.content and chat is not None:
        found = facts.match(index, ask.rest, ("evento",), today=context.settings.today())
        if found.clear is not None and found.clear.ref.isdigit():
            async with context.db.session() as session:
                event = await facts.event(session, int(found.clear.ref))
            if event is not None:
                card, markup = await event_card(context, event, chat.id)
                intro = ("Para inscribirse toque «✅ Asistiré» en la ficha del evento:\n\n"
                         if any("Asistiré" in b.text for row in markup.inline_keyboard
                                for b in row) else "")
                return intro + card, markup
    return text, _markup([_button(label, data)])




async def chosen(update: Update, context: CabildoContext) -> None:
    """Answer the question asked about the item picked from «¿Se refiere a…?»."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    await query.answer()
    _, letter, attribute, key = (query.data or "").split(":", 3)
    kind = next((k for k, v in CHOICE_KINDS.items() if v == letter), "")
    hit = Hit(kind, key, "", 1.0, key if kind == "evento" else "")
    if kind == "presupuesto":
        async with context.db.session() as session:
            _, per_office = await facts.offices(session)
        if not key.isdigit() or int(key) >= len(per_office):
            await show(update, GONE)
            return
        hit = Hit(kind, per_office[int(key)].name, per_office[int(key)].name, 1.0)
    found = await _item_reply(context, hit, attribute, chat.id) if kind else None
    if found is None:
        await show(update, GONE)
        return
    await remember(update, context, {"kind": hit.kind, "key": hit.key, "ref": hit.ref,
                                     "title": "", "attribute": attribute})
    await show(update, found[0][:4000], found[1])


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CallbackQueryHandler(chosen, pattern=r"^resp:[omepc]:[a-z_]{1,20}:"),
]
