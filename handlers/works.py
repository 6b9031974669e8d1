"""`/obras`: public works by comuna, by text, or nearest to a shared location.

Buttons (`handlers.callbacks`, `obra:`): `WorksIndex` comunas · `WorksOfComuna` a comuna's
works · `WorksInStatus` the works in a status (free text's «Ver las N») · `WorksNear` the
nearest to a shared location · `WorkCard` a work's card · `WorkFollow` follow / stop
following it. A card opened from a list carries that list after its code
(`obra:w:<codigo>:c:4:2`, `obra:w:<codigo>:s:suspendida::0`, and so does its follow
button), so «⬅️» goes back to the same page.
"""

from __future__ import annotations

from datetime import date, tzinfo
from html import escape
from urllib.parse import quote

from telegram import (
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Update,
    WebAppInfo,
)
from telegram.constants import ChatType
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, MessageHandler, filters

from bot.context import CabildoContext
from bot.formatting import (
    clip,
    local_date,
    money_short,
    number,
    percent,
    progress_bar,
    source_line,
)
from handlers.callbacks import (
    WorkCard,
    WorkFollow,
    WorksIndex,
    WorksInStatus,
    WorksNear,
    WorksOfComuna,
    button,
    on_press,
    on_stale,
)
from handlers.index import search_index
from handlers.keyboards import LOCATION_PROMPT, location_keyboard
from handlers.paging import page_row, paginate
from handlers.places import comuna_place
from handlers.privacy import ensure_consent
from handlers.screens import show
from handlers.search import STATUS_LABELS
from storage.alerts import toggle
from storage.answers.facts import listed
from storage.comunas import comuna_by_id
from storage.models import Comuna, Work
from storage.search import is_late, status_of
from storage.works import (
    WorkItem,
    comunas_with_counts,
    find_comuna,
    names_a_comuna,
    nearest_works,
    work_by_code,
    work_for_card,
    works_by_status,
    works_in,
)

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
# SECOP publishes no physical progress (unless its execution plans say): never «0 %».
PROGRESS_NOT_REPORTED = "Avance físico: no reportado todavía"
NEAREST = "📍 <b>Obras más cercanas a su ubicación</b>"
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


COMUNAS = button("🏘️ Comunas", WorksIndex())
MENU = button("🏠 Menú", "menu:inicio")
BackTo = WorksOfComuna | WorksInStatus | WorksNear  # the list a card goes back to


def _icon(work: Work | WorkItem) -> str:
    return STATUS_ICON.get(work.estado.lower(), "⚪")


def distance_text(metres: float, locale: str) -> str:
    """Say a distance the way people do: `a 350 m`, `a 1,2 km`."""
    if metres < 1000:
        return f"{round(metres / 10) * 10:.0f} m"
    return f"{number(metres / 1000, locale)} km"


def work_card(
    work: Work, comuna: Comuna | None, locale: str, today: date | None = None,
    tz: tzinfo | None = None,
) -> str:
    """Write a work's card with the figures as imported (and whether it is late on `today`).

    Its last line says where the data came from and when it was last imported (local `tz`).
    """
    lines = [f"{_icon(work)} <b>{escape(work.nombre)}</b>"]
    if comuna:
        lines.append(f"Comuna {escape(comuna.codigo)} · {escape(comuna.nombre)}")
    elif work.comuna_id is None:
        lines.append(UNPLACED)
    lines.append(f"Estado: <b>{escape(work.estado)}</b>")
    if work.avance_fisico is None:
        lines.append(PROGRESS_NOT_REPORTED)
    else:
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
    lines.append(source_line(work.fuente, work.importado_at or work.updated_at, tz=tz,
                             locale=locale, link=work.enlace_secop if work.fuente else None))
    return "\n".join(lines)


def _map_button(update: Update, context: CabildoContext) -> InlineKeyboardButton | None:
    """Return the web map's button: a Mini App in private chats over https, else a link."""
    url = context.settings.web.map_url
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
    buttons = [button(f"{c.comuna.codigo} · {c.comuna.nombre} ({c.works})",
                       WorksOfComuna(c.comuna.codigo, 0)) for c in counts]
    rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
    web_map = _map_button(update, context) if update is not None else None
    return InlineKeyboardMarkup([*rows, *([[web_map]] if web_map else []),
                                 [button("🏠 Menú", "menu:inicio")]])


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
        rows = [[button(f"{_icon(w)} {clip(w.nombre, 58)}", WorkCard(w.codigo))]
                for w in found]
        await show(update, FOUND.format(text=shown), InlineKeyboardMarkup([*rows, [COMUNAS]]))
        return
    await show(update, INDEX, await _index_markup(context, update))
    await _offer_location(update, context)


