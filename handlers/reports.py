"""`/informes`: published reports (management, contracting, finances), newest first.

Callback data (`inf:`): `inf:<page>`.
"""

from __future__ import annotations

import contextlib
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import CabildoContext
from bot.formatting import local_date
from handlers.paging import nav_row, paginate
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
    """Show a page of reports, newest first."""
    query = update.callback_query
    page_no = 0
    if query is not None:
        await query.answer()
        tail = (query.data or "").removeprefix("inf:")
        page_no = int(tail) if tail.isdigit() else 0
    async with context.db.session() as session:
        items = await reports(session)
    if not items:
        text, markup = NO_DATA, InlineKeyboardMarkup([])
    else:
        page = paginate(items, page_no, PER_PAGE)
        text = "\n\n".join([TITLE.format(page=page.label),
                            *(report_entry(r, context.settings.locale) for r in page.items)])
        nav = nav_row(page, "inf")  # type: ignore[arg-type]
        menu = [InlineKeyboardButton("🏠 Menú", callback_data="menu:inicio")]
        markup = InlineKeyboardMarkup([*([nav] if nav else []), menu])
    if query is not None:
        with contextlib.suppress(BadRequest):  # a double tap: the page is already shown
            await query.edit_message_text(text, reply_markup=markup)
    elif update.effective_message is not None:
        await update.effective_message.reply_text(text, reply_markup=markup)


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CommandHandler("informes", show_reports),
    CallbackQueryHandler(show_reports, pattern=r"^(menu:informes|inf:\d{1,4})$"),
]
