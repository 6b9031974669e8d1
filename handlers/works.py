"""`/obras`: public works by comuna, by text, or nearest to a shared location.

Callback data (`obra:`): `obra:i` comunas · `obra:c:<comuna>:<page>` a comuna's works ·
`obra:w:<codigo>` a work's card · `obra:f:<codigo>` follow / stop following a work ·
`obra:s:<status>:<comuna or empty>:<page>` the works in a status (free text's «Ver las N»).
A card opened from a list carries that list after its code (`obra:w:<codigo>:c:4:2`,
`obra:w:<codigo>:s:suspendida::0`, and so does its follow button), so «⬅️» goes back to
the same page.
"""

from __future__ import annotations

from datetime import date
from html import escape
from urllib.parse import quote

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    Update,
    WebAppInfo,
)
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.context import CabildoContext
from bot.formatting import clip, local_date, money_short, number, percent, progress_bar
from handlers.index import search_index
from handlers.paging import callback, nav_row, paginate
from handlers.privacy import ensure_consent
from handlers.screens import show
from handlers.search import STATUS_LABELS, comuna_place
from storage.alerts import subscriptions_of, toggle
from storage.answers.facts import listed
from storage.models import Comuna, Work
from storage.search import is_late, status_of
from storage.works import (
    WorkItem,
    comunas_with_counts,
    find_comuna,
    names_a_comuna,
    nearest_works,
    work_by_code,
    works_by_status,
    works_in,
)
from web.settings import public_map_url

STATUS_ICON = {"terminada": "🟢", "en ejecución": "🟡", "suspendida": "🔴"}
INDEX = (
    "🏗️ <b>Obras públicas</b>\nElija una comuna o corregimiento, escriba <code>/obras "
    "texto</code> para buscar, o comparta su ubicación 📍 para ver las obras cercanas."
)
LISTING = "🏗️ <b>Obras {place}</b>\n{page}"
FOUND = "🏗️ Obras que coinciden con «{text}»:"
NOT_FOUND = "No encontré obras con «{text}». Elija una comuna:"
NO_SUCH_COMUNA = "No encontré «{text}» entre las comunas y corregimientos. Elija uno:"
STATUS_LISTING = "🏗️ <b>Obras {status}{where}: {total}</b>\n{page}"
STATUS_EMPTY = "Ahora no hay obras en ese estado."
LATE = " — ⚠️ <b>atrasada</b>: esa fecha ya pasó y no ha terminado"
UNPLACED = "Comuna: sin ubicar todavía"  # from SECOP, which knows no comuna
NEAREST = "📍 <b>Obras más cercanas a su ubicación</b>"
LOCATION_BUTTON = "📍 Enviar mi ubicación"
LOCATION_PROMPT = "📍 Para ver las obras cercanas, toque «📍 Enviar mi ubicación» abajo."
NEARBY_BACK = "⬅️ Obras cercanas"
FAR = (
    "Su ubicación parece estar fuera del municipio: la obra más cercana queda a {distance}. "
    "Elija una comuna:"
)
NO_COORDS = "Todavía no hay obras con ubicación en el mapa."
GONE = "Esa opción ya no está disponible."
FOLLOW_ACTION = "seguir esta obra"
MAP_BUTTON = "🗺️ Mapa de obras"
PER_PAGE = 8
SEARCH_SHOWN = 20  # works listed for `/obras <texto>`
FAR_M = 15_000


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def _icon(work: Work | WorkItem) -> str:
    return STATUS_ICON.get(work.estado.lower(), "⚪")


def distance_text(metres: float, locale: str) -> str:
    """Say a distance the way people do: `a 350 m`, `a 1,2 km`."""
    if metres < 1000:
        return f"{round(metres / 10) * 10:.0f} m"
    return f"{number(metres / 1000, locale)} km"


def work_card(work: Work, comuna: Comuna | None, locale: str, today: date | None = None) -> str:
    """Write a work's card with the figures as imported (and whether it is late on `today`)."""
    lines = [f"{_icon(work)} <b>{escape(work.nombre)}</b>"]
    if comuna:
        lines.append(f"Comuna {escape(comuna.codigo)} · {escape(comuna.nombre)}")
    elif work.comuna_id is None:
        lines.append(UNPLACED)
    lines.append(f"Estado: <b>{escape(work.estado)}</b>")
    lines.append(f"Avance físico: {progress_bar(work.avance_fisico)} "
                 f"{percent(work.avance_fisico, locale)}")
    if work.avance_financiero is not None:
        lines.append(f"Avance financiero: {progress_bar(work.avance_financiero)} "
                     f"{percent(work.avance_financiero, locale)}")
    if work.valor_contrato is not None:
        lines.append(f"Valor del contrato: {money_short(work.valor_contrato, locale)}")
    if work.contratista:
        lines.append(f"Contratista: {escape(work.contratista)}")
    if work.fecha_inicio:
        lines.append(f"Inicio: {local_date(work.fecha_inicio, locale)}")
    if work.fecha_fin_prevista:
        late = today is not None and is_late(status_of(work.estado), work.fecha_fin_prevista,
                                             today)
        lines.append(f"Fin previsto: {local_date(work.fecha_fin_prevista, locale)}"
                     + (LATE if late else ""))
    if work.direccion:
        lines.append(f"Dirección: {escape(work.direccion)}")
    if work.descripcion:
        description = work.descripcion if len(work.descripcion) <= 600 else (
            work.descripcion[:599] + "…"
        )
        lines.append(f"\n{escape(description)}")
    if work.enlace_secop:
        lines.append(f'\n<a href="{escape(work.enlace_secop)}">Ver el contrato en SECOP</a>')
    lines.append(f"Código: {escape(work.codigo)}")
    return "\n".join(lines)


