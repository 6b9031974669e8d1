"""`/contratacion` and `/informes` end to end, checked against the imported data."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlmodel import col, select

from bot.config import Settings
from bot.context import CabildoApp
from bot.formatting import money
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.demo import load_demo
from storage.models import ContractingProcess, Report

USER = 7301


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    async with db.session() as s:
        await load_demo(s, tz=settings.tz)


async def test_open_processes_by_modality_and_a_process_card(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        rows = (await s.exec(select(ContractingProcess))).all()
    opened = [p for p in rows if p.estado in ("Abierto", "En evaluación")]
    user = api.user(USER)
    user.send_text("/contratacion")
    [intro] = await api.wait_for("sendMessage", chat_id=USER)
    assert f"Procesos abiertos: {len(opened)}" in intro.params["text"]
    for mode, count in Counter(p.modalidad for p in opened).items():
        assert f"• {mode}: {count}" in intro.params["text"]
    user.tap("📂 Ver abiertos")
    await api.wait_for("editMessageText", chat_id=USER)
    process = opened[0]
    user.tap(f"contr:p:{process.numero_proceso}")
    [*_, card] = await api.wait_for("editMessageText", chat_id=USER, count=2)
    assert process.numero_proceso in card.params["text"]
    assert f"Valor: {money(process.valor)}" in card.params["text"]


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