async def _offer_location(update: Update, context: CabildoContext) -> None:
    """Send the «📍 Enviar mi ubicación» keyboard button (private chats: Telegram asks
    for a location only there). A message holds one keyboard, so it comes on its own."""
    chat = update.effective_chat
    if chat is None or chat.type != ChatType.PRIVATE:
        return
    await context.bot.send_message(chat.id, LOCATION_PROMPT, reply_markup=location_keyboard())


async def _show_comuna(update: Update, context: CabildoContext, code: str, page_no: int) -> None:
    async with context.db.session() as session:
        comuna = await find_comuna(session, code)
        works = await works_in(session, comuna_id=comuna.id or 0) if comuna else []
    if comuna is None:
        raise LookupError(code)
    page = paginate(works, page_no, PER_PAGE)
    if page.number != page_no:
        raise LookupError(page_no)
    rows = [[button(f"{_icon(w)} {clip(w.nombre, 58)}",
                    _card(w.codigo, WorksOfComuna(comuna.codigo, page.number)))]
            for w in page.items]
    nav = page_row(page, lambda n: WorksOfComuna(comuna.codigo, n))
    text = LISTING.format(place=escape(comuna_place(comuna, comuna.codigo)[0]),
                          page=page.label if works else "Todavía no hay obras cargadas aquí.")
    await show(update, text, InlineKeyboardMarkup([*rows, *([nav] if nav else []),
                                                   [COMUNAS, MENU]]))


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
    rows = [[button(f"{_icon(w)} {clip(w.nombre, 58)}",
                    _card(w.codigo, WorksInStatus(status, code, page.number)))]
            for w in page.items]
    nav = page_row(page, lambda n: WorksInStatus(status, code, n))
    where = f" {escape(comuna_place(comuna, code)[0])}" if comuna else ""
    text = STATUS_LISTING.format(status=STATUS_LABELS[status], where=where, total=len(works),
                                 page=page.label if works else STATUS_EMPTY)
    back = (button("⬅️ Obras de la comuna", WorksOfComuna(comuna.codigo, 0)) if comuna
            else COMUNAS)
    await show(update, text, InlineKeyboardMarkup(
        [*rows, *([nav] if nav else []), [back, MENU]]))


def _tail(back: BackTo | None) -> str:
    """Return the list a card carries as its data writes it: `c:4:2`, or "" for none."""
    return back.encode().removeprefix("obra:") if back else ""


def _card(codigo: str, back: BackTo) -> WorkCard:
    """Return a card's action carrying the list it is in, when that fits in 64 bytes."""
    card = WorkCard(codigo, _tail(back))
    try:
        card.encode()
    except ValueError:  # a very long code: the card goes back to its comuna instead
        return WorkCard(codigo)
    return card


def _back_to(tail: str) -> BackTo | None:
    """Read the list a card button carries (`c:<comuna>:<page>`, `s:<status>:<comuna>:<page>`
    or `n:<lat>:<lon>`); None for none, LookupError for one that is not a list."""
    if not tail:
        return None
    for kind in (WorksOfComuna, WorksInStatus, WorksNear):
        back = kind.decode(f"obra:{tail}")
        if isinstance(back, WorksInStatus) and back.status not in STATUS_LABELS:
            break
        if isinstance(back, WorksNear) and _point(back) is None:
            break
        if back is not None:
            return back
    raise LookupError(tail)


def _point(near: WorksNear) -> tuple[float, float] | None:
    """Read the place a button names; None when it is not a place on Earth."""
    try:
        latitude, longitude = float(near.latitude), float(near.longitude)
    except ValueError:
        return None
    return (latitude, longitude) if abs(latitude) <= 90 and abs(longitude) <= 180 else None


