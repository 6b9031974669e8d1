"""`/presupuestos`: the comunas with a round, a round's basket (while open), its projects
(before) or its results (after), and putting projects in the basket or taking them out."""

from __future__ import annotations

from html import escape

from telegram import (
    InlineKeyboardMarkup,
    Update,
)
from telegram.constants import ChatType

from bot.context import CabildoContext
from bot.formatting import local_datetime, money, plural, progress_bar
from handlers.callbacks import (
    ProjectToggle,
    RoundOpen,
    RoundPage,
    VoteCast,
    button,
)
from handlers.paging import Page, page_row, paginate
from handlers.participation.common import (
    CLOSED,
    DESCRIPTION_CHARS,
    FLOW,
    GONE,
    NAME_CHARS,
    NOT_OPEN,
    PER_PAGE,
    PRIVATE_ONLY,
    STATE_ICON,
    comuna_name,
    short,
)
from handlers.screens import show
from storage.conversations import FlowState, get_state, set_state
from storage.participation import RoundDetail, ballot_of, current_rounds, round_detail
from storage.participation_results import ProjectResult, RoundResults, round_results
from storage.types import utcnow

INTRO = (
    "🗳️ <b>Presupuestos participativos</b>\n"
    "La comunidad decide en qué se invierte una parte del presupuesto de su comuna.\n"
    "1. Elija la comuna donde vive.\n"
    "2. Marque los proyectos que prefiere, sin pasarse del dinero de la comuna.\n"
    "3. Toque «Votar». Es un voto por persona y puede cambiarlo hasta el cierre.\n"
    "Cuando la votación cierre, aquí verá los resultados."
)
NONE_YET = (
    "🗳️ <b>Presupuestos participativos</b>\nTodavía no hay votaciones de presupuestos "
    "participativos. Cuando la Alcaldía abra una, aparecerá aquí."
)
VOTED_IN = "Ya votó en la comuna {comuna}; puede cambiar su voto mientras la votación esté abierta."
CHOOSE = "Elija su comuna:"
CLOSED_INTRO = (
    "🗳️ <b>Presupuestos participativos {ronda}</b>\n"
    "La votación ya cerró. Gracias a quienes participaron."
)
CHOOSE_RESULTS = "Elija una comuna para ver sus resultados:"
BASKET = (
    "🗳️ <b>Presupuestos participativos {ronda}</b>\n"
    "Comuna {comuna}\n"
    "Marque los proyectos que quiere para su comuna y toque «Votar».{closes}\n\n"
    "<b>Lleva {total} de {budget}</b>\n{bar}\n\n{projects}{page}\n\n{ballot}"
)
CLOSES = "\nPuede votar hasta el {when}"
VERIFY_NOTE = "\n📱 Al votar le pediré verificar su número de teléfono: un voto por número."
NOT_VOTED = "Todavía no ha votado en esta comuna."
HAS_BALLOT = "Su voto guardado tiene {count}. Si vota de nuevo, lo reemplaza."
OTHER_BALLOT = "Ya votó en la comuna {comuna}. Si vota aquí, ese voto se reemplaza."
UPCOMING = (
    "🗳️ <b>Presupuestos participativos {ronda}</b>\nComuna {comuna}\n"
    "Presupuesto: {budget}.\nLa votación abre el {when}\n\n{projects}{page}"
)
RESULTS = (
    "📊 <b>Resultados · Comuna {comuna}</b> (ronda {ronda})\n"
    "{voters} Presupuesto: {budget}.\n\n{projects}{page}\n\n"
    "Ganan los proyectos más votados mientras alcance el presupuesto: se toman en orden de "
    "votos (si empatan, primero el más barato) y, si uno ya no cabe, se pasa al siguiente. "
    "Un proyecto sin votos no gana. Los ganadores suman {spent}."
)
NO_VOTES = "Nadie votó en esta comuna."
DOES_NOT_FIT = (
    "Ese proyecto no cabe: cuesta {cost} y le quedan {left} de {budget}. "
    "Quite otro proyecto para hacerle espacio."
)


