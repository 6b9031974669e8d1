"""One item's answer: the sentence with the attribute asked for first (a work's contractor,
a goal's progress, an event's date…), its card's button; and «¿Se refiere a…?» when several
items fit."""

from __future__ import annotations

import contextlib
from html import escape
from typing import Literal

from babel.dates import format_time
from telegram import InlineKeyboardButton, InlineKeyboardMarkup

from bot.context import CabildoContext
from bot.formatting import clip, local_date, local_datetime, money_short, percent, reported_percent
from handlers.answers.markup import _button, _markup
from handlers.callbacks import (
    AnswerChoice,
    BudgetOffice,
    EventCard,
    GoalCard,
    ProcessCard,
    WorkCard,
)
from handlers.events import event_card
from storage.answers import facts
from storage.budget import Execution
from storage.events import is_called_off
from storage.goals import progress
from storage.goals import status_of as goal_status
from storage.models import Comuna, ContractingProcess, Event, Goal, Work
from storage.search import Hit
from storage.search import status_of as work_status

WHICH = "¿Se refiere a…?"
THESE = "Encontré {count}:"
PLACES_LINES = ("Cupos", "Inscripciones", "<b>✅", "<b>⏳", "🔗")
LATE = " ⚠️ Esa fecha ya pasó y la obra no ha terminado."


# --- one item: the sentence ---------------------------------------------------------------


def work_sentence(work: Work, comuna: Comuna | None, attribute: str,
                  context: CabildoContext) -> str:
    """Say the asked attribute of a work in a sentence or two."""
    locale, today = context.settings.locale, context.settings.today()
    name = f"<b>{escape(work.nombre)}</b>"
    status = escape(work.estado.lower())
    physical = reported_percent(work.avance_fisico, locale)
    # SECOP publishes no physical progress: say it is not reported, never «0 %».
    reported = work.avance_fisico is not None
    carries = (f"lleva {physical} de avance físico" if reported
               else "su avance físico no está reportado todavía")
    finished = work_status(work.estado) == "terminada"
    late = facts.days_late(work, today) > 0
    due = local_date(work.fecha_fin_prevista, locale) if work.fecha_fin_prevista else ""
    if attribute == "avance" and work.avance_fisico is None:
        text = f"{name} no tiene avance físico reportado todavía"
        if work.avance_financiero is not None:
            text += f"; lleva {percent(work.avance_financiero, locale)} de avance financiero"
        return text + f". Está {status}." + (LATE if late else "")
    if attribute == "avance":
        text = f"{name} lleva <b>{physical}</b> de avance físico"
        if work.avance_financiero is not None:
            text += f" y {percent(work.avance_financiero, locale)} de avance financiero"
        return text + f". Está {status}." + (LATE if late else "")
    if attribute in ("avance_financiero", "pagos"):
        if work.avance_financiero is None:
            return f"{name} no tiene avance financiero registrado; {carries}."
        return (f"{name} lleva <b>{percent(work.avance_financiero, locale)}</b> de avance "
                "financiero (lo pagado del contrato)" + (
                    f" y {physical} de avance físico." if reported else f"; {carries}."))
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
                f"{who}. {carries[0].upper()}{carries[1:]}.")
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
            return (f"{name} no tiene fecha de entrega registrada: está {status}, con "
                    + (f"{physical}." if reported else "el avance físico sin reportar."))
        return (f"La entrega de {name} está prevista para el <b>{due}</b>. "
                f"{carries[0].upper()}{carries[1:]} y está {status}." + (LATE if late else ""))
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
    text = f"{name} está <b>{status}</b>, " + (
        f"con <b>{physical}</b> de avance físico" if reported
        else "con el avance físico sin reportar todavía")
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
    if is_called_off(event):  # never give the date of an event that will not happen
        return f"{name}, que era el {when}, <b>se canceló</b>: {escape(event.motivo or '')}."
    if attribute in ("lugar", "sitio"):
        return f"{name} será en <b>{place}</b> ({when})."
    if attribute == "hora":
        hour = format_time(event.inicio.astimezone(settings.tz), "h:mm a", locale=settings.locale)
        return f"{name} empieza a las <b>{hour}</b>, el {when}, en {place}."
    if attribute == "fin":
        if event.fin is None:
            return (f"{name} no tiene hora de cierre publicada. Empieza el <b>{when}</b>, "
                    f"en {place}.")
        return f"{name} termina el <b>{local_datetime(event.fin, settings.tz, settings.locale)}" \
               f"</b>; empieza el {when}, en {place}."
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
                                          WorkCard(work.codigo).encode())])
        if hit.kind == "meta":
            goal = await facts.goal(session, hit.key)
            if goal is None:
                return None
            return goal_sentence(goal, attribute, locale), _markup(
                [_button("🎯 Ver la meta", GoalCard(goal.codigo).encode())])
        if hit.kind == "presupuesto":
            _, per_office = await facts.offices(session)
            names = [o.name for o in per_office]
            if hit.key not in names:
                return None
            item = per_office[names.index(hit.key)]
            return office_sentence(item, attribute, locale), _markup(
                [_button("💰 Ver el detalle", BudgetOffice(names.index(hit.key)).encode())],
                [_button("💰 Presupuesto", "menu:presupuesto")])
        if hit.kind == "evento" and hit.ref.isdigit():
            event = await facts.event(session, int(hit.ref))
        elif hit.kind == "contratacion":
            process = await facts.process(session, hit.key)
            if process is None:
                return None
            rows = [[_button("📑 Ver el proceso", ProcessCard(process.numero_proceso).encode())]
                    ] if len(process.numero_proceso) < 50 else []
            return process_sentence(process, attribute, locale, None), _markup(*rows)
        else:
            return None
    if event is None:
        return None
    card, markup = await event_card(context, event, chat_id)
    # The card's places and the person's own registration, after the sentence.
    extra = [line for line in card.splitlines() if line.startswith(PLACES_LINES)]
    rows = [[_button("📅 Ver el evento", EventCard(event.id or 0).encode())],
            *(list(row) for row in markup.inline_keyboard)]
    return "\n".join([event_sentence(event, attribute, context), *extra]), InlineKeyboardMarkup(
        rows)


