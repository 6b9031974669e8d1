"""`/metas`: development-plan goals by strategic line → program → goal.

Buttons (`handlers.callbacks`, `meta:`): `GoalLines` → `GoalLine` → `GoalProgram` →
`GoalCard` (`GoalFollow` on it); `GoalsInStatus` lists goals cumplidas / en curso /
rezagadas. Positions are stable because lines and programs are ordered by their goals' codes.
"""

from __future__ import annotations

import contextlib
from datetime import tzinfo
from html import escape
from urllib.parse import quote

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import CabildoContext
from bot.formatting import clip, local_date, number, percent, plural, progress_bar, source_line
from handlers.callbacks import (
    GoalCard,
    GoalFollow,
    GoalLine,
    GoalLines,
    GoalProgram,
    GoalsInStatus,
    GoalStatusKey,
    button,
    on_press,
    on_stale,
)
from handlers.index import search_index
from handlers.paging import page_row, paginate
from handlers.privacy import ensure_consent
from handlers.screens import show
from storage.alerts import subscriptions_of, toggle
from storage.answers.facts import listed
from storage.goals import (
    STATUS_HELP,
    Branch,
    goal_by_code,
    goals_in_status,
    lines,
    place_of,
    program,
    programs,
    progress,
    status_asked,
    status_of,
)
from storage.models import Goal

STATUS_ICON = {"cumplida": "🟢", "en curso": "🟡", "rezagada": "🔴"}
LINES = (
    "🎯 <b>Metas del plan de desarrollo</b>\nElija una línea estratégica.\n\n{lines}\n\n"
    "<i>{help}</i>"
)
LINE_ROW = "{i}. {name}: {total} · {done} · {on} en curso · {late}"
PROGRAMS = "🎯 <b>{line}</b>\nElija un programa:"
GOALS = "🎯 <b>{program}</b>\n{line}\n{page}"
NO_DATA = "Todavía no hay metas cargadas."
GONE = "Esa opción ya no está disponible."
NOT_FOUND = "No encontré metas con «{text}». Pruebe con otra palabra o vea todas:"
FOUND = "Metas que contienen «{text}»:"
BACK_LINES = "⬅️ Líneas"
STATUS_KEYS: dict[GoalStatusKey, str] = {"c": "cumplida", "e": "en curso", "r": "rezagada"}
STATUS_TITLES = {"cumplida": "Metas cumplidas", "en curso": "Metas en curso",
                 "rezagada": "Metas rezagadas"}
STATUS_BUTTONS = {"cumplida": "Cumplidas", "en curso": "En curso", "rezagada": "Rezagadas"}
IN_STATUS = "{icon} <b>{title}{words}: {count}</b>\n<i>{help}</i>\n{page}"
NONE_IN_STATUS = "No hay {title_lower}{words} por ahora."
MAX_STATUS_WORDS = 30  # characters of the narrowing words kept in the list's button data
PER_PAGE = 8
SEARCH_SHOWN = 20  # goals listed for `/metas <texto>`


def _menu_row() -> list[InlineKeyboardButton]:
    return [button("🏠 Menú", "menu:inicio")]


def goal_card(goal: Goal, locale: str, tz: tzinfo | None = None) -> str:
    """Write one goal's card: target, achieved, bar, status, office, cut-off date, source."""
    pct = progress(goal)
    status = status_of(pct)
    unit = f" {escape(goal.unidad)}" if goal.unidad else ""
    over = " — superó la meta" if pct > 100 else ""
    lines_ = [
        f"🎯 <b>{escape(goal.meta)}</b>",
        f"Línea: {escape(goal.linea)}",
        f"Programa: {escape(goal.programa)}",
        f"Indicador: {escape(goal.indicador)}",
        f"Meta del cuatrienio: {number(goal.meta_cuatrienio, locale)}{unit}",
        f"Logrado: {number(goal.avance, locale)}{unit}",
        f"{progress_bar(pct)} {percent(min(pct, 999), locale)}{over}",
        f"Estado: {STATUS_ICON[status]} <b>{status}</b>",
    ]
    if goal.linea_base is not None:
        lines_.insert(4, f"Línea base: {number(goal.linea_base, locale)}{unit}")
    if goal.responsable:
        lines_.append(f"Responsable: {escape(goal.responsable)}")
    if goal.fecha_corte:
        lines_.append(f"Datos con corte al {local_date(goal.fecha_corte, locale)}.")
    lines_.append(f"Código: {escape(goal.codigo)}")
    lines_.append(source_line(goal.fuente, goal.importado_at or goal.updated_at, tz=tz,
                              locale=locale))
    return "\n".join(lines_)


