"""`/preguntas`: the staff's queue of pending citizens' questions, its order, its topic and
office filters, and the sheet for the hearing's moderator (CSV, or XLSX from the button under
it). A view of the queue travels in its buttons (`handlers.callbacks.question_staff`)."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import datetime
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update

from bot.context import CabildoContext
from bot.formatting import clip
from handlers.callbacks import (
    StaffQuestionAnswer,
    StaffQuestionCsv,
    StaffQuestionDuplicate,
    StaffQuestionOffice,
    StaffQuestionOffices,
    StaffQuestionQueue,
    StaffQuestionTopics,
    StaffQuestionView,
    StaffQuestionXlsx,
    button,
)
from handlers.flows import flow_state
from handlers.paging import Page, page_row
from handlers.question_common import (
    PER_PAGE,
    STAFF_FLOW,
    TOPIC_NAMES,
    TOPICS,
    asked_on,
    save_flow,
    topic_label,
)
from handlers.question_notices import excerpt
from handlers.screens import show
from storage import questions as store
from storage.exports import to_csv, to_xlsx
from storage.text import fold

STAFF_EXPIRED = "Esa acción ya no está en curso. Vea la cola con /preguntas."
MAX_OFFICES = 60  # buttons in one office list (Telegram allows 100 in a keyboard)
QUEUE_TITLE = (
    "📥 <b>Preguntas pendientes: {total}</b> · {page}\n"
    "{order}{filters}. Responda con los botones o con <code>/responder n texto</code>."
)
ORDERS = {
    "apoyos": "De la más apoyada a la menos (👍: personas que también quieren saberlo)",
    "tema": "Por tema y, en cada tema, de la más apoyada a la menos",
    "fecha": "De la más antigua a la más reciente",
}
ORDER_LABELS = {"apoyos": "👍 más apoyadas", "tema": "🗂 por tema", "fecha": "🕒 más antiguas"}
QUEUE_EMPTY = "📥 No hay preguntas pendientes{filters}."
QUEUE_ITEM = "\n<b>#{id}</b> · {topic} · 👍 {support} · {when}{office}\n«{text}»"
ASKER_GONE = "🚫 Quien preguntó borró sus datos: la respuesta no le llegará."
SHOWN = (
    "👁 A la vista en «Preguntas más apoyadas» (quien preguntó lo aceptó). Para ocultarla: "
    "<code>/publicar {id} retirar</code>"
)
ALL_OFFICES = "todas"
NO_OFFICE = "sin dependencia"
FILTER_TOPIC = " · solo {topic}"
FILTER_OFFICE = " · solo {office}"
CHOOSE_TOPIC = "🗂 ¿De qué tema quiere ver las preguntas?"
CHOOSE_OFFICE = "🏢 ¿De qué dependencia quiere ver las preguntas?"
EXPORT_CAPTION = (
    "📤 Preguntas para el moderador de la audiencia{filters}: una fila por pregunta (las "
    "duplicadas cuentan en su original), de la más apoyada a la menos. Sin datos personales."
)
XLSX_BUTTON = "📥 Descargar en Excel (XLSX)"


@dataclass(frozen=True)
class QueueView:
    """How staff look at the queue: an order (`store.SORTS`), and a topic and office filter
    (`office` is `store.office_code` of the office, `NONE_CODE` for questions without one)."""

    sort: str = "apoyos"
    topic: str = ""
    office: str = ""

    @property
    def fields(self) -> tuple[str, str, str]:
        """Return the view as buttons carry it: `sort, topic, office`, `-` for no filter."""
        return self.sort, self.topic or "-", self.office or "-"

    def at(self, page: int) -> StaffQuestionView:
        """Return the button showing page `page` of the queue seen this way."""
        return StaffQuestionView(*self.fields, page)

    @classmethod
    def read(cls, *fields: str) -> QueueView | None:
        """Read `sort, topic, office` back from a button; None if they make no sense."""
        sort, topic, office = (p if p != "-" else "" for p in fields)
        if sort not in store.SORTS or (topic and topic not in TOPIC_NAMES):
            return None
        if office and not (office == NONE_CODE or (len(office) == 8 and office.isalnum())):
            return None
        return cls(sort, topic, office)


NONE_CODE = "0"


async def _office_filter(context: CabildoContext, view: QueueView) -> str | None:
    """Return the office name the view filters by ("" for none given, None if unknown)."""
    if not view.office:
        return ""
    if view.office == NONE_CODE:
        return NO_OFFICE
    async with context.db.session() as session:
        return await store.office_named(session, view.office)


def _filters_text(view: QueueView, office: str) -> str:
    """Say the view's filters: « · solo Obras · solo Secretaría de Salud»."""
    text = FILTER_TOPIC.format(topic=topic_label(view.topic)) if view.topic else ""
    return text + (FILTER_OFFICE.format(office=escape(office)) if office else "")


