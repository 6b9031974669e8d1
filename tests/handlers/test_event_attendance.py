"""`/evento`: staff take attendance, export the sheet; the survey goes to those who came."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, datetime, timedelta

from openpyxl import load_workbook
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from handlers.reminders import sweep
from storage.db import Database
from storage.models import Event, Registration, Survey
from tests.handlers.event_admin_support import (
    ADMIN,
    REGISTERED,
    SUBSCRIBER,
    WAITING_ONE,
    _labels,
    _running_event,
    _texts,
    # `seed` overrides the conftest's: the `bot` fixture loads the comunas before starting.
    seed,  # noqa: F401
)


async def test_staff_mark_attendance_export_the_sheet_and_the_survey_goes_to_those_who_came(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    now = datetime.now(UTC)
    event = await _running_event(db, start=now - timedelta(hours=1),
                                 end=now + timedelta(minutes=30))
    async with db.session() as s:
        stored = await s.get(Event, event.id)
        assert stored is not None
        stored.encuesta = "evaluacion-taller"
        s.add(stored)
        s.add(Survey(slug="evaluacion-taller", titulo="Evaluación del taller"))
        s.add(Registration(event_id=event.id or 0, chat_id=SUBSCRIBER))
        await s.commit()
        rows = (await s.exec(select(Registration).order_by(col(Registration.id)))).all()
    numbers = {r.chat_id: r.id for r in rows}
    staff = api.user(ADMIN)
    staff.send_text(f"/evento {event.id}")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    staff.tap("📋 Asistencia")
    [sheet] = await api.wait_for("editMessageText", chat_id=ADMIN)
    assert "2 con cupo · 1 en espera · 0 asistieron" in sheet.params["text"]
    assert _labels(sheet.params)[:3] == [
        f"⬜ {numbers[REGISTERED]}", f"⬜ {numbers[SUBSCRIBER]}", f"⬜ {numbers[WAITING_ONE]} ⏳"]
    staff.tap(f"⬜ {numbers[REGISTERED]}")
    staff.tap(f"⬜ {numbers[WAITING_ONE]} ⏳")  # someone on the waiting list came too
    edits = await api.wait_for("editMessageText", chat_id=ADMIN, count=3)
    assert "2 con cupo · 1 en espera · 2 asistieron" in edits[-1].params["text"]
    staff.tap(f"✅ {numbers[WAITING_ONE]} ⏳")  # a mistake, taken back
    edits = await api.wait_for("editMessageText", chat_id=ADMIN, count=4)
    assert f"⬜ {numbers[WAITING_ONE]} ⏳" in _labels(edits[-1].params)
    staff.tap("📥 Planilla")
    [csv_file] = await api.wait_for("sendDocument", chat_id=ADMIN)
    assert csv_file.params["caption"] == (
        f"📋 Planilla de asistencia · #{event.id} Taller de cocreación del parque · "
        "3 inscritas, 1 asistieron.")
    assert _labels(csv_file.params) == ["📥 Descargar en Excel (XLSX)"]
    document = api.messages(ADMIN)[-1]["document"]
    assert document["file_name"] == f"asistencia-evento-{event.id}.csv"
    lines = api.file_bytes(document["file_id"]).decode("utf-8-sig").splitlines()
    assert lines[0] == "inscripcion,estado,inscrito_el,asistio"
    assert [line.split(",")[::3] for line in lines[1:]] == [
        [str(numbers[REGISTERED]), "sí"], [str(numbers[SUBSCRIBER]), "no"],
        [str(numbers[WAITING_ONE]), "no"]]
    assert lines[3].split(",")[1] == "en espera"
    staff.tap("📥 Descargar en Excel (XLSX)")
    await api.wait_for("sendDocument", chat_id=ADMIN, count=2)
    document = api.messages(ADMIN)[-1]["document"]
    assert document["file_name"] == f"asistencia-evento-{event.id}.xlsx"
    book = load_workbook(io.BytesIO(api.file_bytes(document["file_id"])))
    cells = [[c.value for c in row] for row in book.active.iter_rows()]
    assert cells[0] == ["inscripcion", "estado", "inscrito_el", "asistio"]
    assert cells[1][0] == numbers[REGISTERED] and cells[1][3] == "sí"
    # When the event ends, the evaluation survey goes to the one person who came.
    assert await sweep(db, settings, now + timedelta(minutes=31)) == 1
    [survey] = await api.wait_for("sendMessage", chat_id=REGISTERED)
    assert survey.params["text"].startswith("🙏 Gracias por participar en <b>Taller")
    assert _labels(survey.params) == ["📝 Responder la encuesta"]
    await asyncio.sleep(0.3)
    assert api.calls_to(SUBSCRIBER) == [] and api.calls_to(WAITING_ONE) == []

async def test_staff_may_type_several_registration_numbers_at_once(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    event = await _running_event(db, start=datetime.now(UTC) + timedelta(minutes=10))
    async with db.session() as s:
        rows = (await s.exec(select(Registration).order_by(col(Registration.id)))).all()
    numbers = [r.id for r in rows]
    staff = api.user(ADMIN)
    staff.send_text(f"/evento {event.id}")
    await api.wait_for("sendMessage", chat_id=ADMIN)
    staff.tap("📋 Asistencia")
    await api.wait_for("editMessageText", chat_id=ADMIN)
    staff.send_text("llegó la señora")
    staff.send_text(f"{numbers[0]}, {numbers[1]} y 99999")
    texts = await _texts(api, ADMIN, 4)
    assert texts[1].startswith("Escriba los números de inscripción de quienes llegaron")
    assert texts[2] == (f"✅ Presentes: {numbers[0]}, {numbers[1]}. "
                        "No son inscripciones de este evento: 99999.")
    assert "1 con cupo · 1 en espera · 2 asistieron" in texts[3]
    async with db.session() as s:
        present = (await s.exec(select(Registration.chat_id).where(
            col(Registration.asistio).is_(True)))).all()
    assert sorted(present) == [REGISTERED, WAITING_ONE]
    staff.tap("⬅️ Volver al evento")  # leaves the typing step
    await api.wait_for("editMessageText", chat_id=ADMIN, count=2)
    staff.send_text("cuando es la audiencia")
    await api.wait_for("sendMessage", chat_id=ADMIN, count=5)
    assert not api.messages(ADMIN)[-1]["text"].startswith("Escriba los números")