def _share_button(context: CabildoContext, goal: Goal) -> InlineKeyboardButton:
    link = f"https://t.me/{context.bot.username}?start=meta_{goal.codigo}"
    text = f"Meta del plan de desarrollo: {goal.meta[:120]}"
    return InlineKeyboardButton(
        "📤 Compartir", url=f"https://t.me/share/url?url={quote(link)}&text={quote(text)}"
    )


def _lines_screen(branches: list[Branch]) -> tuple[str, InlineKeyboardMarkup]:
    rows = "\n".join(
        LINE_ROW.format(i=b.position, name=escape(b.name),
                        total=plural(len(b.goals), "meta", "metas"),
                        done=plural(b.count("cumplida"), "cumplida", "cumplidas"),
                        on=b.count("en curso"),
                        late=plural(b.count("rezagada"), "rezagada", "rezagadas"))
        for b in branches
    )
    buttons = [[button(f"{b.position}. {clip(b.name, 55)}", GoalLine(b.position))]
               for b in branches]
    by_status = [
        button(f"{STATUS_ICON[status]} {STATUS_BUTTONS[status]} "
                f"({sum(b.count(status) for b in branches)})",
                GoalsInStatus(key, "", 0))
        for key, status in STATUS_KEYS.items()
    ]
    return (LINES.format(lines=rows, help=STATUS_HELP),
            InlineKeyboardMarkup([*buttons, by_status, _menu_row()]))


async def show_lines(update: Update, context: CabildoContext) -> None:
    """Show the strategic lines with how their goals are doing (or search with text)."""
    if update.callback_query:
        await update.callback_query.answer()
    text = " ".join(context.args or []) if update.callback_query is None else ""
    if text:
        asked = status_asked(text, about_goals=True)
        if asked is not None:
            await show_status(update, context, *asked)
        else:
            await _search(update, context, text)
        return
    async with context.db.session() as session:
        branches = await lines(session)
    if not branches:
        await show(update, NO_DATA, InlineKeyboardMarkup([_menu_row()]))
        return
    await show(update, *_lines_screen(branches))


async def _search(update: Update, context: CabildoContext, text: str) -> None:
    """List the goals `text` names, best first, through the same index as free text."""
    index = await search_index(context)
    hits = [h for h in index.ranked(text, today=context.settings.today())
            if h.kind == "meta"][:SEARCH_SHOWN]
    async with context.db.session() as session:
        goals = (await listed(session, hits)).goals
    found = [goals[h.key] for h in hits if h.key in goals]
    shown = escape(text[:60])
    back = [button(BACK_LINES, GoalLines())]
    if not found:
        await show(update, NOT_FOUND.format(text=shown), InlineKeyboardMarkup([back]))
        return
    rows = [[button(f"{STATUS_ICON[status_of(progress(g))]} {clip(g.meta, 58)}",
                     GoalCard(g.codigo))] for g in found]
    await show(update, FOUND.format(text=shown), InlineKeyboardMarkup([*rows, back]))


async def gone(update: Update, context: CabildoContext) -> None:
    """Say a goal button's line, program, page or goal no longer exists."""
    await show(update, GONE, InlineKeyboardMarkup([[button(BACK_LINES, GoalLines())]]))


async def show_status(
    update: Update, context: CabildoContext, status: str, words: str, page_no: int = 0,
    *, strict: bool = False,
) -> None:
    """List the goals in a status (`/metas cumplidas`, «metas de salud atrasadas»), paged."""
    words = " ".join(words.split())[:MAX_STATUS_WORDS].strip()
    async with context.db.session() as session:
        goals = await goals_in_status(session, status=status, words=words)
    key = next(k for k, v in STATUS_KEYS.items() if v == status)
    title = STATUS_TITLES[status]
    shown_words = f" con «{escape(words)}»" if words else ""
    back = [button(BACK_LINES, GoalLines()), *_menu_row()]
    if not goals:
        rows = [[button(f"{STATUS_ICON[status]} Todas las {title.lower()}",
                         GoalsInStatus(key, "", 0))]] if words else []
        await show(update, NONE_IN_STATUS.format(title_lower=title.lower(), words=shown_words),
                   InlineKeyboardMarkup([*rows, back]))
        return
    page = paginate(goals, page_no, PER_PAGE)
    if strict and page.number != page_no:
        raise LookupError(page_no)  # a page the data no longer has
    rows = [[button(f"{STATUS_ICON[status]} {clip(g.meta, 58)}", GoalCard(g.codigo))]
            for g in page.items]
    nav = page_row(page, lambda n: GoalsInStatus(key, words.replace(":", " "), n))
    # Each goal of the page with its progress, so the list answers without a tap.
    locale = context.settings.locale
    listed = "\n".join(f"• {escape(clip(g.meta, 110))} — {percent(progress(g), locale)}"
                       for g in page.items)
    text = IN_STATUS.format(icon=STATUS_ICON[status], title=title, words=shown_words,
                            count=len(goals), help=STATUS_HELP, page=f"{listed}\n{page.label}")
    await show(update, text, InlineKeyboardMarkup([*rows, *([nav] if nav else []), back]))