def _work_asked(work: Work, attribute: str, locale: str, late: bool) -> str:
    """The attribute asked about a work, to tell the candidates apart by the answer itself
    («contratista: Consorcio Vías»); "" for the usual fact."""
    if attribute == "contratista":
        return (f"contratista: {escape(work.contratista)}" if work.contratista
                else "sin contratista registrado")
    if attribute == "valor":
        return (f"contrato de {money_short(work.valor_contrato, locale)}"
                if work.valor_contrato is not None else "sin valor de contrato registrado")
    if attribute == "inicio":
        return (f"inicio: {local_date(work.fecha_inicio, locale)}" if work.fecha_inicio
                else "sin fecha de inicio registrada")
    if attribute in ("fin", "fecha") and work_status(work.estado) != "terminada":
        return (f"entrega prevista: {local_date(work.fecha_fin_prevista, locale)}"
                + (" · ⚠️ atrasada" if late else "")
                if work.fecha_fin_prevista else "sin fecha de entrega registrada")
    if attribute in ("avance_financiero", "pagos"):
        return (f"{percent(work.avance_financiero, locale)} de avance financiero"
                if work.avance_financiero is not None else "sin avance financiero registrado")
    return ""


def hit_fact(hit: Hit, rows: facts.Listed, context: CabildoContext, attribute: str = "") -> str:
    """Return the key fact shown beside a hit's title in a list («en ejecución · 54 %»); for
    a work, the attribute asked about when there is one («contratista: …»)."""
    settings = context.settings
    locale = settings.locale
    if hit.kind == "obra" and hit.key in rows.works:
        work = rows.works[hit.key]
        is_late = facts.days_late(work, settings.today()) > 0
        asked = _work_asked(work, attribute, locale, is_late)
        if asked:
            return asked
        late = " · ⚠️ atrasada" if is_late else ""
        physical = (percent(work.avance_fisico, locale) if work.avance_fisico is not None
                    else "avance no reportado")
        return f"{escape(work.estado.lower())} · {physical}{late}"
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


def hit_line(hit: Hit, rows: facts.Listed, context: CabildoContext, attribute: str = "") -> str:
    """Return a list line: the title and, when there is one, its key fact (`attribute`: the
    one asked about, `hit_fact`)."""
    fact = hit_fact(hit, rows, context, attribute)
    return f"• {escape(clip(hit.title, 120))}" + (f" — {fact}" if fact else "")


# A choice answers the question asked about the item chosen (`AnswerChoice`)
# (an event by its id, an office by its place in the year's list).
CHOICE_KINDS: dict[str, Literal["o", "m", "p", "e", "c"]] = {
    "obra": "o", "meta": "m", "presupuesto": "p", "evento": "e", "contratacion": "c",
}


def _choice_button(hit: Hit, offices: list[str], attribute: str) -> InlineKeyboardButton | None:
    label = clip(hit.title, 60)
    key = (hit.ref if hit.kind == "evento" else str(offices.index(hit.key))
           if hit.kind == "presupuesto" and hit.key in offices else hit.key)
    if attribute and hit.kind in CHOICE_KINDS and key:
        with contextlib.suppress(ValueError):  # a key too long for Telegram's 64 bytes
            return _button(label, AnswerChoice(CHOICE_KINDS[hit.kind], attribute, key).encode())
    if hit.kind == "obra":
        return _button(label, WorkCard(hit.key).encode())
    if hit.kind == "meta":
        return _button(label, GoalCard(hit.key).encode())
    if hit.kind == "presupuesto" and hit.key in offices:
        return _button(label, BudgetOffice(offices.index(hit.key)).encode())
    if hit.kind == "evento" and hit.ref.isdigit():
        return _button(label, EventCard(int(hit.ref)).encode())
    if hit.kind == "contratacion" and len(hit.key) < 50:
        return _button(label, ProcessCard(hit.key).encode())
    return None


async def _choices(context: CabildoContext, hits: list[Hit], attribute: str = "",
                   heading: str = WHICH) -> tuple[str, InlineKeyboardMarkup]:
    async with context.db.session() as session:
        _, per_office = await facts.offices(session)
        rows = await facts.listed(session, hits)
    offices = [o.name for o in per_office]
    buttons = [b for b in (_choice_button(h, offices, attribute) for h in hits)
               if b is not None]
    lines = [heading, *(hit_line(h, rows, context, attribute) for h in hits)]
    return "\n".join(lines), _markup(*([b] for b in buttons))