def _map_button(update: Update, context: CabildoContext) -> InlineKeyboardButton | None:
    """Return the web map's button: a Mini App in private chats over https, else a link."""
    url = public_map_url(context.settings)
    if url is None:
        return None
    chat = update.effective_chat
    if url.startswith("https://") and chat is not None and chat.type == ChatType.PRIVATE:
        return InlineKeyboardButton(MAP_BUTTON, web_app=WebAppInfo(url=url))
    return InlineKeyboardButton(MAP_BUTTON, url=url)


async def _index_markup(
    context: CabildoContext, update: Update | None = None
) -> InlineKeyboardMarkup:
    """Return the comunas' buttons; with `update`, also the web map's button if published."""
    async with context.db.session() as session:
        counts = await comunas_with_counts(session)
    buttons = [_button(f"{c.comuna.codigo} · {c.comuna.nombre} ({c.works})",
                       callback("obra", "c", c.comuna.codigo, 0)) for c in counts]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    web_map = _map_button(update, context) if update is not None else None
    return InlineKeyboardMarkup([*rows, *([[web_map]] if web_map else []),
                                 [_button("🏠 Menú", "menu:inicio")]])


async def _matching(context: CabildoContext, text: str) -> list[Work]:
    """Return the works `text` names, best first, through the same index as free text."""
    index = await search_index(context)
    hits = [h for h in index.ranked(text, today=context.settings.today())
            if h.kind == "obra"][:SEARCH_SHOWN]
    async with context.db.session() as session:
        works = (await listed(session, hits)).works
    return [works[h.key] for h in hits if h.key in works]


async def show_works(update: Update, context: CabildoContext) -> None:
    """Show the comunas, a comuna's works (`/obras 4`), or works matching text."""
    if update.callback_query:
        await update.callback_query.answer()
    text = " ".join(context.args or []) if update.callback_query is None else ""
    if text:
        async with context.db.session() as session:
            comuna = await find_comuna(session, text)
        found = [] if comuna else await _matching(context, text)
        if comuna is not None:
            await _show_comuna(update, context, comuna.codigo, 0)
            return
        shown = escape(text[:60])
        if names_a_comuna(text):
            await show(update, NO_SUCH_COMUNA.format(text=shown), await _index_markup(context))
            return
        if not found:
            await show(update, NOT_FOUND.format(text=shown), await _index_markup(context))
            return
        rows = [[_button(f"{_icon(w)} {clip(w.nombre, 58)}", callback("obra", "w", w.codigo))]
                for w in found]
        await show(update, FOUND.format(text=shown),
                     InlineKeyboardMarkup([*rows, [_button("🏘️ Comunas", "obra:i")]]))
        return
    await show(update, INDEX, await _index_markup(context, update))
    await _offer_location(update, context)