async def _show_programs(update: Update, context: CabildoContext, line: int) -> None:
    async with context.db.session() as session:
        tree = await programs(session, line=line)
    if tree is None:
        raise LookupError(line)
    branch, progs = tree
    rows = [[button(f"{clip(p.name, 50)} ({len(p.goals)})",
                     GoalProgram(line, p.position, 0))] for p in progs]
    await show(update, PROGRAMS.format(line=escape(branch.name)),
                 InlineKeyboardMarkup([*rows, [button(BACK_LINES, GoalLines()), *_menu_row()]]))


async def _show_goals(
    update: Update, context: CabildoContext, line: int, number_: int, page_no: int
) -> None:
    async with context.db.session() as session:
        found = await program(session, line=line, number=number_)
    if found is None:
        raise LookupError((line, number_))
    branch, prog = found
    page = paginate(list(prog.goals), page_no, PER_PAGE)
    if page.number != page_no:
        raise LookupError(page_no)
    rows = [[button(f"{STATUS_ICON[status_of(progress(g))]} {clip(g.meta, 58)}",
                     GoalCard(g.codigo))] for g in page.items]
    nav = page_row(page, lambda n: GoalProgram(line, number_, n))
    back = [button("⬅️ Programas", GoalLine(line)), *_menu_row()]
    text = GOALS.format(program=escape(prog.name), line=escape(branch.name), page=page.label)
    await show(update, text, InlineKeyboardMarkup([*rows, *([nav] if nav else []), back]))


async def _show_goal(update: Update, context: CabildoContext, codigo: str) -> None:
    async with context.db.session() as session:
        goal = await goal_by_code(session, codigo)
        if goal is None:
            raise LookupError(codigo)
        line, prog = await place_of(session, goal)
        chat = update.effective_chat
        following = chat is not None and ("meta", goal.codigo) in await subscriptions_of(
            session, chat_id=chat.id
        )
    await show(update, goal_card(goal, context.settings.locale, context.settings.tz),
                 _card_markup(context, goal, line, prog, following))


def _card_markup(
    context: CabildoContext, goal: Goal, line: int, prog: int, following: bool
) -> InlineKeyboardMarkup:
    follow = "🔕 Dejar de seguir" if following else "🔔 Seguir esta meta"
    return InlineKeyboardMarkup([
        [button(follow, GoalFollow(goal.codigo)), _share_button(context, goal)],
        [button("⬅️ Programa", GoalProgram(line, prog, 0)), *_menu_row()],
    ])


async def _follow(update: Update, context: CabildoContext, codigo: str) -> None:
    """Switch following a goal (after consent) and redraw the card's buttons."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    async with context.db.session() as session:
        goal = await goal_by_code(session, codigo)
    if goal is None:
        raise LookupError(codigo)
    if not await ensure_consent(update, context, "seguir esta meta"):
        return
    async with context.db.session() as session:
        following = await toggle(session, chat_id=chat.id, kind="meta", value=codigo)
        line, prog = await place_of(session, goal)
    with contextlib.suppress(BadRequest):  # a double tap that ends where it started
        await query.edit_message_reply_markup(
            _card_markup(context, goal, line, prog, following)
        )


async def open_goal(update: Update, context: CabildoContext, codigo: str) -> bool:
    """Send one goal's card (for the deep link `/start meta_<codigo>`); False if unknown."""
    async with context.db.session() as session:
        goal = await goal_by_code(session, codigo)
    if goal is None:
        return False
    await _show_goal(update, context, codigo)
    return True


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CallbackQueryHandler(show_lines, pattern=r"^menu:metas$"),
    on_press(GoalLines, lambda u, c, _: show_lines(u, c), answer=False),
    on_press(GoalLine, lambda u, c, a: _show_programs(u, c, a.line), gone=gone),
    on_press(GoalProgram, lambda u, c, a: _show_goals(u, c, a.line, a.program, a.page),
             gone=gone),
    on_press(GoalCard, lambda u, c, a: _show_goal(u, c, a.codigo), gone=gone),
    on_press(GoalFollow, lambda u, c, a: _follow(u, c, a.codigo), gone=gone),
    on_press(GoalsInStatus, lambda u, c, a: show_status(
        u, c, STATUS_KEYS[a.status], a.words, a.page, strict=True), gone=gone),
    on_stale("meta", gone),
]
