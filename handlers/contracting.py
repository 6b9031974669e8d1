"""`/contratacion`: processes taking bids (by modality), being evaluated, awarded, and other.

Callback data (`contr:`): `contr:<group>:<page>` a group's list (`a` taking bids,
`e` being evaluated, `d` awarded, `o` desiertos and others) · `contr:p:<numero>` one process.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import CabildoContext
from bot.formatting import clip, local_date, money_short
from handlers.paging import callback, nav_row, paginate
from handlers.screens import show
from storage.contracting import by_stage, overdue, process_by_number
from storage.models import ContractingProcess

INTRO = (
    "📑 <b>Contratación</b>\n"
    "Reciben ofertas: {open}{by_mode}\n\n"
    "En evaluación: {evaluating}{overdue}\n"
    "Adjudicados: {awarded}\n"
    "Desiertos, cancelados u otros: {other}"
)
OVERDUE_NOTE = " (incluye {count} que siguen como «Abierto» con la fecha de cierre ya pasada)"
# group letter in the callback data → (stage, list title, button)
GROUPS = {
    "a": ("ofertas", "📂 <b>Reciben ofertas</b>", "📂 Reciben ofertas"),
    "e": ("evaluacion", "🔎 <b>En evaluación</b>", "🔎 En evaluación"),
    "d": ("adjudicado", "✅ <b>Adjudicados</b>", "✅ Adjudicados"),
    "o": ("otro", "🚫 <b>Desiertos, cancelados u otros</b>", "🚫 Desiertos y otros"),
}
CLOSED_ALREADY = " (ya pasó)"
GONE = "Esa opción ya no está disponible."
PER_PAGE = 8


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def process_card(p: ContractingProcess, locale: str, today: date) -> str:
    """Write one process's card."""
    lines = [
        f"📑 <b>{escape(p.numero_proceso)}</b> · {escape(p.modalidad)}",
        escape(p.objeto),
        f"Valor: {money_short(p.valor, locale)}",
        f"Estado: <b>{escape(p.estado)}</b>",
    ]
    if p.fecha_apertura:
        lines.append(f"Apertura: {local_date(p.fecha_apertura, locale)}")
    if p.fecha_cierre:
        late = CLOSED_ALREADY if overdue(p, today) else ""
        lines.append(f"Cierre: {local_date(p.fecha_cierre, locale)}{late}")
    if p.dependencia:
        lines.append(f"Dependencia: {escape(p.dependencia)}")
    if p.enlace_secop:
        lines.append(f'<a href="{escape(p.enlace_secop)}">Ver en SECOP</a>')
    return "\n".join(lines)


async def show_contracting(update: Update, context: CabildoContext) -> None:
    """Show how many processes are in each stage, those taking bids by modality."""
    if update.callback_query:
        await update.callback_query.answer()
    today = context.settings.today()
    async with context.db.session() as session:
        groups = await by_stage(session, today=today)
    modes = Counter(p.modalidad for p in groups["ofertas"])
    by_mode = "".join(f"\n• {escape(m)}: {n}" for m, n in sorted(modes.items()))
    late = sum(1 for p in groups["evaluacion"] if overdue(p, today))
    text = INTRO.format(
        open=len(groups["ofertas"]), by_mode=by_mode, evaluating=len(groups["evaluacion"]),
        overdue=OVERDUE_NOTE.format(count=late) if late else "",
        awarded=len(groups["adjudicado"]), other=len(groups["otro"]),
    )
    buttons = [_button(label, f"contr:{letter}:0") for letter, (name, _, label) in GROUPS.items()
               if groups[name]]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    await show(update, text, InlineKeyboardMarkup([*rows, [_button("🏠 Menú", "menu:inicio")]]))


async def on_button(update: Update, context: CabildoContext) -> None:
    """Handle the contracting buttons: lists and one process."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    parts = (query.data or "").split(":", 2)[1:]
    try:
        if len(parts) == 2 and parts[0] in GROUPS:
            name, title, _ = GROUPS[parts[0]]
            async with context.db.session() as session:
                items = (await by_stage(session, today=context.settings.today()))[name]
            page = paginate(items, int(parts[1]), PER_PAGE)
            if page.number != int(parts[1]):
                raise LookupError(parts)
            rows = [[_button(f"{p.numero_proceso} · {clip(p.objeto, 40)}",
                             callback("contr", "p", p.numero_proceso))] for p in page.items]
            nav = nav_row(page, "contr", parts[0])  # type: ignore[arg-type]
            back = [_button("⬅️ Contratación", "menu:contratacion")]
            await show(update, f"{title}\n{page.label}",
                         InlineKeyboardMarkup([*rows, *([nav] if nav else []), back]))
        elif len(parts) == 2 and parts[0] == "p":
            async with context.db.session() as session:
                process = await process_by_number(session, parts[1])
            if process is None:
                raise LookupError(parts)
            back = [_button("⬅️ Contratación", "menu:contratacion")]
            card = process_card(process, context.settings.locale, context.settings.today())
            await show(update, card, InlineKeyboardMarkup([back]))
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
