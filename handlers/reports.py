"""`/informes`: published reports (management, contracting, finances), newest first.

Buttons (`handlers.callbacks`, `inf:`): `ReportsPage` a page of the reports.
"""

from __future__ import annotations

import contextlib
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import CabildoContext
from bot.formatting import local_date
from handlers.callbacks import ReportsPage, on_press
from handlers.paging import page_row, paginate
from storage.contracting import reports
from storage.models import Report

TITLE = "📄 <b>Informes publicados</b> — {page}"
NO_DATA = "Todavía no hay informes publicados."
PER_PAGE = 5


def report_entry(report: Report, locale: str) -> str:
    """Write one report: title, kind, period, date, plain summary and link."""
    when = f" · publicado el {local_date(report.fecha_publicacion, locale)}" if (
        report.fecha_publicacion) else ""
    lines = [f"<b>{escape(report.titulo)}</b>",
             f"{escape(report.tipo)} · periodo {escape(report.periodo)}{when}"]
    if report.resumen:
        lines.append(escape(report.resumen))
    lines.append(f'<a href="{escape(report.enlace)}">Abrir el informe</a>')
    return "\n".join(lines)


async def show_reports(update: Update, context: CabildoContext) -> None:
    """Show the first page of reports (`/informes`, or the menu button)."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    await show_page(update, context, 0)


async def show_page(update: Update, context: CabildoContext, page_no: int) -> None:
    """Show a page of reports, newest first."""
    query = update.callback_query
    async with context.db.session() as session:
        items = await reports(session)
    if not items:
        text, markup = NO_DATA, InlineKeyboardMarkup([])
    else:
        page = paginate(items, page_no, PER_PAGE)
        text = "\n\n".join([TITLE.format(page=page.label),
                            *(report_entry(r, context.settings.locale) for r in page.items)])
        nav = page_row(page, ReportsPage)
        menu = [InlineKeyboardButton("🏠 Menú", callback_data="menu:inicio")]
        markup = InlineKeyboardMarkup([*([nav] if nav else []), menu])
    if query is not None:
        with contextlib.suppress(BadRequest):  # a double tap: the page is already shown
            await query.edit_message_text(text, reply_markup=markup)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text, reply_markup=markup)


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CallbackQueryHandler(show_reports, pattern=r"^menu:informes$"),
    on_press(ReportsPage, lambda u, c, a: show_page(u, c, a.page)),
]
