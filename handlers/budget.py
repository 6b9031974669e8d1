"""`/presupuesto`: budget execution of the latest year, overall and per office, with a chart.

Buttons (`handlers.callbacks`, `ppto:`): `BudgetOffices` a page of the offices ·
`BudgetOffice` one (by its place in that list: biggest appropriation first) · `BudgetChart`
the chart · `BudgetTotals` the totals.
"""

from __future__ import annotations

from datetime import tzinfo
from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.charts import horizontal_bars
from bot.context import CabildoContext
from bot.formatting import clip, local_date, money_short, percent, source_line
from handlers.callbacks import (
    BudgetChart,
    BudgetOffice,
    BudgetOffices,
    BudgetTotals,
    button,
    on_press,
    on_stale,
)
from handlers.paging import page_row, paginate
from handlers.photos import send_png
from handlers.screens import show
from storage.budget import Execution, execution, latest_year, match_offices

NO_DATA = "Todavía no hay datos de ejecución del presupuesto."
GONE = "Esa opción ya no está disponible."
READING = "Se ha comprometido el {committed} del presupuesto de {year} y se ha pagado el {paid}."
NOT_FOUND = "No encontré la dependencia «{text}». Vea la lista:"
SEVERAL = "Varias dependencias coinciden con «{text}»:"
OFFICES = "🏛️ <b>Dependencias</b> — presupuesto {year}, de mayor a menor\n{page}"
CHART_TITLE = "% del presupuesto {year} comprometido, por dependencia"
CHART_CAPTION = (
    "📊 Ejecución del presupuesto {year}: porcentaje comprometido por cada una de las "
    "{count} dependencias, de mayor a menor."
)
CHART_CAPTION_TOP = (
    "📊 Ejecución del presupuesto {year}: porcentaje comprometido de las {count} dependencias "
    "con más presupuesto (de {total}), de mayor a menor. Las demás están en «Dependencias»."
)
PER_PAGE = 8
CHART_OFFICES = 40  # more bars would not be readable on a phone


TOTAL = button("💰 Total", BudgetTotals())


def figures(item: Execution, locale: str) -> str:
    """Write the four figures of an execution with their % of the appropriation."""
    lines = [
        f"Apropiación definitiva: {money_short(item.apropiacion, locale)}",
        f"Compromisos: {money_short(item.compromisos, locale)} ({percent(item.executed, locale)})",
        f"Obligaciones: {money_short(item.obligaciones, locale)} "
        f"({percent(item.share(item.obligaciones), locale)})",
        f"Pagos: {money_short(item.pagos, locale)} ({percent(item.share(item.pagos), locale)})",
    ]
    if item.fecha_corte:
        lines.append(f"Datos con corte al {local_date(item.fecha_corte, locale)}.")
    return "\n".join(lines)


def _reading(item: Execution) -> str:
    return READING.format(committed=f"{item.executed:.0f} %", year=item.vigencia,
                          paid=f"{item.share(item.pagos):.0f} %")


async def _data(context: CabildoContext) -> tuple[Execution, list[Execution]] | None:
    async with context.db.session() as session:
        year = await latest_year(session)
        return await execution(session, vigencia=year) if year else None


def _source(item: Execution, locale: str, tz: tzinfo | None) -> str:
    return source_line(item.fuente, item.importado_at, tz=tz, locale=locale)