async def show_index(update: Update, context: CabildoContext) -> None:
    """Explain participatory budgeting and offer the comunas with a round."""
    query, chat, message = update.callback_query, update.effective_chat, update.effective_message
    private = chat is not None and chat.type == ChatType.PRIVATE
    if query is not None:
        await query.answer(None if private else PRIVATE_ONLY, show_alert=not private)
    if chat is None or message is None:
        return
    if not private:  # a ballot belongs to one person, not to a group
        if query is None:
            await message.reply_text(PRIVATE_ONLY)
        return
    async with context.db.session() as session:
        cards = await current_rounds(session, now=utcnow())
        ballot = await ballot_of(session, ronda=cards[0].round.ronda, chat_id=chat.id) \
            if cards else None
    if not cards:
        await show(update, NONE_YET, InlineKeyboardMarkup([[button("🏠 Menú", "menu:inicio")]]))
        return
    if all(c.state == "cerrado" for c in cards):
        lines = [CLOSED_INTRO.format(ronda=escape(cards[0].round.ronda)), "", CHOOSE_RESULTS]
    else:
        lines = [INTRO, ""]
        voted = next((c for c in cards if ballot and c.id == ballot.round_id), None)
        if voted is not None and voted.state == "abierto":
            lines += [VOTED_IN.format(comuna=comuna_name(voted)), ""]
        lines.append(CHOOSE)
    several = len({c.round.ronda for c in cards}) > 1
    buttons = [
        button(
            f"{STATE_ICON[c.state]} {c.comuna.codigo} · {c.comuna.nombre}"
            + (f" ({c.round.ronda})" if several else ""),
            RoundOpen(c.id),
        )
        for c in cards
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await show(update, "\n".join(lines),
                 InlineKeyboardMarkup([*rows, [button("🏠 Menú", "menu:inicio")]]))


async def basket(context: CabildoContext, chat_id: int, user_id: int,
                  detail: RoundDetail) -> tuple[list[int], str]:
    """Return the person's basket for this round and a line about their saved ballot."""
    async with context.db.session() as session:
        state = await get_state(session, chat_id=chat_id, user_id=user_id)
        ballot = await ballot_of(session, ronda=detail.card.round.ronda, chat_id=chat_id)
        other = None
        if ballot is not None and ballot.round_id != detail.card.id:
            other = await round_detail(session, round_id=ballot.round_id, now=utcnow())
    mine = {p.id for p in detail.projects}
    if ballot is None:
        note = NOT_VOTED
    elif other is not None:
        note = OTHER_BALLOT.format(comuna=comuna_name(other.card))
    else:
        note = HAS_BALLOT.format(count=plural(len(ballot.project_ids), "proyecto", "proyectos"))
    if state is not None and state.flow == FLOW and state.data.get("round") == detail.card.id:
        picked = state.data.get("picked") or []
    elif ballot is not None and ballot.round_id == detail.card.id:
        picked = ballot.project_ids
    else:
        picked = []
    return [int(p) for p in picked if int(p) in mine], note


async def _show_basket(update: Update, context: CabildoContext, detail: RoundDetail,
                       picked: list[int], note: str, page_no: int) -> None:
    locale, tz = context.settings.locale, context.settings.tz
    pb_round, card = detail.card.round, detail.card
    total, budget = detail.total(picked), pb_round.presupuesto
    page = paginate(detail.projects, page_no, PER_PAGE)
    if page.number != page_no:
        raise LookupError(page_no)
    lines, buttons = [], []
    for project in page.items:
        chosen = project.id in picked
        mark = "☑️" if chosen else "⬜"
        lines.append(f"{mark} <b>{escape(short(project.nombre, NAME_CHARS))}</b> — "
                     f"{money(project.costo, locale)}")
        if project.descripcion:
            lines.append(f"    {escape(short(project.descripcion, DESCRIPTION_CHARS))}")
        buttons.append([button(
            f"{mark} {short(project.nombre, 40)} · {money(project.costo, locale)}",
            ProjectToggle(card.id, project.id or 0, 0 if chosen else 1, page.number),
        )])
    closes = CLOSES.format(when=local_datetime(pb_round.cierra, tz, locale)) \
        if pb_round.cierra else ""
    if pb_round.requiere_verificacion:
        closes += VERIFY_NOTE
    text = BASKET.format(
        ronda=escape(pb_round.ronda), comuna=comuna_name(card), closes=closes,
        total=money(total, locale), budget=money(budget, locale),
        bar=progress_bar(total * 100 / budget if budget else 0),
        projects="\n".join(lines), page=f"\n{page.label}" if page.count > 1 else "", ballot=note,
    )
    nav = page_row(page, lambda n: RoundPage(card.id, n))
    markup = InlineKeyboardMarkup([
        *buttons, *([nav] if nav else []),
        [button("✅ Votar", VoteCast(card.id)), button("🏘️ Comunas", "pp:i")],
    ])
    await show(update, text, markup)


async def _show_upcoming(update: Update, context: CabildoContext, detail: RoundDetail,
                         page_no: int) -> None:
    locale, tz = context.settings.locale, context.settings.tz
    card = detail.card
    page = paginate(detail.projects, page_no, PER_PAGE)
    if page.number != page_no:
        raise LookupError(page_no)
    projects = "\n".join(
        f"• <b>{escape(short(p.nombre, NAME_CHARS))}</b> — {money(p.costo, locale)}"
        for p in page.items
    )
    opens = card.round.abre
    text = UPCOMING.format(
        ronda=escape(card.round.ronda), comuna=comuna_name(card),
        budget=money(card.round.presupuesto, locale),
        when=local_datetime(opens, tz, locale) if opens else "",
        projects=projects, page=f"\n{page.label}" if page.count > 1 else "",
    )
    nav = page_row(page, lambda n: RoundPage(card.id, n))
    await show(update, text, InlineKeyboardMarkup(
        [*([nav] if nav else []), [button("🏘️ Comunas", "pp:i")]]
    ))


def results_text(
    results: RoundResults, page_no: int, locale: str
) -> tuple[str, Page[ProjectResult]]:
    """Write a page of a round's results; return it and the page shown."""
    card = results.detail.card
    page = paginate(results.projects, page_no, PER_PAGE)
    lines = [
        f"{'✅' if r.wins else '❌'} <b>{escape(short(r.project.nombre, NAME_CHARS))}</b> — "
        f"{r.votes} {'voto' if r.votes == 1 else 'votos'} · {money(r.project.costo, locale)}"
        for r in page.items
    ]
    text = RESULTS.format(
        comuna=comuna_name(card), ronda=escape(card.round.ronda),
        voters="Votó 1 persona." if results.ballots == 1
        else f"Votaron {results.ballots} personas.",
        budget=money(card.round.presupuesto, locale),
        projects="\n".join(lines) if results.ballots else NO_VOTES,
        page=f"\n{page.label}" if page.count > 1 else "", spent=money(results.spent, locale),
    )
    return text, page


async def results_page(
    context: CabildoContext, round_id: int, page_no: int
) -> tuple[RoundResults, str, Page[ProjectResult]]:
    """Return a round's results and one page of them; LookupError for an unknown one."""
    async with context.db.session() as session:
        results = await round_results(session, round_id=round_id, now=utcnow())
    if results is None:
        raise LookupError(round_id)
    text, page = results_text(results, page_no, context.settings.locale)
    if page.number != page_no:
        raise LookupError(page_no)
    return results, text, page


async def _show_results(update: Update, context: CabildoContext, round_id: int,
                        page_no: int) -> None:
    _, text, page = await results_page(context, round_id, page_no)
    nav = page_row(page, lambda n: RoundPage(round_id, n))
    await show(update, text, InlineKeyboardMarkup(
        [*([nav] if nav else []),
         [button("🏘️ Comunas", "pp:i"), button("🏠 Menú", "menu:inicio")]]
    ))


async def show_round(update: Update, context: CabildoContext, round_id: int,
                      page_no: int) -> None:
    """Show a round as it stands: its results, its projects to come, or the basket."""
    chat, user = update.effective_chat, update.effective_user
    if chat is None or user is None:
        return
    async with context.db.session() as session:
        detail = await round_detail(session, round_id=round_id, now=utcnow())
    if detail is None:
        raise LookupError(round_id)
    if detail.card.state == "cerrado":
        await _show_results(update, context, round_id, page_no)
    elif detail.card.state == "proximo":
        await _show_upcoming(update, context, detail, page_no)
    else:
        picked, note = await basket(context, chat.id, user.id, detail)
        await _show_basket(update, context, detail, picked, note, page_no)


async def open_round(
    update: Update, context: CabildoContext, tap: RoundOpen | RoundPage
) -> None:
    """Open a comuna's round: the basket while open, its projects before, results after."""
    try:
        await show_round(update, context, tap.round,
                          tap.page if isinstance(tap, RoundPage) else 0)
    except (LookupError, ValueError):
        await show(update, GONE, InlineKeyboardMarkup([[button("🏘️ Comunas", "pp:i")]]))


async def refuse_closed(update: Update, context: CabildoContext, detail: RoundDetail) -> bool:
    """Say the round is closed or not open yet, and show it as it is; False if it is open."""
    if detail.card.state == "abierto" or update.callback_query is None:
        return False
    await update.callback_query.answer(
        CLOSED if detail.card.state == "cerrado" else NOT_OPEN, show_alert=True)
    await show_round(update, context, detail.card.id, 0)
    return True


async def toggle_project(update: Update, context: CabildoContext, tap: ProjectToggle) -> None:
    """Put a project in the basket or take it out, refusing one that does not fit."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    if query is None or chat is None or user is None:
        return
    round_id, project_id, wanted, page_no = tap.round, tap.project, tap.wanted, tap.page
    try:
        if wanted not in (0, 1):
            raise ValueError(wanted)
        async with context.db.session() as session:
            detail = await round_detail(session, round_id=round_id, now=utcnow())
        project = detail.project(project_id) if detail else None
        if detail is None or project is None:
            raise LookupError(project_id)
    except (LookupError, ValueError):
        await query.answer(GONE)
        return
    if await refuse_closed(update, context, detail):
        return
    picked, note = await basket(context, chat.id, user.id, detail)
    locale, budget = context.settings.locale, detail.card.round.presupuesto
    if wanted and project_id not in picked:
        total = detail.total(picked)
        if total + project.costo > budget:
            await query.answer(DOES_NOT_FIT.format(
                cost=money(project.costo, locale), left=money(budget - total, locale),
                budget=money(budget, locale)), show_alert=True)
            return
        picked = [*picked, project_id]
    elif not wanted:
        picked = [p for p in picked if p != project_id]
    await query.answer()
    async with context.db.session() as session:
        await set_state(session, chat_id=chat.id, user_id=user.id, state=FlowState(
            FLOW, str(round_id), {"round": round_id, "picked": picked}))
    try:
        await _show_basket(update, context, detail, picked, note, page_no)
    except LookupError:
        await _show_basket(update, context, detail, picked, note, 0)


async def open_comuna_link(update: Update, context: CabildoContext, key: str) -> bool:
    """Open a comuna's current round (deep link `/start pp_<comuna>`); False if it has none."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        return False
    async with context.db.session() as session:
        cards = await current_rounds(session, now=utcnow())
    card = next((c for c in cards if c.comuna.codigo.lower() == key.strip().lower()), None)
    if card is None:
        return False
    await show_round(update, context, card.id, 0)
    return True
