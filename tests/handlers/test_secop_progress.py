"""A SECOP work's physical progress: «no reportado» until SECOP II's execution plans
(`mfmm-jqmq`, kind `secop_ejecucion`) or staff say, never «0 %»; then followers hear it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.importers import import_bytes
from storage.models import Subscription, Work
from storage.privacy import give_consent

FIXTURES = Path(__file__).parent.parent / "storage" / "fixtures"
ADMIN, FOLLOWER = 1000, 6201
PARK = "CO1.PCCNTR.4913416"


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    async with db.session() as s:
        await import_bytes(s, "secop_contratos",
                           (FIXTURES / "secop_contratos_api.csv").read_bytes(),
                           "jbjy-vk9h.csv", tz=settings.tz, skip_bad_rows=True)
        await give_consent(s, telegram_id=FOLLOWER, chat_id=FOLLOWER)
        s.add(Subscription(chat_id=FOLLOWER, kind="obra", value=PARK))
        await s.commit()


async def _progress(db: Database) -> dict[str, float | None]:
    async with db.session() as s:
        return {w.codigo: w.avance_fisico for w in (await s.exec(select(Work))).all()}


async def test_progress_is_not_reported_until_secops_execution_plans_say(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    assert set((await _progress(db)).values()) == {None}
    citizen = api.user(6202)
    citizen.send_text(f"/start obra_{PARK}")
    [card] = await api.wait_for("sendMessage", chat_id=6202)
    assert "Avance físico: no reportado todavía" in card.params["text"]
    assert "0 %" not in card.params["text"].replace("20 %", "")  # 20 %: financial
    citizen.send_text("cuanto avance tiene el mejoramiento del parque del barrio kennedy")
    _, answer = await api.wait_for("sendMessage", chat_id=6202, count=2)
    assert answer.params["text"].startswith(
        "<b>MEJORAMIENTO DEL PARQUE DEL BARRIO KENNEDY</b> no tiene avance físico reportado "
        "todavía; lleva 20 % de avance financiero. Está en ejecución.")

    admin = api.user(ADMIN)
    admin.send_document("mfmm-jqmq.json", (FIXTURES / "secop_ejecucion_api.json").read_bytes(),
                        caption="/importar secop_ejecucion")
    [done] = await api.wait_for("sendMessage", chat_id=ADMIN)
    text = done.params["text"]
    assert text.startswith("✅ Importación completa: secop_ejecucion: 0 filas nuevas, "
                           "2 actualizadas, 0 sin cambios.")
    assert "🔔 1 alerta de cambios en cola" in text
    assert ("Se dejaron de lado 2 filas: 2 sin porcentaje de avance real." in text)
    assert ("Contratos con varias filas (planes de entrega), de los que se tomó el mayor "
            "avance real: 1.") in text
    assert ("Contratos dejados de lado porque no son obras en Cabildo: 1 (importe antes los "
            "contratos con «secop_contratos»).") in text
    progress = await _progress(db)
    assert (progress[PARK], progress["CO1.PCCNTR.5203311"]) == (62.5, 18.0)
    # A contract whose plans report nothing yet stays «not reported».
    assert progress["CO1.PCCNTR.5400444"] is None
    [alert] = await api.wait_for("sendMessage", chat_id=FOLLOWER)
    assert "avance físico no reportado → 62,5 %" in alert.params["text"]

    citizen.send_text("cuanto avance tiene el mejoramiento del parque del barrio kennedy")
    *_, again = await api.wait_for("sendMessage", chat_id=6202, count=3)
    assert ("lleva <b>62,5 %</b> de avance físico y 20 % de avance financiero"
            in again.params["text"])


async def test_the_weekly_summary_counts_what_the_sources_brought(
    db: Database, settings: Settings
) -> None:
    from storage.audit import add_entry
    from storage.summary import week_data
    from storage.types import utcnow

    async with db.session() as s:
        for kind, name in (("secop_contratos", "secop_contratos_api.csv"),
                           ("secop_ejecucion", "secop_ejecucion_api.json"),
                           ("secop_procesos", "secop_procesos_api.json")):
            result = await import_bytes(s, kind, (FIXTURES / name).read_bytes(), name,
                                        tz=settings.tz, skip_bad_rows=True)
            add_entry(s, actor_id=None, action="importar", detail=result.audit_detail(name))
        await s.commit()
        week = await week_data(s, end=utcnow())
    assert len(week.new_works) == 5  # the contracts' works are new works of the week
    assert len(week.new_processes) == 5
    assert {(c.key, c.old, c.new) for c in week.works} == {
        (PARK, None, 62.5), ("CO1.PCCNTR.5203311", None, 18.0),
    }
