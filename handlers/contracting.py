"""`/contratacion`: processes taking bids (by modality), being evaluated, awarded, and other.

Buttons (`handlers.callbacks`): `ContractingPage` a stage's list, `ContractingProcess` one
process.
"""

from __future__ import annotations

from collections import Counter
from datetime import date, tzinfo
from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import CabildoContext
from bot.formatting import clip, local_date, money_short, source_line
from handlers.callbacks import ContractingPage, ProcessCard, Stage, button, on_press, on_stale
from handlers.paging import page_row, paginate
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
GROUPS: dict[Stage, tuple[str, str, str]] = {
    "a": ("ofertas", "📂 <b>Reciben ofertas</b>", "📂 Reciben ofertas"),
    "e": ("evaluacion", "🔎 <b>En evaluación</b>", "🔎 En evaluación"),
    "d": ("adjudicado", "✅ <b>Adjudicados</b>", "✅ Adjudicados"),
    "o": ("otro", "🚫 <b>Desiertos, cancelados u otros</b>", "🚫 Desiertos y otros"),
}
CLOSED_ALREADY = " (ya pasó)"
GONE = "Esa opción ya no está disponible."
PER_PAGE = 8


BACK = button("⬅️ Contratación", "menu:contratacion")


def process_card(
    p: ContractingProcess, locale: str, today: date, tz: tzinfo | None = None
) -> str:
    """Write one process's card, ending with where its data came from and when."""
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
    lines.append(source_line(p.fuente, p.importado_at or p.updated_at, tz=tz, locale=locale,
                             link=p.enlace_secop if p.fuente else None))
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
    buttons = [button(label, ContractingPage(letter, 0))
               for letter, (name, _, label) in GROUPS.items() if groups[name]]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    await show(update, text, InlineKeyboardMarkup([*rows, [button("🏠 Menú", "menu:inicio")]]))


async def show_group(update: Update, context: CabildoContext, action: ContractingPage) -> None:
    """Show a page of one stage's processes."""
    name, title, _ = GROUPS[action.group]
    async with context.db.session() as session:
        items = (await by_stage(session, today=context.settings.today()))[name]
    page = paginate(items, action.page, PER_PAGE)
    if page.number != action.page:
        await gone(update, context)
        return
    rows = [[button(f"{p.numero_proceso} · {clip(p.objeto, 40)}",
                    ProcessCard(p.numero_proceso))] for p in page.items]
    nav = page_row(page, lambda n: ContractingPage(action.group, n))
    await show(update, f"{title}\n{page.label}",
               InlineKeyboardMarkup([*rows, *([nav] if nav else []), [BACK]]))


async def show_process(
    update: Update, context: CabildoContext, action: ProcessCard
) -> None:
    """Show one process's card."""
    async with context.db.session() as session:
        process = await process_by_number(session, action.numero)
    if process is None:
        await gone(update, context)
        return
    settings = context.settings
    card = process_card(process, settings.locale, settings.today(), settings.tz)
    await show(update, card, InlineKeyboardMarkup([[BACK]]))


async def gone(update: Update, context: CabildoContext) -> None:
    """Say a contracting button's process or page no longer exists (or never did)."""
    await show(update, GONE, InlineKeyboardMarkup([[BACK]]))


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CallbackQueryHandler(show_contracting, pattern=r"^menu:contratacion$"),
    on_press(ContractingPage, show_group),
    on_press(ProcessCard, show_process),
    on_stale("contr", gone),
]