def _card_markup(
    context: CabildoContext, work: Work, comuna: Comuna | None, following: bool,
    back: BackTo | None = None,
) -> InlineKeyboardMarkup:
    link = f"https://t.me/{context.bot.username}?start=obra_{work.codigo}"
    share = InlineKeyboardButton(
        "📤 Compartir",
        url=f"https://t.me/share/url?url={quote(link)}&text={quote(work.nombre[:120])}",
    )
    follow = "🔕 Dejar de seguir" if following else "🔔 Seguir esta obra"
    if isinstance(back, WorksInStatus):
        back_button = button(f"⬅️ Obras {STATUS_LABELS[back.status]}", back)
    elif isinstance(back, WorksNear):
        back_button = button(NEARBY_BACK, back)
    else:
        back_button = button("⬅️ Obras de la comuna",
                             back or WorksOfComuna(comuna.codigo if comuna else "", 0))
    follow_action = WorkFollow(work.codigo, _tail(back))
    try:
        follow_action.encode()
    except ValueError:
        follow_action = WorkFollow(work.codigo)
    return InlineKeyboardMarkup([
        [button(follow, follow_action), share],
        [back_button, MENU],
    ])


async def _show_work(
    update: Update, context: CabildoContext, codigo: str, back: BackTo | None = None
) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    async with context.db.session() as session:
        work, following = await work_for_card(session, codigo, chat_id=chat.id)
        if work is None:
            raise LookupError(codigo)
        comuna = await comuna_by_id(session, work.comuna_id)
    today = context.settings.today()
    card = work_card(work, comuna, context.settings.locale, today, context.settings.tz)
    changed = await show(update, card, _card_markup(context, work, comuna, following, back))
    if changed and work.latitud is not None and work.longitud is not None:
        address = work.direccion or (f"Comuna {comuna.codigo} · {comuna.nombre}" if comuna else "")
        await context.bot.send_venue(
            chat.id, latitude=work.latitud, longitude=work.longitud,
            title=work.nombre[:100],
            address=address[:100] or context.settings.municipality_name,
        )


async def _follow(
    update: Update, context: CabildoContext, codigo: str, back: BackTo | None = None
) -> None:
    chat, query = update.effective_chat, update.callback_query
    if chat is None or query is None:
        return
    async with context.db.session() as session:
        work = await work_by_code(session, codigo)
        comuna = await comuna_by_id(session, work.comuna_id) if work else None
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
        await query.edit_message_reply_markup(
            _card_markup(context, work, comuna, now_on, back)
        )
    except BadRequest as exc:
        if "not modified" not in str(exc):
            raise


async def show_index(update: Update, context: CabildoContext, _: WorksIndex) -> None:
    """Show the comunas to pick one."""
    await show(update, INDEX, await _index_markup(context, update))


async def show_near(update: Update, context: CabildoContext, near: WorksNear) -> None:
    """Show again the works nearest a location shared before."""
    point = _point(near)
    if point is None:
        raise LookupError(near)
    await show(update, *await _nearby_screen(context, *point))


async def gone(update: Update, context: CabildoContext) -> None:
    """Say a works button's comuna, page or work no longer exists."""
    await show(update, GONE, InlineKeyboardMarkup([[COMUNAS]]))


async def follow_gone(update: Update, context: CabildoContext) -> None:
    """Say, as a short notice, that the work to follow no longer exists."""
    if update.callback_query is not None:
        await update.callback_query.answer(GONE)


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
    here = WorksNear(f"{latitude:.4f}", f"{longitude:.4f}")
    rows = [[button(f"{_icon(w)} a {distance_text(d, locale)} · {clip(w.nombre, 45)}",
                    _card(w.codigo, here))] for w, d in ranked]
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
    CallbackQueryHandler(show_works, pattern=r"^menu:obras$"),
    on_press(WorksIndex, show_index),
    on_press(WorksOfComuna, lambda u, c, a: _show_comuna(u, c, a.comuna, a.page), gone=gone),
    on_press(WorksInStatus, lambda u, c, a: _show_status(u, c, a.status, a.comuna, a.page),
             gone=gone),
    on_press(WorksNear, show_near, gone=gone),
    on_press(WorkCard, lambda u, c, a: _show_work(u, c, a.codigo, _back_to(a.back)),
             gone=gone),
    # Following answers the tap itself: with what changed, or that the work is gone.
    on_press(WorkFollow, lambda u, c, a: _follow(u, c, a.codigo, _back_to(a.back)),
             answer=False, gone=follow_gone),
    on_stale("obra", gone),
    MessageHandler(filters.LOCATION & filters.ChatType.PRIVATE, nearby),
]
