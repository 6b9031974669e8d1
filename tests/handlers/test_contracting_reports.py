"""`/contratacion` and `/informes` end to end, checked against the imported data."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

import pytest
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoApp
from bot.formatting import money_short
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.models import ContractingProcess, Report

USER = 7301


# Each test's database starts with the example data (as `load_demo` leaves it).
pytestmark = pytest.mark.usefixtures("demo_data")


async def test_processes_by_stage_and_a_process_card(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    today = datetime.now(settings.tz).date()
    async with db.session() as s:
        rows = (await s.exec(select(ContractingProcess))).all()
        # The demo moves the sample forward so «Abierto» processes take bids; one is made
        # overdue: the data still says «Abierto» after its closing date.
        overdue = next(p for p in rows if p.estado == "Abierto")
        overdue.fecha_cierre = today - timedelta(days=10)
        s.add(overdue)
        await s.commit()
        rows = (await s.exec(select(ContractingProcess))).all()
    late = [p for p in rows if p.numero_proceso == overdue.numero_proceso]
    bidding = [p for p in rows if p.estado == "Abierto" and p not in late]
    evaluating = [p for p in rows if p.estado == "En evaluación"] + late
    awarded = [p for p in rows if p.estado in ("Adjudicado", "Celebrado")]
    other = [p for p in rows if p.estado not in ("Abierto", "En evaluación", "Adjudicado",
                                                  "Celebrado")]
    assert late and other  # the sample has overdue «Abierto» and «Desierto» processes
    user = api.user(USER)
    user.send_text("/contratacion")
    [intro] = await api.wait_for("sendMessage", chat_id=USER)
    text = intro.params["text"]
    assert f"Reciben ofertas: {len(bidding)}\n" in text and bidding
    for mode, count in Counter(p.modalidad for p in bidding).items():
        assert f"• {mode}: {count}" in text
    assert (f"En evaluación: {len(evaluating)} (incluye {len(late)} que siguen como "
            "«Abierto»") in text
    assert f"Adjudicados: {len(awarded)}" in text
    assert f"Desiertos, cancelados u otros: {len(other)}" in text
    assert len(rows) == len(bidding) + len(evaluating) + len(awarded) + len(other)  # all shown
    user.tap("🚫 Desiertos y otros")
    [listing] = await api.wait_for("editMessageText", chat_id=USER)
    shown = {b["callback_data"] for row in listing.params["reply_markup"]["inline_keyboard"]
             for b in row}
    assert {f"contr:p:{p.numero_proceso}" for p in other} <= shown
    user.tap("⬅️ Contratación")
    await api.wait_for("editMessageText", chat_id=USER, count=2)
    user.tap("🔎 En evaluación")
    await api.wait_for("editMessageText", chat_id=USER, count=3)
    process = late[0]
    user.tap(f"contr:p:{process.numero_proceso}")
    [*_, card] = await api.wait_for("editMessageText", chat_id=USER, count=4)
    assert process.numero_proceso in card.params["text"]
    assert f"Valor: {money_short(process.valor)}" in card.params["text"]
    assert "(ya pasó)" in card.params["text"]


async def test_reports_newest_first_and_paging(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        rows = (await s.exec(select(Report).order_by(col(Report.fecha_publicacion).desc()))).all()
    user = api.user(USER)
    user.send_text("/informes")
    [first] = await api.wait_for("sendMessage", chat_id=USER)
    text = first.params["text"]
    assert text.index(rows[0].titulo) < text.index(rows[1].titulo)
    assert "Página 1 de 3" in text and rows[0].enlace in text
    user.tap("Siguiente ▶️")
    [second] = await api.wait_for("editMessageText", chat_id=USER)
    assert "Página 2 de 3" in second.params["text"] and rows[5].titulo in second.params["text"]
    user.tap("◀️ Anterior")
    [*_, back] = await api.wait_for("editMessageText", chat_id=USER, count=2)
    assert back.params["text"] == first.params["text"]
