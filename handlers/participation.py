"""`/presupuestos`: participatory budgeting by comuna.

A resident declares their comuna by choosing it, builds a basket of projects within the
comuna's budget, and votes; the basket in progress lives in the database (flow `pp`),
so it survives a restart. After the round closes the same screen shows the results.

Callback data (`pp:`): `pp:i` comunas · `pp:c:<round>` open a round (basket, projects to
come, or results) · `pp:p:<round>:<page>` a page of it · `pp:s:<round>:<project>:<1|0>:<page>`
put a project in (1) or take it out (0) of the basket, idempotent so double taps are
harmless · `pp:v:<round>` vote. Staff (`staff:pp:`, vetted by handlers.access): `staff:pp:i`
rounds · `staff:pp:r:<round>:<page>` results so far · `staff:pp:csv:<round>` them as CSV.

`announce_rounds` (for the scheduler's sweep) tells the comuna's subscribers, once, that a
round opened, and them and its voters that it closed; `open_comuna_link` serves the deep
link `/start pp_<comuna>`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import ChatType
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.config import Settings
from bot.context import CabildoContext
from bot.formatting import local_datetime, money, plural, progress_bar
from handlers.paging import Page, callback, nav_row, paginate
from handlers.privacy import ensure_consent
from handlers.screens import show
from storage import outbox
from storage.conversations import FlowState, clear_state, get_state, set_state
from storage.db import Database
from storage.exports import to_csv
from storage.participation import (
    ProjectResult,
    RoundCard,
    RoundDetail,
    RoundResults,
    ballot_of,
    closed_since,
    current_rounds,
    open_rounds,
    remember_comuna,
    round_audience,
    round_detail,
    round_results,
    save_ballot,
)
from storage.privacy import has_consent
from storage.types import utcnow

FLOW = "pp"
PER_PAGE = 6
NAME_CHARS = 150
DESCRIPTION_CHARS = 160

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
SAVED = (
    "✅ <b>Su voto quedó guardado</b>\nComuna {comuna} · ronda {ronda}\n{projects}\n"
    "Total: {total} de {budget}.{replaced}\n\n{change}"
)
REPLACED = "\nSu voto anterior, en la comuna {comuna}, quedó reemplazado."
CHANGE_UNTIL = "Puede cambiarlo con /presupuestos hasta el {when}"
CHANGE_ANYTIME = "Puede cambiarlo con /presupuestos mientras la votación esté abierta."
DOES_NOT_FIT = (
    "Ese proyecto no cabe: cuesta {cost} y le quedan {left} de {budget}. "
    "Quite otro proyecto para hacerle espacio."
)
EMPTY = "Marque al menos un proyecto antes de votar."
CLOSED = "La votación de esta comuna ya cerró; no se guardó su voto. Estos son los resultados."
NOT_OPEN = "La votación de esta comuna todavía no abre."
OVER = "Su selección pasa el presupuesto de la comuna; quite algún proyecto."
MISMATCH = "Su selección tiene proyectos que no son de esta comuna; revísela."
CONSENT_ACTION = "votar en los presupuestos participativos"
CONSENT_FIRST = "Para votar, acepte el aviso de datos; su selección se conserva."
GONE = "Esa opción ya no está disponible."
PRIVATE_ONLY = (
    "Los presupuestos participativos se votan en privado: escríbame y envíe /presupuestos."
)
STAFF_INDEX = (
    "📊 <b>Presupuestos participativos: resultados</b>\n"
    "Mientras la votación está abierta, solo el equipo de la Alcaldía ve estos resultados "
    "parciales."
)
STAFF_NONE = "Todavía no hay rondas de presupuestos participativos cargadas."
PARTIAL = "⏳ <b>Resultados parciales</b>: la votación sigue abierta."
CSV_CAPTION = "Votos por proyecto · comuna {comuna} · {ballots} votantes"
OPENED_NOTICE = (
    "🗳️ <b>Presupuestos participativos {ronda}</b>\n"
    "Ya puede votar por los proyectos de la comuna {comuna}: hay {budget} para invertir "
    "y la comunidad decide en qué.{until}"
)
UNTIL = "\nLa votación cierra el {when}"
CLOSED_NOTICE = (
    "📊 <b>Presupuestos participativos {ronda}</b>\n"
    "Cerró la votación de la comuna {comuna}. Vea qué proyectos ganaron."
)
CLOSED_WINDOW = timedelta(days=1)  # a round closed longer ago than this is not announced
STATE_ICON = {"abierto": "🟢", "cerrado": "📊", "proximo": "⏳"}


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _comuna(card: RoundCard) -> str:
    return f"{escape(card.comuna.codigo)} · {escape(card.comuna.nombre)}"


def _parse(data: str | None, size: int) -> list[int]:
    """Return the numeric parts of `pp:<x>:…` callback data, or raise ValueError."""
    parts = (data or "").split(":")[2:]
    if len(parts) != size or not all(part.isdigit() and len(part) < 10 for part in parts):
        raise ValueError(data)  # forged: ids are small positive integers (database INTEGER)
    return [int(part) for part in parts]


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
        await show(update, NONE_YET, InlineKeyboardMarkup([[_button("🏠 Menú", "menu:inicio")]]))
        return
    if all(c.state == "cerrado" for c in cards):
        lines = [CLOSED_INTRO.format(ronda=escape(cards[0].round.ronda)), "", CHOOSE_RESULTS]
    else:
        lines = [INTRO, ""]
        voted = next((c for c in cards if ballot and c.id == ballot.round_id), None)
        if voted is not None and voted.state == "abierto":
            lines += [VOTED_IN.format(comuna=_comuna(voted)), ""]
        lines.append(CHOOSE)
    several = len({c.round.ronda for c in cards}) > 1
    buttons = [
        _button(
            f"{STATE_ICON[c.state]} {c.comuna.codigo} · {c.comuna.nombre}"
            + (f" ({c.round.ronda})" if several else ""),
            callback("pp", "c", c.id),
        )
        for c in cards
    ]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    await show(update, "\n".join(lines),
                 InlineKeyboardMarkup([*rows, [_button("🏠 Menú", "menu:inicio")]]))


async def _basket(context: CabildoContext, chat_id: int, user_id: int,
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
        note = OTHER_BALLOT.format(comuna=_comuna(other.card))
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
        lines.append(f"{mark} <b>{escape(_short(project.nombre, NAME_CHARS))}</b> — "
                     f"{money(project.costo, locale)}")
        if project.descripcion:
            lines.append(f"    {escape(_short(project.descripcion, DESCRIPTION_CHARS))}")
        buttons.append([_button(
            f"{mark} {_short(project.nombre, 40)} · {money(project.costo, locale)}",
            callback("pp", "s", card.id, project.id, 0 if chosen else 1, page.number),
        )])
    closes = CLOSES.format(when=local_datetime(pb_round.cierra, tz, locale)) \
        if pb_round.cierra else ""
    text = BASKET.format(
        ronda=escape(pb_round.ronda), comuna=_comuna(card), closes=closes,
        total=money(total, locale), budget=money(budget, locale),
        bar=progress_bar(total * 100 / budget if budget else 0),
        projects="\n".join(lines), page=f"\n{page.label}" if page.count > 1 else "", ballot=note,
    )
    nav = nav_row(page, "pp", "p", card.id)  # type: ignore[arg-type]
    markup = InlineKeyboardMarkup([
        *buttons, *([nav] if nav else []),
        [_button("✅ Votar", callback("pp", "v", card.id)), _button("🏘️ Comunas", "pp:i")],
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
        f"• <b>{escape(_short(p.nombre, NAME_CHARS))}</b> — {money(p.costo, locale)}"
        for p in page.items
    )
    opens = card.round.abre
    text = UPCOMING.format(
        ronda=escape(card.round.ronda), comuna=_comuna(card),
        budget=money(card.round.presupuesto, locale),
        when=local_datetime(opens, tz, locale) if opens else "",
        projects=projects, page=f"\n{page.label}" if page.count > 1 else "",
    )
    nav = nav_row(page, "pp", "p", card.id)  # type: ignore[arg-type]
    await show(update, text, InlineKeyboardMarkup(
        [*([nav] if nav else []), [_button("🏘️ Comunas", "pp:i")]]
    ))


def results_text(
    results: RoundResults, page_no: int, locale: str
) -> tuple[str, Page[ProjectResult]]:
    """Write a page of a round's results; return it and the page shown."""
    card = results.detail.card
    page = paginate(results.projects, page_no, PER_PAGE)
    lines = [
        f"{'✅' if r.wins else '❌'} <b>{escape(_short(r.project.nombre, NAME_CHARS))}</b> — "
        f"{r.votes} {'voto' if r.votes == 1 else 'votos'} · {money(r.project.costo, locale)}"
        for r in page.items
    ]
    text = RESULTS.format(
        comuna=_comuna(card), ronda=escape(card.round.ronda),
        voters="Votó 1 persona." if results.ballots == 1
        else f"Votaron {results.ballots} personas.",
        budget=money(card.round.presupuesto, locale),
        projects="\n".join(lines) if results.ballots else NO_VOTES,
        page=f"\n{page.label}" if page.count > 1 else "", spent=money(results.spent, locale),
    )
    return text, page


