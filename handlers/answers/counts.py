"""Counts and totals: «¿cuántas metas se han cumplido?», the whole budget paid, the
processes taking bids («contratos abiertos de infraestructura»)."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup

from bot.context import CabildoContext
from bot.formatting import clip, local_date, money_short, percent, plural
from handlers.answers.markup import _button, _markup
from handlers.callbacks import ProcessCard, WorkCard, WorksOfComuna, button
from handlers.places import comuna_place
from storage.answers import facts
from storage.answers.ask import Ask
from storage.budget import Execution
from storage.comunas import comuna_by_code, comuna_by_id
from storage.contracting import by_stage
from storage.goals import STATUS_ASKED, progress
from storage.goals import status_of as goal_status
from storage.search import SearchIndex
from storage.surveys import known_comunas
from storage.works import invested_in

STATUS_LABELS = {"suspendida": "suspendidas", "terminada": "terminadas",
                 "en ejecucion": "en ejecución", "por iniciar": "por iniciar",
                 "en contratacion": "en contratación"}
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
    rows = [[_button(clip(p.objeto, 60), ProcessCard(p.numero_proceso).encode())]
            for p in taking[:8] if len(p.numero_proceso) < 50]
    return "\n".join(lines), _markup(*rows, more)


INVESTED = ("🏗️ {Place} hay <b>{works}</b> con contratos por <b>{total}</b> en total{unvalued}.")
INVESTED_NONE = "🏗️ {Place} no hay obras registradas."
UNVALUED = " ({count} sin valor registrado)"
INVESTED_LARGEST = "Las de mayor valor:"
INVESTED_ALL = "🏗️ Todas las obras {place}"
WHICH_COMUNA = ("🏗️ ¿En qué comuna? Aún no sé cuál es la suya: escríbala, por ejemplo «¿cuánto "
                "se ha invertido en la comuna 4?», o elíjala en Obras.")


def says_my_comuna(ask: Ask) -> bool:
    """Tell whether the question is about the person's own comuna («en mi comuna»)."""
    return any(pair == ("mi", "comuna") for pair in zip(ask.words, ask.words[1:], strict=False))


async def my_comunas(context: CabildoContext, *, telegram_id: int, chat_id: int
                     ) -> tuple[str, ...]:
    """Return the codes of the comunas the person lives in or follows (`/alertas`)."""
    async with context.db.session() as session:
        ids = await known_comunas(session, telegram_id=telegram_id, chat_id=chat_id)
        comunas = [await comuna_by_id(session, i) for i in sorted(ids)]
    return tuple(c.codigo for c in comunas if c is not None)


def which_comuna() -> tuple[str, InlineKeyboardMarkup]:
    """Ask which comuna, when the person said «mi comuna» and none is known."""
    return WHICH_COMUNA, _markup([_button("🏗️ Obras por comuna", "menu:obras")])


async def invested(context: CabildoContext, codes: tuple[str, ...]
                   ) -> tuple[str, InlineKeyboardMarkup]:
    """Answer «¿cuánto se ha invertido en la comuna 4?»: what its works are contracted for
    (the budget is not kept by comuna), with the largest ones."""
    locale = context.settings.locale
    lines: list[str] = []
    rows = []
    async with context.db.session() as session:
        for code in codes[:3]:
            comuna = await comuna_by_code(session, code)
            place_in, place_of = comuna_place(comuna, code)
            place = escape(place_in[:1].upper() + place_in[1:])  # «En la comuna 4 · …»
            sums = await invested_in(session, comuna_id=comuna.id or 0) if comuna else None
            if lines:
                lines.append("")
            if sums is None or not sums.works:
                lines.append(INVESTED_NONE.format(Place=place))
                continue
            unvalued = sums.works - sums.valued
            lines.append(INVESTED.format(
                Place=place, works=plural(sums.works, "obra", "obras"),
                total=money_short(sums.total, locale),
                unvalued=UNVALUED.format(count=unvalued) if unvalued else ""))
            if len(sums.largest) > 1 or (sums.largest and sums.works > 1):
                lines.append(INVESTED_LARGEST)
            for work_code, name, value in sums.largest:
                lines.append(f"• {escape(clip(name, 90))} — {money_short(value, locale)}")
                rows.append([button(clip(name, 60), WorkCard(work_code))])
            rows.append([button(clip(INVESTED_ALL.format(place=place_of), 60),
                                WorksOfComuna(code, 0))])
    return "\n".join(lines), _markup(*rows)
