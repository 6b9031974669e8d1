"""Staff: each round's results so far, and its votes per project as CSV."""

from __future__ import annotations

from telegram import (
    InlineKeyboardMarkup,
    InputFile,
    Update,
)

from bot.context import CabildoContext
from handlers.callbacks import (
    RoundCsv,
    RoundResultsPage,
    button,
)
from handlers.paging import page_row
from handlers.participation.common import GONE, STATE_ICON, comuna_name
from handlers.participation.rounds import results_page
from handlers.screens import show
from storage.exports import to_csv
from storage.participation import current_rounds
from storage.participation_results import round_results
from storage.types import utcnow

STAFF_INDEX = (
    "📊 <b>Presupuestos participativos: resultados</b>\n"
    "Mientras la votación está abierta, solo el equipo de la Alcaldía ve estos resultados "
    "parciales."
)
STAFF_NONE = "Todavía no hay rondas de presupuestos participativos cargadas."
PARTIAL = "⏳ <b>Resultados parciales</b>: la votación sigue abierta."
CSV_CAPTION = "Votos por proyecto · comuna {comuna} · {ballots} votantes"


async def staff_index(update: Update, context: CabildoContext) -> None:
    """Show staff the rounds, to read their results before they close."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    async with context.db.session() as session:
        cards = await current_rounds(session, now=utcnow())
    if not cards:
        await show(update, STAFF_NONE, InlineKeyboardMarkup([]))
        return
    buttons = [
        button(f"{STATE_ICON[c.state]} {c.comuna.codigo} · {c.comuna.nombre} ({c.round.ronda})",
                RoundResultsPage(c.id, 0))
        for c in cards
    ]
    await show(update, STAFF_INDEX,
                 InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)]))


async def staff_results(update: Update, context: CabildoContext, tap: RoundResultsPage) -> None:
    """Show staff a round's results so far, with a CSV download."""
    round_id, page_no = tap.round, tap.page
    try:
        results, text, page = await results_page(context, round_id, page_no)
    except (LookupError, ValueError):
        await show(update, GONE, InlineKeyboardMarkup([[button("🏘️ Comunas", "staff:pp:i")]]))
        return
    if results.detail.card.state != "cerrado":
        text = f"{PARTIAL}\n{text}"
    nav = page_row(page, lambda n: RoundResultsPage(round_id, n))
    await show(update, text, InlineKeyboardMarkup([
        *([nav] if nav else []),
        [button("📥 CSV", RoundCsv(round_id)),
         button("🏘️ Comunas", "staff:pp:i")],
    ]))


async def send_results_csv(update: Update, context: CabildoContext, tap: RoundCsv) -> None:
    """Send staff a round's votes per project as a CSV file."""
    chat = update.effective_chat
    if chat is None:
        return
    async with context.db.session() as session:
        results = await round_results(session, round_id=tap.round, now=utcnow())
    if results is None:
        return
    card = results.detail.card
    data = to_csv(
        ["ronda", "comuna", "codigo", "proyecto", "costo", "votos", "gana"],
        [[card.round.ronda, card.comuna.codigo, r.project.codigo, r.project.nombre,
          r.project.costo, r.votes, r.wins] for r in results.projects],
    )
    name = f"presupuesto-participativo-{card.round.ronda}-comuna-{card.comuna.codigo}.csv"
    await context.bot.send_document(
        chat.id, InputFile(data, filename=name),
        caption=CSV_CAPTION.format(comuna=comuna_name(card), ballots=results.ballots),
    )
