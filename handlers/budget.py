"""`/presupuesto`: budget execution of the latest year, overall and per office, with a chart.

Callback data (`ppto:`): `ppto:o:<page>` offices list · `ppto:d:<i>` office i (in the
list's order: biggest appropriation first) · `ppto:g` the chart · `ppto:t` the totals.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.charts import horizontal_bars
from bot.context import CabildoContext
from bot.formatting import clip, local_date, money_short, percent
from handlers.paging import callback, nav_row, paginate
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


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


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


def _totals_screen(total: Execution, locale: str) -> tuple[str, InlineKeyboardMarkup]:
    text = (f"💰 <b>Ejecución del presupuesto {total.vigencia}</b>\n{figures(total, locale)}\n\n"
            f"{_reading(total)}")
    markup = InlineKeyboardMarkup([
        [_button("🏛️ Por dependencia", "ppto:o:0"), _button("📊 Ver gráfico", "ppto:g")],
        [_button("🏠 Menú", "menu:inicio")],
    ])
    return text, markup


def _office_screen(item: Execution, index: int, locale: str) -> tuple[str, InlineKeyboardMarkup]:
    lines = [f"🏛️ <b>{escape(item.name)}</b> — presupuesto {item.vigencia}", figures(item, locale),
             "", _reading(item)]
    if len(item.rubros) > 1:
        lines.insert(1, "Rubros: " + escape(", ".join(item.rubros)))
    markup = InlineKeyboardMarkup([
        [_button("⬅️ Dependencias", callback("ppto", "o", index // PER_PAGE)),
         _button("💰 Total", "ppto:t")],
    ])
    return "\n".join(lines), markup


async def show_budget(update: Update, context: CabildoContext) -> None:
    """Show the year's totals, or the office named after the command."""
    if update.callback_query:
        await update.callback_query.answer()
    data = await _data(context)
    locale = context.settings.locale
    if data is None:
        await show(update, NO_DATA, InlineKeyboardMarkup([[_button("🏠 Menú", "menu:inicio")]]))
        return
    total, offices = data
    text = " ".join(context.args or []) if update.callback_query is None else ""
    if not text:
        await show(update, *_totals_screen(total, locale))
        return
    found = match_offices(offices, text)
    if len(found) == 1:
        await show(update, *_office_screen(found[0], offices.index(found[0]), locale))
        return
    shown = escape(text[:60])
    if not found:
        markup = InlineKeyboardMarkup([[_button("🏛️ Ver dependencias", "ppto:o:0")]])
        await show(update, NOT_FOUND.format(text=shown), markup)
        return
    rows = [[_button(clip(o.name, 60), callback("ppto", "d", offices.index(o)))]
            for o in found[:10]]
    await show(update, SEVERAL.format(text=shown), InlineKeyboardMarkup(rows))


async def on_button(update: Update, context: CabildoContext) -> None:
    """Handle the budget buttons: office list, an office, the chart, the totals."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    data = await _data(context)
    parts = (query.data or "").split(":")[1:]
    locale = context.settings.locale
    try:
        if data is None:
            raise LookupError
        total, offices = data
        if parts == ["t"]:
            await show(update, *_totals_screen(total, locale))
        elif parts == ["g"]:
            await _send_chart(update, context, total, offices)
        elif len(parts) == 2 and parts[0] == "o":
            page = paginate(offices, int(parts[1]), PER_PAGE)
            if page.number != int(parts[1]):
                raise LookupError(parts)
            start = page.number * PER_PAGE
            rows = [
                [_button(f"{clip(o.name, 44)} · {o.executed:.0f} %",
                         callback("ppto", "d", start + i))]
                for i, o in enumerate(page.items)
            ]
            nav = nav_row(page, "ppto", "o")  # type: ignore[arg-type]
            markup = InlineKeyboardMarkup([*rows, *([nav] if nav else []),
                                           [_button("💰 Total", "ppto:t")]])
            await show(update, OFFICES.format(year=total.vigencia, page=page.label), markup)
        elif len(parts) == 2 and parts[0] == "d":
            index = int(parts[1])
            if not 0 <= index < len(offices):
                raise LookupError(index)
            await show(update, *_office_screen(offices[index], index, locale))
        else:
            raise LookupError(parts)
    except (LookupError, ValueError):
        await show(update, GONE, InlineKeyboardMarkup([[_button("💰 Total", "ppto:t")]]))


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
    CommandHandler("presupuesto", show_budget),
    CallbackQueryHandler(show_budget, pattern=r"^menu:presupuesto$"),
    CallbackQueryHandler(on_button, pattern=r"^ppto:"),
]