async def show_queue_page(
    update: Update, context: CabildoContext, page_no: int, view: QueueView | None = None
) -> None:
    """Show a page of the pending questions, each with its answer, duplicate and office
    buttons, and the order, filter and export buttons under them."""
    view = view or QueueView()
    office = await _office_filter(context, view)
    if office is None:
        await show(update, STAFF_EXPIRED)
        return
    async with context.db.session() as session:
        page = await store.staff_queue(
            session, sort=view.sort, topic=view.topic or None,
            office=None if not office or view.office == NONE_CODE else office,
            without_office=view.office == NONE_CODE, page=page_no, per_page=PER_PAGE)
    filters = _filters_text(view, office)
    controls = _queue_controls(view, office)
    if not page.total:
        await show(update, QUEUE_EMPTY.format(filters=filters),
                   InlineKeyboardMarkup(controls) if filters else None)
        return
    pages = Page(page.items, page.number, page.count)
    lines = [QUEUE_TITLE.format(total=page.total, page=pages.label,
                                order=ORDERS[view.sort], filters=filters)]
    rows = []
    for q in page.items:
        assert q.id is not None
        lines.append(QUEUE_ITEM.format(
            id=q.id, topic=topic_label(q.topic), support=page.support.get(q.id, 0),
            when=asked_on(q, context), office=f" · 🏢 {escape(q.office)}" if q.office else "",
            text=excerpt(q.text, 400)))
        if q.chat_id is None:
            lines.append(ASKER_GONE)
        if q.share_pending:
            lines.append(SHOWN.format(id=q.id))
        rows.append([button(f"✍️ Responder #{q.id}", StaffQuestionAnswer(q.id)),
                     button(f"🔁 Duplicada #{q.id}", StaffQuestionDuplicate(q.id)),
                     button(f"🏢 #{q.id}", StaffQuestionOffice(q.id))])
    nav = page_row(pages, view.at)
    await show(update, "\n".join(lines),
               InlineKeyboardMarkup([*rows, *([nav] if nav else []), *controls]))


def _queue_controls(view: QueueView, office: str) -> list[list[InlineKeyboardButton]]:
    """Return the order, filter and export buttons under the queue."""
    following = store.SORTS[(store.SORTS.index(view.sort) + 1) % len(store.SORTS)]
    topic = topic_label(view.topic) if view.topic else "todos"
    return [
        [button(f"↕️ Orden: {ORDER_LABELS[view.sort]}",
                 QueueView(following, view.topic, view.office).at(0))],
        [button(f"🗂 Tema: {topic}", StaffQuestionTopics(*view.fields)),
         button(f"🏢 Dependencia: {office or ALL_OFFICES}", StaffQuestionOffices(*view.fields))],
        [button("📤 Exportar para el moderador (CSV)", StaffQuestionCsv(*view.fields))],
    ]


async def show_queue(update: Update, context: CabildoContext) -> None:
    """Show the pending questions, most supported first, with answer and duplicate buttons;
    `/preguntas <tema>` (`/preguntas audiencia`) shows only that topic."""
    words = [w.lower() for w in (context.args or [])]
    topic = next((key for key in TOPIC_NAMES for w in words if fold(w) == key), "")
    await show_queue_page(update, context, 0, QueueView(topic=topic))


def back_to_queue() -> InlineKeyboardMarkup:
    """Return the button back to the queue's first page."""
    return InlineKeyboardMarkup([[button("⬅️ Volver a la cola", StaffQuestionQueue(0))]])


