"""Shared helpers for storage tests: the comunas of Bucaramanga and small file builders."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from sqlmodel import SQLModel, col, select

from storage.db import Database
from storage.importers import ImportResult, import_bytes, import_file

TZ = ZoneInfo("America/Bogota")

# A copy of shared/data/comunas_bucaramanga.csv: the 17 comunas and 3 corregimientos.
COMUNAS_CSV = """codigo,nombre,tipo
1,Norte,comuna
2,Nororiental,comuna
3,San Francisco,comuna
4,Occidental,comuna
5,García Rovira,comuna
6,La Concordia,comuna
7,La Ciudadela,comuna
8,Sur Occidente,comuna
9,La Pedregosa,comuna
10,Provenza,comuna
11,Sur,comuna
12,Cabecera del Llano,comuna
13,Oriental,comuna
14,Morrorico,comuna
15,Centro,comuna
16,Lagos del Cacique,comuna
17,Mutis,comuna
C1,Corregimiento 1,corregimiento
C2,Corregimiento 2,corregimiento
C3,Corregimiento 3,corregimiento
"""


async def seed_comunas(db: Database) -> ImportResult:
    """Load the 20 comunas of Bucaramanga through the `comunas` importer."""
    return await run_import(db, "comunas", COMUNAS_CSV.encode(), "comunas.csv")


async def run_import(db: Database, kind: str, data: bytes, filename: str) -> ImportResult:
    """Import bytes in a fresh session."""
    async with db.session() as session:
        return await import_bytes(session, kind, data, filename, tz=TZ)


async def run_import_file(db: Database, kind: str, path: Path) -> ImportResult:
    """Import a file from disk in a fresh session."""
    async with db.session() as session:
        return await import_file(session, kind, path, tz=TZ)


def csv_bytes(
    rows: Sequence[Sequence[Any]],
    *,
    delimiter: str = ",",
    encoding: str = "utf-8",
    bom: bool = False,
) -> bytes:
    """Write rows (the first one is the header) as CSV bytes."""
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def xlsx_bytes(rows: Sequence[Sequence[Any]], formats: dict[str, str] | None = None) -> bytes:
    """Write rows (the first one is the header) as an XLSX workbook with native values."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    for row in rows:
        sheet.append(list(row))
    for cell, number_format in (formats or {}).items():
        sheet[cell].number_format = number_format
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def table_contents(db: Database, model: type[SQLModel]) -> list[dict[str, Any]]:
    """Return every row of a table as dicts, in id order."""
    async with db.session() as session:
        id_column = model.id  # type: ignore[attr-defined]
        rows = (await session.exec(select(model).order_by(col(id_column)))).all()
        return [row.model_dump() for row in rows]


def local(text: str) -> datetime:
    """Return a Bogotá local time given as `YYYY-MM-DD HH:MM`, aware."""
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=TZ)
