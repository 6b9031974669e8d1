"""Helpers shared by the importer tests (test_import_*.py): works files and lookups."""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select

from storage.db import Database
from storage.importers import ImportFailed
from storage.models import Comuna, Work
from tests.storage.helpers import csv_bytes, run_import

WORK_HEADER = ["codigo", "nombre", "comuna", "estado", "avance_fisico"]
EN = "En ejecución"  # a works status of the vocabulary (storage/data/estados.yaml)


def works_csv(*rows: list[Any], header: list[str] | None = None) -> bytes:
    return csv_bytes([header or WORK_HEADER, *rows])


FIVE_WORKS = [
    ["OB-1", "Parque de los Niños", "4", "En ejecución", "45,3"],
    ["OB-2", "Vía Girón", "Occidental", "En ejecución", "10"],
    ["OB-3", "Colegio Norte", "Comuna 1 - Norte", "Terminada", "100"],
    ["OB-4", "Puesto de salud", "C1", "En contratación", "0"],
    ["OB-5", "Andenes Centro", "centro", "En ejecución", "72.5"],
]


async def works_by_code(db: Database) -> dict[str, Work]:
    async with db.session() as s:
        return {w.codigo: w for w in (await s.exec(select(Work))).all()}


async def comuna_ids(db: Database) -> dict[str, int]:
    async with db.session() as s:
        return {c.codigo: c.id for c in (await s.exec(select(Comuna))).all() if c.id}


async def expect_failure(db: Database, kind: str, data: bytes, filename: str) -> ImportFailed:
    with pytest.raises(ImportFailed) as caught:
        await run_import(db, kind, data, filename)
    return caught.value