async def _results_page(
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
    _, text, page = await _results_page(context, round_id, page_no)
    nav = nav_row(page, "pp", "p", round_id)  # type: ignore[arg-type]
    await show(update, text, InlineKeyboardMarkup(
        [*([nav] if nav else []),
         [_button("🏘️ Comunas", "pp:i"), _button("🏠 Menú", "menu:inicio")]]
    ))


async def _show_round(update: Update, context: CabildoContext, round_id: int,
                      page_no: int) -> None:
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
        picked, note = await _basket(context, chat.id, user.id, detail)
        await _show_basket(update, context, detail, picked, note, page_no)


async def open_round(update: Update, context: CabildoContext) -> None:
    """Open a comuna's round: the basket while open, its projects before, results after."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    try:
        if (query.data or "").startswith("pp:c:"):
            [round_id] = _parse(query.data, 1)
            page_no = 0
        else:
            round_id, page_no = _parse(query.data, 2)
        await _show_round(update, context, round_id, page_no)
    except (LookupError, ValueError):
        await show(update, GONE, InlineKeyboardMarkup([[_button("🏘️ Comunas", "pp:i")]]))


async def toggle_project(update: Update, context: CabildoContext) -> None:
    """Put a project in the basket or take it out, refusing one that does not fit."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    if query is None or chat is None or user is None:
        return
    try:
        round_id, project_id, wanted, page_no = _parse(query.data, 4)
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
    if detail.card.state != "abierto":
        await query.answer(CLOSED if detail.card.state == "cerrado" else NOT_OPEN,
                           show_alert=True)
        await _show_round(update, context, round_id, 0)
        return
    picked, note = await _basket(context, chat.id, user.id, detail)
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


async def cast_vote(update: Update, context: CabildoContext) -> None:
    """Save the basket as the person's ballot, replacing an earlier one."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    if query is None or chat is None or user is None:
        return
    try:
        [round_id] = _parse(query.data, 1)
        async with context.db.session() as session:
            detail = await round_detail(session, round_id=round_id, now=utcnow())
        if detail is None:
            raise LookupError(round_id)
    except (LookupError, ValueError):
        await query.answer(GONE)
        return
    if chat.type != ChatType.PRIVATE:
        await query.answer(PRIVATE_ONLY, show_alert=True)
        return
    if detail.card.state != "abierto":
        await query.answer(CLOSED if detail.card.state == "cerrado" else NOT_OPEN,
                           show_alert=True)
        await _show_round(update, context, round_id, 0)
        return
    picked, _ = await _basket(context, chat.id, user.id, detail)
    if not picked:
        await query.answer(EMPTY, show_alert=True)
        return
    async with context.db.session() as session:
        consented = await has_consent(session, telegram_id=user.id)
    if not consented:
        await query.answer(CONSENT_FIRST, show_alert=True)
        await ensure_consent(update, context, CONSENT_ACTION)
        return
    async with context.db.session() as session:
        outcome = await save_ballot(session, round_id=round_id, chat_id=chat.id,
                                    project_ids=picked, now=utcnow())
        replaced = None
        if outcome.replaced_round_id is not None:
            replaced = await round_detail(session, round_id=outcome.replaced_round_id,
                                          now=utcnow())
        if outcome.saved:
            await remember_comuna(session, telegram_id=user.id,
                                  comuna_id=detail.card.comuna.id or 0)
            await clear_state(session, chat_id=chat.id, user_id=user.id)
    if not outcome.saved:
        refusal = {"cerrada": CLOSED, "no_abierta": NOT_OPEN, "vacia": EMPTY, "excede": OVER}
        await query.answer(refusal.get(outcome.status, MISMATCH), show_alert=True)
        return
    await query.answer("Voto guardado.")
    await show(update, _saved_text(context, detail, picked, replaced),
                 InlineKeyboardMarkup([[
                     _button("✏️ Cambiar mi voto", callback("pp", "c", round_id)),
                     _button("🏠 Menú", "menu:inicio"),
                 ]]))


def _saved_text(context: CabildoContext, detail: RoundDetail, picked: list[int],
                replaced: RoundDetail | None) -> str:
    locale, tz = context.settings.locale, context.settings.tz
    pb_round = detail.card.round
    projects = "\n".join(
        f"• {escape(_short(p.nombre, NAME_CHARS))} — {money(p.costo, locale)}"
        for p in detail.projects if p.id in picked
    )
    change = (CHANGE_UNTIL.format(when=local_datetime(pb_round.cierra, tz, locale))
              if pb_round.cierra else CHANGE_ANYTIME)
    return SAVED.format(
        comuna=_comuna(detail.card), ronda=escape(pb_round.ronda), projects=projects,
        total=money(detail.total(picked), locale), budget=money(pb_round.presupuesto, locale),
        replaced=REPLACED.format(comuna=_comuna(replaced.card)) if replaced else "",
        change=change,
    )


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
    await _show_round(update, context, card.id, 0)
    return True


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
        _button(f"{STATE_ICON[c.state]} {c.comuna.codigo} · {c.comuna.nombre} ({c.round.ronda})",
                callback("staff", "pp", "r", c.id, 0))
        for c in cards
    ]
    await show(update, STAFF_INDEX,
                 InlineKeyboardMarkup([buttons[i : i + 2] for i in range(0, len(buttons), 2)]))


async def staff_results(update: Update, context: CabildoContext) -> None:
    """Show staff a round's results so far, with a CSV download."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    try:
        round_id, page_no = _parse((query.data or "").removeprefix("staff:"), 2)
        results, text, page = await _results_page(context, round_id, page_no)
    except (LookupError, ValueError):
        await show(update, GONE, InlineKeyboardMarkup([[_button("🏘️ Comunas", "staff:pp:i")]]))
        return
    if results.detail.card.state != "cerrado":
        text = f"{PARTIAL}\n{text}"
    nav = nav_row(page, "staff", "pp", "r", round_id)  # type: ignore[arg-type]
    await show(update, text, InlineKeyboardMarkup([
        *([nav] if nav else []),
        [_button("📥 CSV", callback("staff", "pp", "csv", round_id)),
         _button("🏘️ Comunas", "staff:pp:i")],
    ]))


async def send_results_csv(update: Update, context: CabildoContext) -> None:
    """Send staff a round's votes per project as a CSV file."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    await query.answer()
    try:
        [round_id] = _parse((query.data or "").removeprefix("staff:"), 1)
    except ValueError:
        return
    async with context.db.session() as session:
        results = await round_results(session, round_id=round_id, now=utcnow())
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
        caption=CSV_CAPTION.format(comuna=_comuna(card), ballots=results.ballots),
    )


async def announce_rounds(db: Database, settings: Settings, now: datetime) -> int:
    """Queue, once per person, each round's opening and, when it closes, its results."""
    queued = 0
    async with db.session() as session:
        opened = await open_rounds(session, now=now)
        closed = await closed_since(session, since=now - CLOSED_WINDOW, now=now)
        for card in opened:
            if await outbox.queued_before(session, dedupe=f"pp-abre:{card.id}"):
                continue
            until = (UNTIL.format(when=local_datetime(card.round.cierra, settings.tz,
                                                      settings.locale))
                     if card.round.cierra else "")
            text = OPENED_NOTICE.format(
                ronda=escape(card.round.ronda), comuna=_comuna(card),
                budget=money(card.round.presupuesto, settings.locale), until=until,
            )
            queued += await outbox.enqueue(
                session, chat_ids=await round_audience(session, card=card, with_voters=False),
                payload={"text": text, "reply_markup": _notice_markup(card, "🗳️ Votar")},
                kind="presupuestos", dedupe=f"pp-abre:{card.id}",
            )
        for card in closed:
            if await outbox.queued_before(session, dedupe=f"pp-cierra:{card.id}"):
                continue
            text = CLOSED_NOTICE.format(ronda=escape(card.round.ronda), comuna=_comuna(card))
            queued += await outbox.enqueue(
                session, chat_ids=await round_audience(session, card=card, with_voters=True),
                payload={"text": text,
                         "reply_markup": _notice_markup(card, "📊 Ver resultados")},
                kind="presupuestos", dedupe=f"pp-cierra:{card.id}",
            )
    return queued


def _notice_markup(card: RoundCard, label: str) -> dict[str, Any]:
    return InlineKeyboardMarkup([[_button(label, callback("pp", "c", card.id))]]).to_dict()


async def refuse_button(update: Update, context: CabildoContext) -> None:
    """Answer a `pp:` button this module does not know."""
    if update.callback_query is not None:
        await update.callback_query.answer(GONE)


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CommandHandler("presupuestos", show_index),
    CallbackQueryHandler(show_index, pattern=r"^(menu:presupuestos|pp:i)$"),
    CallbackQueryHandler(open_round, pattern=r"^pp:[cp]:"),
    CallbackQueryHandler(toggle_project, pattern=r"^pp:s:"),
    CallbackQueryHandler(cast_vote, pattern=r"^pp:v:"),
    CallbackQueryHandler(refuse_button, pattern=r"^pp:"),
    # Staff only: the `staff:` prefix is checked by handlers.access before this runs.
    CallbackQueryHandler(staff_index, pattern=r"^staff:pp:i$"),
    CallbackQueryHandler(staff_results, pattern=r"^staff:pp:r:"),
    CallbackQueryHandler(send_results_csv, pattern=r"^staff:pp:csv:"),
]
