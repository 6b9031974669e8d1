"""`/evento`'s attendance: tap each person's registration number as they arrive (their card
shows it) or type several; the sheet as CSV with an Excel button under it."""

from __future__ import annotations

import re
from html import escape

from telegram import InlineKeyboardMarkup, InputFile, Update

from bot.context import CabildoContext
from bot.formatting import clip, plural
from handlers.callbacks import (
    CallbackData,
    StaffAttendance,
    StaffAttendanceCsv,
    StaffAttendanceMark,
    StaffAttendanceXlsx,
    StaffEventMenu,
    button,
)
from handlers.event_admin.common import GONE, clear_step, edit, kb, save_step, say
from handlers.paging import page_row, paginate
from handlers.reminders import send_evaluation
from storage.attendance import ATTENDANCE_HEADER, attendance_rows, attendees, mark_attendance
from storage.events import CONFIRMED, WAITING, ends_at, event_by_id
from storage.exports import to_csv, to_xlsx
from storage.types import utcnow

PER_PAGE = 24  # registration numbers on one attendance page (six rows of four)
ATTENDANCE = (
    "📋 <b>Asistencia · #{id} {title}</b>\n{confirmed} con cupo · {waiting} en espera · "
    "{present} asistieron.\nCada persona ve su número de inscripción en la tarjeta del evento. "
    "Toque su número cuando llegue (✅); tóquelo otra vez para quitarlo. ⏳ = lista de espera. "
    "También puede escribir varios números: <code>12 15 18</code>.{page}"
)
TYPED_PRESENT = "✅ Presentes: {numbers}."
TYPED_UNKNOWN = "No son inscripciones de este evento: {numbers}."
TYPED_HOW = (
    "Escriba los números de inscripción de quienes llegaron, así: <code>12 15 18</code>, "
    "o vuelva con /evento."
)
NO_ATTENDEES = "📋 <b>Asistencia · #{id} {title}</b>\nTodavía nadie se ha inscrito."
SHEET_CAPTION = "📋 Planilla de asistencia · #{id} {title} · {people}, {present} asistieron."
XLSX_BUTTON = "📥 Descargar en Excel (XLSX)"


async def show_attendance(
    update: Update, context: CabildoContext, event_id: int, page_no: int
) -> None:
    """Show a page of the registration numbers, each a button marking the person present."""
    async with context.db.session() as session:
        event = await event_by_id(session, event_id)
        people = await attendees(session, event_id=event_id) if event else []
    if event is None:
        await say(update, GONE)
        return
    back: list[tuple[str, CallbackData]] = [("⬅️ Volver al evento", StaffEventMenu(event_id))]
    if not people:
        await say(update, NO_ATTENDEES.format(id=event_id, title=escape(event.titulo)),
                    kb([back]))
        return
    page = paginate(people, page_no, PER_PAGE)
    buttons = [
        button(
            f"{'✅' if a.present else '⬜'} {a.number}{' ⏳' if a.status == WAITING else ''}",
            StaffAttendanceMark(event_id, a.number, 0 if a.present else 1, page.number),
        )
        for a in page.items
    ]
    rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
    nav = page_row(page, lambda number: StaffAttendance(event_id, number))
    text = ATTENDANCE.format(
        id=event_id, title=escape(event.titulo),
        confirmed=sum(1 for a in people if a.status == CONFIRMED),
        waiting=sum(1 for a in people if a.status == WAITING),
        present=sum(1 for a in people if a.present),
        page=f"\n{page.label}" if page.count > 1 else "",
    )
    markup = InlineKeyboardMarkup([
        *rows, *([nav] if nav else []),
        *kb([[("📥 Planilla", StaffAttendanceCsv(event_id)), *back]]).inline_keyboard,
    ])
    await say(update, text, markup)


async def mark(update: Update, context: CabildoContext, tap: StaffAttendanceMark) -> None:
    """Mark one registration present or not; after the event, send its survey to them."""
    event_id, number, present, page_no = tap.event, tap.number, tap.present, tap.page
    async with context.db.session() as session:
        event = await event_by_id(session, event_id)
        if event is None:
            await edit(update, GONE)
            return
        marked = await mark_attendance(
            session, event_id=event_id, numbers=[number], present=present == 1
        )
        if marked and present == 1 and ends_at(event) <= utcnow():
            # The sweep sent the survey when the event ended; whoever is marked later gets
            # it now (the dedupe key keeps it to once per person).
            await send_evaluation(session, event, list(marked.values()))
    await show_attendance(update, context, event_id, page_no)


async def typed_attendance(
    update: Update, context: CabildoContext, event_id: int, text: str
) -> None:
    """Mark present the registration numbers staff typed, then show the sheet again."""
    message = update.effective_message
    assert message is not None
    numbers = list(dict.fromkeys(int(n) for n in re.findall(r"\d{1,9}", text)))
    if not numbers:
        await message.reply_text(TYPED_HOW)
        return
    async with context.db.session() as session:
        event = await event_by_id(session, event_id)
        if event is None:
            await clear_step(update, context)
            await message.reply_text(GONE)
            return
        marked = await mark_attendance(session, event_id=event_id, numbers=numbers, present=True)
        if marked and ends_at(event) <= utcnow():
            await send_evaluation(session, event, list(marked.values()))
    lines = []
    if marked:
        lines.append(TYPED_PRESENT.format(numbers=", ".join(str(n) for n in marked)))
    unknown = [n for n in numbers if n not in marked]
    if unknown:
        lines.append(TYPED_UNKNOWN.format(numbers=", ".join(str(n) for n in unknown)))
    await message.reply_text(" ".join(lines))
    await show_attendance(update, context, event_id, 0)


async def send_sheet(
    update: Update, context: CabildoContext, event_id: int, *, xlsx: bool
) -> None:
    """Send the attendance sheet: CSV with an Excel button under it, or the XLSX itself."""
    chat = update.effective_chat
    if chat is None:
        return
    async with context.db.session() as session:
        event = await event_by_id(session, event_id)
        people = await attendees(session, event_id=event_id) if event else []
    if event is None:
        await edit(update, GONE)
        return
    rows = attendance_rows(people, tz=context.settings.tz)
    caption = SHEET_CAPTION.format(
        id=event_id, title=escape(clip(event.titulo, 120)),
        people=plural(len(people), "inscrita", "inscritas"),
        present=sum(1 for a in people if a.present),
    )
    name = f"asistencia-evento-{event_id}"
    if xlsx:
        data = to_xlsx(ATTENDANCE_HEADER, rows, title=f"evento {event_id}")
        await context.bot.send_document(chat.id, InputFile(data, filename=f"{name}.xlsx"),
                                        caption=caption)
        return
    # The Excel button offers the same sheet again: it goes under the file it refers to.
    await context.bot.send_document(
        chat.id, InputFile(to_csv(ATTENDANCE_HEADER, rows), filename=f"{name}.csv"),
        caption=caption, reply_markup=kb([[(XLSX_BUTTON, StaffAttendanceXlsx(event_id))]]),
    )


async def open_attendance(update: Update, context: CabildoContext, tap: StaffAttendance) -> None:
    """Show the attendance page, where numbers may also be typed."""
    await save_step(update, context, "asistencia", {"id": tap.event})
    await show_attendance(update, context, tap.event, tap.page)
