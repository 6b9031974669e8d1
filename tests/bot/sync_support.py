"""Helpers of the `cabildo sincronizar secop` tests: a local stand-in of datos.gov.co's API.

The recorded pages are the rows of `tests/storage/fixtures/secop_contratos_api.json` (the
API's shape: 84 fields, floating timestamps, `{"url": …}` links) that the query's filter
(`tipo_de_contrato = 'Obra'`) lets through, paged two by two, so a run reads four pages
(the last one empty). Nothing reaches the internet.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from bot.config import Settings
from bot.sync import SyncReport, run_sync
from storage.db import Database
from storage.models import OutboxMessage, Work
from storage.socrata import SocrataClient
from tests.utils.datos import FakeDatosGov, recorded

FIXTURE = Path(__file__).parents[1] / "storage" / "fixtures" / "secop_contratos_api.json"
DATASET = "jbjy-vk9h"
PROCESSES = "p6dx-8zbt"  # SECOP II Procesos, read in the same sync
PROCESSES_FIXTURE = "secop_procesos_api.json"  # 10 rows, two lots of one process
PROCESS_OUTLIER = "CO1.REQ.7060001"  # a base price of 6×10¹⁸ pesos
NIT = "890201222"
OUTLIER = "CO1.PCCNTR.5999999"  # "worth" 6×10¹⁸ pesos
PARK, ROAD, BRIDGE, WALL, DRAFT = (
    "CO1.PCCNTR.4913416", "CO1.PCCNTR.5011872", "CO1.PCCNTR.4420017", "CO1.PCCNTR.5203311",
    "CO1.PCCNTR.5400444",
)


def recorded_rows(*, outlier: bool = False) -> list[dict[str, Any]]:
    """Return the works the API answers for the NIT: the fixture's contracts of type Obra."""
    rows = json.loads(FIXTURE.read_text(encoding="utf-8"))
    return [r for r in rows if r["tipo_de_contrato"] == "Obra"
            and (outlier or r["id_contrato"] != OUTLIER)]


def recorded_processes(*, outlier: bool = False) -> list[dict[str, Any]]:
    """Return the processes the API answers for the NIT: the fixture's p6dx rows."""
    rows = recorded(PROCESSES_FIXTURE)
    return [r for r in rows if outlier or r["id_del_proceso"] != PROCESS_OUTLIER]


def row(rows: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return next(r for r in rows if r["id_contrato"] == key)


@pytest.fixture
async def datos() -> AsyncIterator[FakeDatosGov]:
    async with FakeDatosGov() as fake:
        fake.datasets[DATASET] = recorded_rows()
        fake.datasets[PROCESSES] = recorded_processes()
        yield fake


class Waits:
    """Records the back-off waits instead of sleeping them."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


def client(fake: FakeDatosGov, waits: Waits | None = None, **kwargs: Any) -> SocrataClient:
    options: dict[str, Any] = {"page_size": 2, "backoff": 0.5, "timeout": 5, **kwargs}
    return SocrataClient(fake.url, sleep=waits or Waits(), **options)


async def sync(db: Database, settings: Settings, fake: FakeDatosGov, **kwargs: Any
               ) -> SyncReport:
    return await run_sync(db, settings, "secop", NIT, client=client(fake, **kwargs))


async def works(db: Database) -> dict[str, Work]:
    async with db.session() as s:
        return {w.codigo: w for w in (await s.exec(select(Work))).all()}


def content(found: dict[str, Work]) -> dict[str, dict[str, Any]]:
    return {k: w.model_dump() for k, w in found.items()}


async def outbox(db: Database) -> list[OutboxMessage]:
    async with db.session() as s:
        return list((await s.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))).all())
