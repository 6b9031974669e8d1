"""`/evento`: staff create, change, cancel or postpone an event, and take its attendance.

`/evento` lists the upcoming events (`menu`); «➕ Nuevo evento» starts the wizard
(`wizard`); `/evento <id>` shows the registrants, the waiting list and who came, and offers:
date and time, place, places or title, «⏸️ Aplazar» and «🚫 Cancelar evento» (`changes`);
«📋 Asistencia» and «📥 Planilla» (`attendance`). Buttons are `handlers.callbacks`'
`StaffEvent…` and `StaffAttendance…` actions (`staff:ev:` data, which `handlers.access` lets
through only for staff); typed answers come here through `handlers.flows` (flow `evento`).
"""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import CabildoContext
from handlers.callbacks import (
    StaffAttendance,
    StaffAttendanceCsv,
    StaffAttendanceMark,
    StaffAttendanceXlsx,
    StaffEventCallOff,
    StaffEventCallOffConfirm,
    StaffEventClose,
    StaffEventComuna,
    StaffEventField,
    StaffEventKind,
    StaffEventLater,
    StaffEventMenu,
    StaffEventNew,
    StaffEventPostpone,
    StaffEventPostponeConfirm,
    StaffEventSave,
    StaffEventSkip,
    on_press,
    on_stale,
)
from handlers.event_admin import attendance, changes, wizard
from handlers.event_admin.common import (
    CANCELLED,
    EXPIRED,
    FLOW,
    MAX_DESCRIPTION,
    MAX_LINK,
    MAX_PLACE,
    MAX_REASON,
    MAX_TITLE,
    clear_step,
    edit,
)
from handlers.event_admin.menu import event_menu, start_events
from handlers.flows import IDLE_NOTES, LOCATION_STEPS, TEXT_STEPS
from storage.conversations import FlowState

__all__ = ["HANDLERS", "start_events"]

TOO_LONG = "Es muy largo ({length} caracteres); el máximo es {limit}."


def _limit(step: str, field: str | None) -> int | None:
    """Return the length limit of what is typed at this step, if it has one."""
    if step in ("cancelar", "aplazar_motivo"):
        return MAX_REASON
    if step == "descripcion":
        return MAX_DESCRIPTION
    if step == "enlace":
        return MAX_LINK
    if "titulo" in (step, field):
        return MAX_TITLE
    if "lugar" in (step, field):
        return MAX_PLACE
    return None


async def receive_text(update: Update, context: CabildoContext, state: FlowState) -> None:
    """Take what staff typed at the wizard's current step."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    text, data, step = message.text.strip(), dict(state.data), state.step
    limit = _limit(step, data.get("campo") if step == "editar" else None)
    if limit is not None and len(text) > limit:
        await message.reply_text(TOO_LONG.format(length=len(text), limit=limit))
        return
    if step in wizard.SKIPPABLE and text.lower() in wizard.SKIP_WORDS:
        await wizard.ask(update, context, wizard.SKIPPABLE[step], data)
    elif step in wizard.STEPS:
        await wizard.take_text(update, context, step, data, text)
    elif step == "editar":
        await changes.apply_edit(update, context, data, text)
    elif step == "asistencia":
        await attendance.typed_attendance(update, context, int(data["id"]), text)
    elif step == "cancelar":
        await changes.confirm(update, context, "cancelar_ok", {**data, "motivo": text})
    elif step == "aplazar":
        await changes.postpone_date(update, context, data, text)
    elif step == "aplazar_motivo":
        await changes.confirm(update, context, "aplazar_ok", {**data, "motivo": text})
    else:
        await message.reply_text(EXPIRED)


async def open_menu(update: Update, context: CabildoContext, tap: StaffEventMenu) -> None:
    """Show an event's menu; no typed step is pending there."""
    await clear_step(update, context)
    await event_menu(update, context, tap.event)


async def close(update: Update, context: CabildoContext, _: StaffEventClose) -> None:
    """Leave the wizard (or an event's menu) without saving anything."""
    await clear_step(update, context)
    await edit(update, CANCELLED)


async def expired(update: Update, context: CabildoContext) -> None:
    """Say a stale or unknown events button no longer does anything."""
    await edit(update, EXPIRED)


TEXT_STEPS[FLOW] = receive_text
LOCATION_STEPS[FLOW] = wizard.receive_location
IDLE_NOTES[FLOW] = (
    "⌛ Pasaron más de 30 minutos, así que no tomé este mensaje para el evento y no cambié "
    "nada. Vuelva con /evento"
)

HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    on_press(StaffEventNew, wizard.start_new),
    on_press(StaffEventMenu, open_menu),
    on_press(StaffEventField, changes.ask_field),
    on_press(StaffEventCallOff, changes.start_call_off),
    on_press(StaffEventPostpone, changes.start_postpone),
    on_press(StaffAttendance, attendance.open_attendance),
    on_press(StaffAttendanceMark, attendance.mark),
    on_press(StaffAttendanceCsv, lambda u, c, a: attendance.send_sheet(u, c, a.event, xlsx=False)),
    on_press(StaffAttendanceXlsx, lambda u, c, a: attendance.send_sheet(u, c, a.event, xlsx=True)),
    on_press(StaffEventClose, close),
    # The wizard's own steps: each checks the wizard waits there, or says it lapsed.
    on_press(StaffEventKind, wizard.choose_kind),
    on_press(StaffEventComuna, wizard.choose_comuna),
    on_press(StaffEventSkip, wizard.skip),
    on_press(StaffEventSave, wizard.save_now),
    on_press(StaffEventLater, wizard.save_later),
    on_press(StaffEventCallOffConfirm,
             lambda u, c, _: changes.finish_confirmed(u, c, postpone=False)),
    on_press(StaffEventPostponeConfirm,
             lambda u, c, _: changes.finish_confirmed(u, c, postpone=True)),
    on_stale("staff:ev", expired),
]