async def filter_choices(update: Update, view: QueueView, *, offices: bool,
                         context: CabildoContext) -> None:
    """Offer the topics, or the offices given to questions, to filter by."""
    if not offices:
        rows = [[button(label, QueueView(view.sort, key, view.office).at(0))]
                for key, label in TOPICS]
        every = QueueView(view.sort, "", view.office)
        rows.append([button("Todos los temas", every.at(0))])
        await show(update, CHOOSE_TOPIC, InlineKeyboardMarkup(rows))
        return
    async with context.db.session() as session:
        names = await store.offices(session, of_questions=True)
    rows = [[button(clip(name, 60), QueueView(view.sort, view.topic,
                                               store.office_code(name)).at(0))]
            for name in names[:MAX_OFFICES]]
    rows.append([button("Sin dependencia", QueueView(view.sort, view.topic, NONE_CODE).at(0))])
    rows.append([button("Todas las dependencias",
                         QueueView(view.sort, view.topic, "").at(0))])
    await show(update, CHOOSE_OFFICE, InlineKeyboardMarkup(rows))


def _stamp() -> str:
    """Return the local time for a file name: `20250314-0930`."""
    return datetime.now().strftime("%Y%m%d-%H%M")


async def export(update: Update, context: CabildoContext, view: QueueView, *, xlsx: bool) -> None:
    """Send the moderator's sheet as CSV (with the Excel button under it) or as XLSX."""
    chat = update.effective_chat
    assert chat is not None
    office = await _office_filter(context, view)
    if office is None:
        await show(update, STAFF_EXPIRED)
        return
    async with context.db.session() as session:
        header, rows = await store.export_rows(
            session, tz=context.settings.tz, topic=view.topic or None,
            office=None if not office or view.office == NONE_CODE else office,
            without_office=view.office == NONE_CODE)
    caption = EXPORT_CAPTION.format(filters=_filters_text(view, office))
    name = f"preguntas-{view.topic or 'todas'}-{_stamp()}"
    if xlsx:
        await context.bot.send_document(chat.id, document=InputFile(
            io.BytesIO(to_xlsx(header, rows, title="preguntas")), filename=f"{name}.xlsx"),
            caption=caption)
        return
    # The Excel button offers the same file again: it goes under the file, last.
    await context.bot.send_document(
        chat.id, document=InputFile(io.BytesIO(to_csv(header, rows)), filename=f"{name}.csv"),
        caption=caption,
        reply_markup=InlineKeyboardMarkup([[button(XLSX_BUTTON, StaffQuestionXlsx(*view.fields))]]),
    )


# --- buttons -------------------------------------------------------------------------------


async def _leave_flow(update: Update, context: CabildoContext) -> None:
    """Forget a pending answer or duplicate: staff went back to the queue."""
    if await flow_state(update, context, STAFF_FLOW) is not None:
        await save_flow(update, context, None)


async def open_queue(update: Update, context: CabildoContext, tap: StaffQuestionQueue) -> None:
    """Show a page of the queue, in its default order and unfiltered."""
    await _leave_flow(update, context)
    await show_queue_page(update, context, tap.page)


async def open_view(update: Update, context: CabildoContext, tap: StaffQuestionView) -> None:
    """Show a page of the queue, sorted and filtered."""
    view = await _in_view(update, tap.sort, tap.topic, tap.office)
    if view is None:
        return
    await _leave_flow(update, context)
    await show_queue_page(update, context, tap.page, view)


async def _in_view(
    update: Update, sort: str, topic: str, office: str
) -> QueueView | None:
    """Return the queue view a button carries, or say it is stale."""
    view = QueueView.read(sort, topic, office)
    if view is None:
        await show(update, STAFF_EXPIRED)
    return view


async def choose_filter(
    update: Update, context: CabildoContext, tap: StaffQuestionTopics | StaffQuestionOffices
) -> None:
    """Offer the topics or the offices to filter the queue by."""
    view = await _in_view(update, tap.sort, tap.topic, tap.office)
    if view is not None:
        await filter_choices(update, view, offices=isinstance(tap, StaffQuestionOffices),
                             context=context)


async def send_export(
    update: Update, context: CabildoContext, tap: StaffQuestionCsv | StaffQuestionXlsx
) -> None:
    """Send the moderator's sheet of the view, as CSV or XLSX."""
    view = await _in_view(update, tap.sort, tap.topic, tap.office)
    if view is not None:
        await export(update, context, view, xlsx=isinstance(tap, StaffQuestionXlsx))