async def _offer_location(update: Update, context: CabildoContext) -> None:
    """Send the «📍 Enviar mi ubicación» keyboard button (private chats: Telegram asks
    for a location only there). A message holds one keyboard, so it comes on its own."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        return
    keyboard = ReplyKeyboardMarkup(
        [[KeyboardButton(LOCATION_BUTTON, request_location=True)]],
        resize_keyboard=True, one_time_keyboard=True,
    )
    await context.bot.send_message(chat.id, LOCATION_PROMPT, reply_markup=keyboard)


async def _show_comuna(update: Update, context: CabildoContext, code: str, page_no: int) -> None:
    async with context.db.session() as session:
        comuna = await find_comuna(session, code)
        works = await works_in(session, comuna_id=comuna.id or 0) if comuna else []
    if comuna is None:
        raise LookupError(code)
    page = paginate(works, page_no, PER_PAGE)
    if page.number != page_no:
        raise LookupError(page_no)
    rows = [[_button(f"{_icon(w)} {clip(w.nombre, 58)}",
                     _card_data(w.codigo, "c", comuna.codigo, page.number))]
            for w in page.items]
    nav = nav_row(page, "obra", "c", comuna.codigo)  # type: ignore[arg-type]
    text = LISTING.format(place=escape(comuna_place(comuna, comuna.codigo)[0]),
                          page=page.label if works else "Todavía no hay obras cargadas aquí.")
    back = [_button("🏘️ Comunas", "obra:i"), _button("🏠 Menú", "menu:inicio")]
    await show(update, text, InlineKeyboardMarkup([*rows, *([nav] if nav else []), back]))


async def _show_status(
    update: Update, context: CabildoContext, status: str, code: str, page_no: int
) -> None:
    if status not in STATUS_LABELS:
        raise LookupError(status)
    async with context.db.session() as session:
        comuna = await find_comuna(session, code) if code else None
        if code and comuna is None:
            raise LookupError(code)
        works = await works_by_status(session, today=context.settings.today(),
                                      status=status,
                                      comuna_id=comuna.id if comuna else None)
    page = paginate(works, page_no, PER_PAGE)
    if page.number != page_no:
        raise LookupError(page_no)
    rows = [[_button(f"{_icon(w)} {clip(w.nombre, 58)}",
                     _card_data(w.codigo, "s", status, code, page.number))]
            for w in page.items]
    nav = nav_row(page, "obra", "s", status, code)  # type: ignore[arg-type]
    where = f" {escape(comuna_place(comuna, code)[0])}" if comuna else ""
    text = STATUS_LISTING.format(status=STATUS_LABELS[status], where=where, total=len(works),
                                 page=page.label if works else STATUS_EMPTY)
    back = (_button("⬅️ Obras de la comuna", callback("obra", "c", comuna.codigo, 0)) if comuna
            else _button("🏘️ Comunas", "obra:i"))
    await show(update, text, InlineKeyboardMarkup(
        [*rows, *([nav] if nav else []), [back, _button("🏠 Menú", "menu:inicio")]]))


def _card_data(codigo: str, *back: object) -> str:
    """Return a card button's data carrying the list it is in, when that fits in 64 bytes."""
    try:
        return callback("obra", "w", codigo, *back)
    except ValueError:  # a very long code: the card goes back to its comuna instead
        return callback("obra", "w", codigo)


def _back_to(tail: list[str]) -> list[str]:
    """Check the list a card button carries (`c:<comuna>:<page>` or
    `s:<status>:<comuna>:<page>`); return it, or [] for none."""
    if not tail:
        return []
    of_comuna = tail[0] == "c" and len(tail) == 3
    of_status = tail[0] == "s" and len(tail) == 4 and tail[1] in STATUS_LABELS
    if (of_comuna or of_status) and tail[-1].isdigit():
        return tail
    if tail[0] == "n" and len(tail) == 3 and _point(tail[1:]) is not None:
        return tail  # «Obras más cercanas» to a shared location
    raise LookupError(tail)


def _point(parts: list[str]) -> tuple[float, float] | None:
    """Read `<lat>:<lon>` from button data; None when it is not a place on Earth."""
    try:
        latitude, longitude = float(parts[0]), float(parts[1])
    except ValueError:
        return None
    return (latitude, longitude) if abs(latitude) <= 90 and abs(longitude) <= 180 else None


async def _card_markup(
    context: CabildoContext, work: Work, chat_id: int, back: list[str] | None = None
) -> InlineKeyboardMarkup:
    async with context.db.session() as session:
        following = ("obra", work.codigo) in await subscriptions_of(session, chat_id=chat_id)
        comuna = await session.get(Comuna, work.comuna_id) if work.comuna_id else None
    link = f"https://t.me/{context.bot.username}?start=obra_{work.codigo}"
    share = InlineKeyboardButton(
        "📤 Compartir",
        url=f"https://t.me/share/url?url={quote(link)}&text={quote(work.nombre[:120])}",
    )
    follow = "🔕 Dejar de seguir" if following else "🔔 Seguir esta obra"
    back = back or []
    if back[:1] == ["s"]:
        back_button = _button(f"⬅️ Obras {STATUS_LABELS[back[1]]}", callback("obra", *back))
    elif back[:1] == ["n"]:
        back_button = _button(NEARBY_BACK, callback("obra", *back))
    else:
        where = back[1:] if back else [comuna.codigo if comuna else "", 0]
        back_button = _button("⬅️ Obras de la comuna", callback("obra", "c", *where))
    try:
        follow_data = callback("obra", "f", work.codigo, *back)
    except ValueError:
        follow_data = callback("obra", "f", work.codigo)
    return InlineKeyboardMarkup([
        [_button(follow, follow_data), share],
        [back_button, _button("🏠 Menú", "menu:inicio")],
    ])


