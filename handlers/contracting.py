"""`/contratacion`: open contracting processes by modality, and recent awards.

Callback data (`contr:`): `contr:a:<page>` open processes · `contr:d:<page>` awards ·
`contr:p:<numero>` one process.
"""

from __future__ import annotations

from collections import Counter
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import CabildoContext
from bot.formatting import clip, local_date, money
from handlers.paging import callback, nav_row, paginate
from handlers.screens import show
from storage.contracting import AWARDED_STATES, OPEN_STATES, process_by_number, processes
from storage.models import ContractingProcess

INTRO = "📑 <b>Contratación</b>\nProcesos abiertos: {open}\n{by_mode}\n\nAdjudicados: {awarded}"
LIST = {"a": "📑 <b>Procesos abiertos</b>\n{page}", "d": "📑 <b>Adjudicados</b>\n{page}"}
GONE = "Esa opción ya no está disponible."
PER_PAGE = 8


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def process_card(p: ContractingProcess, locale: str) -> str:
    """Write one process's card."""
    lines = [
        f"📑 <b>{escape(p.numero_proceso)}</b> · {escape(p.modalidad)}",
        escape(p.objeto),
        f"Valor: {money(p.valor, locale)}",
        f"Estado: <b>{escape(p.estado)}</b>",
    ]
    if p.fecha_apertura:
        lines.append(f"Apertura: {local_date(p.fecha_apertura, locale)}")
    if p.fecha_cierre:
        lines.append(f"Cierre: {local_date(p.fecha_cierre, locale)}")
    if p.dependencia:
        lines.append(f"Dependencia: {escape(p.dependencia)}")
    if p.enlace_secop:
        lines.append(f'<a href="{escape(p.enlace_secop)}">Ver en SECOP</a>')
    return "\n".join(lines)


async def show_contracting(update: Update, context: CabildoContext) -> None:
    """Show open processes by modality and how many were awarded."""
    if update.callback_query:
        await update.callback_query.answer()
    async with context.db.session() as session:
        opened = await processes(session, states=OPEN_STATES)
        awarded = await processes(session, states=AWARDED_STATES)
    modes = Counter(p.modalidad for p in opened)
    by_mode = "\n".join(f"• {escape(m)}: {n}" for m, n in sorted(modes.items()))
    markup = InlineKeyboardMarkup([
        [_button("📂 Ver abiertos", "contr:a:0"), _button("✅ Ver adjudicados", "contr:d:0")],
        [_button("🏠 Menú", "menu:inicio")],
    ])
    await show(update, INTRO.format(open=len(opened), by_mode=by_mode, awarded=len(awarded)),
                 markup)


async def on_button(update: Update, context: CabildoContext) -> None:
    """Handle the contracting buttons: lists and one process."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    parts = (query.data or "").split(":", 2)[1:]
    try:
        if len(parts) == 2 and parts[0] in LIST:
            states = OPEN_STATES if parts[0] == "a" else AWARDED_STATES
            async with context.db.session() as session:
                items = await processes(session, states=states)
            page = paginate(items, int(parts[1]), PER_PAGE)
            if page.number != int(parts[1]):
                raise LookupError(parts)
            rows = [[_button(f"{p.numero_proceso} · {clip(p.objeto, 40)}",
                             callback("contr", "p", p.numero_proceso))] for p in page.items]
            nav = nav_row(page, "contr", parts[0])  # type: ignore[arg-type]
            back = [_button("⬅️ Contratación", "menu:contratacion")]
            await show(update, LIST[parts[0]].format(page=page.label),
                         InlineKeyboardMarkup([*rows, *([nav] if nav else []), back]))
        elif len(parts) == 2 and parts[0] == "p":
            async with context.db.session() as session:
                process = await process_by_number(session, parts[1])
            if process is None:
                raise LookupError(parts)
            back = [_button("⬅️ Contratación", "menu:contratacion")]
            await show(update, process_card(process, context.settings.locale),
                         InlineKeyboardMarkup([back]))
        else:
            raise LookupError(parts)
    except (LookupError, ValueError):
        await show(update, GONE,
                     InlineKeyboardMarkup([[_button("⬅️ Contratación", "menu:contratacion")]]))


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CommandHandler("contratacion", show_contracting),
    CallbackQueryHandler(show_contracting, pattern=r"^menu:contratacion$"),
    CallbackQueryHandler(on_button, pattern=r"^contr:"),
]