def _totals_screen(
    total: Execution, locale: str, tz: tzinfo | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    text = (f"💰 <b>Ejecución del presupuesto {total.vigencia}</b>\n{figures(total, locale)}\n\n"
            f"{_reading(total)}\n{_source(total, locale, tz)}")
    markup = InlineKeyboardMarkup([
        [button("🏛️ Por dependencia", BudgetOffices(0)), button("📊 Ver gráfico", BudgetChart())],
        [button("🏠 Menú", "menu:inicio")],
    ])
    return text, markup


def _office_screen(
    item: Execution, index: int, locale: str, tz: tzinfo | None = None
) -> tuple[str, InlineKeyboardMarkup]:
    lines = [f"🏛️ <b>{escape(item.name)}</b> — presupuesto {item.vigencia}", figures(item, locale),
             "", _reading(item), _source(item, locale, tz)]
    if len(item.rubros) > 1:
        lines.insert(1, "Rubros: " + escape(", ".join(item.rubros)))
    markup = InlineKeyboardMarkup([
        [button("⬅️ Dependencias", BudgetOffices(index // PER_PAGE)),
         TOTAL],
    ])
    return "\n".join(lines), markup


async def show_budget(update: Update, context: CabildoContext) -> None:
    """Show the year's totals, or the office named after the command."""
    if update.callback_query:
        await update.callback_query.answer()
    data = await _data(context)
    locale = context.settings.locale
    if data is None:
        await show(update, NO_DATA, InlineKeyboardMarkup([[button("🏠 Menú", "menu:inicio")]]))
        return
    total, offices = data
    text = " ".join(context.args or []) if update.callback_query is None else ""
    if not text:
        await show(update, *_totals_screen(total, locale, context.settings.tz))
        return
    found = match_offices(offices, text)
    if len(found) == 1:
        await show(update, *_office_screen(found[0], offices.index(found[0]), locale,
                                          context.settings.tz))
        return
    shown = escape(text[:60])
    if not found:
        markup = InlineKeyboardMarkup([[button("🏛️ Ver dependencias", BudgetOffices(0))]])
        await show(update, NOT_FOUND.format(text=shown), markup)
        return
    rows = [[button(clip(o.name, 60), BudgetOffice(offices.index(o)))]
            for o in found[:10]]
    await show(update, SEVERAL.format(text=shown), InlineKeyboardMarkup(rows))


async def _loaded(context: CabildoContext) -> tuple[Execution, list[Execution]]:
    """Return the latest year's totals and offices; LookupError when there are none."""
    data = await _data(context)
    if data is None:
        raise LookupError("no budget")
    return data


async def show_totals(update: Update, context: CabildoContext, _: BudgetTotals) -> None:
    """Show the latest year's totals."""
    total, _offices = await _loaded(context)
    await show(update, *_totals_screen(total, context.settings.locale, context.settings.tz))


async def show_chart(update: Update, context: CabildoContext, _: BudgetChart) -> None:
    """Send the chart of execution by office."""
    await _send_chart(update, context, *await _loaded(context))


async def show_offices(update: Update, context: CabildoContext, action: BudgetOffices) -> None:
    """Show a page of the offices with how much each has executed."""
    total, offices = await _loaded(context)
    page = paginate(offices, action.page, PER_PAGE)
    if page.number != action.page:
        raise LookupError(action)
    start = page.number * PER_PAGE
    rows = [[button(f"{clip(o.name, 44)} · {o.executed:.0f} %", BudgetOffice(start + i))]
            for i, o in enumerate(page.items)]
    nav = page_row(page, BudgetOffices)
    markup = InlineKeyboardMarkup([*rows, *([nav] if nav else []), [TOTAL]])
    await show(update, OFFICES.format(year=total.vigencia, page=page.label), markup)


async def show_office(update: Update, context: CabildoContext, action: BudgetOffice) -> None:
    """Show one office's execution."""
    _total, offices = await _loaded(context)
    if not 0 <= action.index < len(offices):
        raise LookupError(action)
    await show(update, *_office_screen(offices[action.index], action.index,
                                       context.settings.locale, context.settings.tz))


async def gone(update: Update, context: CabildoContext) -> None:
    """Say a budget button's office or page no longer exists."""
    await show(update, GONE, InlineKeyboardMarkup([[TOTAL]]))


async def _send_chart(
    update: Update, context: CabildoContext, total: Execution, offices: list[Execution]
) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    # Every office (the biggest ones if there are too many), ranked by execution, so the
    # lowest is as visible as the highest.
    shown = sorted(offices[:CHART_OFFICES], key=lambda o: o.executed, reverse=True)
    png = await horizontal_bars([o.name for o in shown], [o.executed for o in shown],
                                title=CHART_TITLE.format(year=total.vigencia))
    caption = (CHART_CAPTION if len(offices) <= CHART_OFFICES else CHART_CAPTION_TOP).format(
        year=total.vigencia, count=len(shown), total=len(offices))
    await send_png(context, chat.id, png, caption=caption)


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CallbackQueryHandler(show_budget, pattern=r"^menu:presupuesto$"),
    on_press(BudgetTotals, show_totals, gone=gone),
    on_press(BudgetChart, show_chart, gone=gone),
    on_press(BudgetOffices, show_offices, gone=gone),
    on_press(BudgetOffice, show_office, gone=gone),
    on_stale("ppto", gone),
]