async def _show_work(
    update: Update, context: CabildoContext, codigo: str, back: list[str] | None = None
) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    async with context.db.session() as session:
        work = await work_by_code(session, codigo)
        comuna = await session.get(Comuna, work.comuna_id) if work and work.comuna_id else None
    if work is None:
        raise LookupError(codigo)
    today = context.settings.today()
    changed = await show(update, work_card(work, comuna, context.settings.locale, today),
                           await _card_markup(context, work, chat.id, back))
    if changed and work.latitud is not None and work.longitud is not None:
        address = work.direccion or (f"Comuna {comuna.codigo} · {comuna.nombre}" if comuna else "")
        await context.bot.send_venue(
            chat.id, latitude=work.latitud, longitude=work.longitud,
            title=work.nombre[:100],
            address=address[:100] or context.settings.municipality_name,
        )


async def _follow(
    update: Update, context: CabildoContext, codigo: str, back: list[str] | None = None
) -> None:
    chat, query = update.effective_chat, update.callback_query
    if chat is None or query is None:
        return
    async with context.db.session() as session:
        work = await work_by_code(session, codigo)
    if work is None:
        raise LookupError(codigo)
    if not await ensure_consent(update, context, FOLLOW_ACTION):
        await query.answer()
        return
    async with context.db.session() as session:
        now_on = await toggle(session, chat_id=chat.id, kind="obra", value=codigo)
    await query.answer("Le avisaré de los cambios de esta obra." if now_on
                       else "Ya no le avisaré de esta obra.")
    try:
        await query.edit_message_reply_markup(await _card_markup(context, work, chat.id, back))
    except BadRequest as exc:
        if "not modified" not in str(exc):
            raise


async def on_button(update: Update, context: CabildoContext) -> None:
    """Handle the works buttons: comunas, a comuna's list, works in a status, a card, follow."""
    query = update.callback_query
    if query is None:
        return
    parts = (query.data or "").split(":")[1:]
    if parts[:1] != ["f"]:
        await query.answer()
    try:
        if parts == ["i"]:
            await show(update, INDEX, await _index_markup(context, update))
        elif len(parts) == 3 and parts[0] == "c":
            await _show_comuna(update, context, parts[1], int(parts[2]))
        elif len(parts) == 4 and parts[0] == "s":
            await _show_status(update, context, parts[1], parts[2], int(parts[3]))
        elif len(parts) == 3 and parts[0] == "n" and (point := _point(parts[1:])):
            text, markup = await _nearby_screen(context, *point)
            await show(update, text, markup)
        elif len(parts) >= 2 and parts[0] == "w":
            await _show_work(update, context, parts[1], _back_to(parts[2:]))
        elif len(parts) >= 2 and parts[0] == "f":
            await _follow(update, context, parts[1], _back_to(parts[2:]))
        else:
            raise LookupError(parts)
    except (LookupError, ValueError):
        if parts[:1] == ["f"]:
            await query.answer(GONE)
        else:
            await show(update, GONE, InlineKeyboardMarkup([[_button("🏘️ Comunas", "obra:i")]]))


async def _nearby_screen(context: CabildoContext, latitude: float, longitude: float
                         ) -> tuple[str, InlineKeyboardMarkup | None]:
    """Return the five works nearest a point, each opening a card that leads back here."""
    async with context.db.session() as session:
        ranked = await nearest_works(session, latitude=latitude, longitude=longitude)
    locale = context.settings.locale
    if not ranked:
        return NO_COORDS, None
    if ranked[0][1] > FAR_M:
        return (FAR.format(distance=distance_text(ranked[0][1], locale)),
                await _index_markup(context))
    here = ("n", f"{latitude:.4f}", f"{longitude:.4f}")
    rows = [[_button(f"{_icon(w)} a {distance_text(d, locale)} · {clip(w.nombre, 45)}",
                     _card_data(w.codigo, *here))] for w, d in ranked]
    return NEAREST, InlineKeyboardMarkup(rows)


async def nearby(update: Update, context: CabildoContext) -> None:
    """Answer a shared location with the five nearest works and their distance."""
    message = update.effective_message
    if message is None or message.location is None:
        return
    text, markup = await _nearby_screen(context, message.location.latitude,
                                        message.location.longitude)
    await message.reply_text(text, reply_markup=markup)


async def open_work(update: Update, context: CabildoContext, codigo: str) -> bool:
    """Send one work's card (for the deep link `/start obra_<codigo>`); False if unknown."""
    async with context.db.session() as session:
        work = await work_by_code(session, codigo)
    if work is None:
        return False
    await _show_work(update, context, codigo)
    return True


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CommandHandler("obras", show_works),
    CallbackQueryHandler(show_works, pattern=r"^menu:obras$"),
    CallbackQueryHandler(on_button, pattern=r"^obra:"),
    MessageHandler(filters.LOCATION & filters.ChatType.PRIVATE, nearby),
]
