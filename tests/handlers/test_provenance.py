"""Every card says where its data came from and when it was last imported, in one line."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp
from bot.formatting import local_date
from bot.localapi import LocalBotAPI
from handlers.contracting import process_card
from storage.db import Database
from storage.importers import import_bytes
from storage.models import BudgetLine, ContractingProcess, Goal, Work

USER = 7401
FIXTURES = Path(__file__).parents[1] / "storage" / "fixtures"
PARK = "CO1.PCCNTR.4913416"
PARK_LINK = ("https://community.secop.gov.co/Public/Tendering/OpportunityDetail/Index?"
             "noticeUID=CO1.NTC.4913416")
# 22:00 on 3 December in Bogotá: already the 4th in UTC.
EVENING = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)


# Each test's database starts with the example data (as `load_demo` leaves it).
pytestmark = pytest.mark.usefixtures("demo_data")


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    async with db.session() as s:
        data = (FIXTURES / "secop_contratos_api.json").read_bytes()
        await import_bytes(s, "secop_contratos", data, "jbjy-vk9h.json", tz=settings.tz,
                           skip_bad_rows=True)
    async with db.session() as s:
        for item in [*(await s.exec(select(Work))).all(),
                     *(await s.exec(select(BudgetLine))).all()]:
            item.importado_at = EVENING
            s.add(item)
        await s.commit()


async def _card(api: LocalBotAPI, start: str) -> str:
    user = api.user(USER)
    user.send_text(f"/start {start}")
    [card, *_] = await api.wait_for("sendMessage", chat_id=USER)
    return str(card.params["text"])


async def test_a_secop_work_names_secop_with_the_link_and_the_local_date(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        park = (await s.exec(select(Work).where(Work.codigo == PARK))).one()
    assert (park.fuente, park.fuente_conjunto, park.fuente_id) == ("SECOP II", "jbjy-vk9h", PARK)
    text = await _card(api, f"obra_{PARK}")
    assert text.splitlines()[-1] == (
        f'Fuente: <a href="{PARK_LINK}">SECOP II</a>, actualizado el 3 de diciembre de 2026'
    )


async def test_a_work_from_a_staff_file_says_so(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        work = (await s.exec(select(Work).where(Work.fuente == None))).first()  # noqa: E711
    assert work is not None and work.enlace_secop  # a SECOP link, but no SECOP source
    text = await _card(api, f"obra_{work.codigo}")
    assert text.splitlines()[-1] == (
        "Fuente: Alcaldía (archivo importado), actualizado el 3 de diciembre de 2026"
    )


async def test_completing_a_secop_work_from_a_file_keeps_its_source(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    csv = f"codigo,nombre,comuna,estado,avance_fisico\n{PARK},Parque Kennedy,4,En ejecución,30\n"
    async with db.session() as s:
        result = await import_bytes(s, "obras", csv.encode(), "ubicar.csv", tz=settings.tz)
    assert result.updated == 1
    text = await _card(api, f"obra_{PARK}")
    today = datetime.now(settings.tz).date()
    assert text.splitlines()[-1] == (
        f'Fuente: <a href="{PARK_LINK}">SECOP II</a>, actualizado el {local_date(today)}'
    )


async def test_a_goal_card_ends_with_its_source(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    async with db.session() as s:
        goal = (await s.exec(select(Goal))).first()
        assert goal is not None
        goal.importado_at = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
        s.add(goal)
        await s.commit()
    text = await _card(api, f"meta_{goal.codigo}")
    assert text.splitlines()[-1] == (
        "Fuente: Alcaldía (archivo importado), actualizado el 30 de noviembre de 2026"
    )


async def test_a_process_card_names_its_source_and_links_the_record(
    db: Database, seed: None
) -> None:
    async with db.session() as s:
        process = (await s.exec(select(ContractingProcess))).first()
    assert process is not None
    tz = ZoneInfo("America/Bogota")
    process.importado_at = EVENING
    plain = process_card(process, "es_CO", date(2026, 12, 5), tz)
    assert plain.splitlines()[-1] == (
        "Fuente: Alcaldía (archivo importado), actualizado el 3 de diciembre de 2026"
    )
    process.fuente, process.enlace_secop = "SECOP II", "https://community.secop.gov.co/p/1"
    card = process_card(process, "es_CO", date(2026, 12, 5), tz)
    assert card.splitlines()[-1] == (
        'Fuente: <a href="https://community.secop.gov.co/p/1">SECOP II</a>, actualizado el '
        "3 de diciembre de 2026"
    )


async def test_the_budget_screens_end_with_their_source(
    bot: CabildoApp, api: LocalBotAPI, db: Database
) -> None:
    user = api.user(USER)
    user.send_text("/presupuesto")
    [totals, *_] = await api.wait_for("sendMessage", chat_id=USER)
    assert totals.params["text"].splitlines()[-1] == (
        "Fuente: Alcaldía (archivo importado), actualizado el 3 de diciembre de 2026"
    )
    async with db.session() as s:
        # One of the office's two lines now comes from CUIPO; the other from a file.
        lines = (await s.exec(select(BudgetLine).where(
            BudgetLine.dependencia == "Secretaría de Educación",
            BudgetLine.rubro == "Inversión"))).all()
        for line in lines:
            line.fuente = "CUIPO"
            s.add(line)
        await s.commit()
    assert lines
    user.send_text("/presupuesto educacion")
    [*_, office] = await api.wait_for("sendMessage", chat_id=USER, count=2)
    assert "Secretaría de Educación" in office.params["text"]
    assert office.params["text"].splitlines()[-1] == (
        "Fuente: CUIPO y Alcaldía (archivo importado), actualizado el 3 de diciembre de 2026"
    )
