"""Open data: the CSV and JSON downloads, their dictionary page, the CSV round trip."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import httpx
import pytest
from sqlmodel import select

from bot.config import Settings
from storage.db import Database
from storage.importers import import_bytes
from storage.models import Work
from storage.opendata import DATASETS
from tests.web.pages_support import cells, parse
from tests.web.pages_support import client as client  # a fixture: pytest looks for it here

pytestmark = pytest.mark.usefixtures("demo_data")


@pytest.mark.parametrize("dataset", DATASETS)
async def test_csv_download_reimports_unchanged(
    client: httpx.AsyncClient, db: Database, settings: Settings, dataset: str
) -> None:
    response = await client.get(f"/datos/{dataset}.csv")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert f'filename="{dataset}.csv"' in response.headers["content-disposition"]
    async with db.session() as session:
        result = await import_bytes(session, dataset, response.content, f"{dataset}.csv",
                                    tz=settings.tz)
    assert (result.created, result.updated, result.warnings) == (0, 0, [])
    assert result.unchanged > 0


async def test_json_download_has_the_csv_columns_and_rows(client: httpx.AsyncClient) -> None:
    csv_text = (await client.get("/datos/obras.csv")).content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(csv_text)))

    payload = (await client.get("/datos/obras.json")).json()

    assert payload["conjunto"] == "obras"
    assert payload["columnas"] == rows[0]
    assert rows[0][:5] == ["codigo", "nombre", "comuna", "estado", "avance_fisico"]
    assert len(payload["datos"]) == len(rows) - 1 == 66
    first = payload["datos"][0]
    assert first["codigo"] == "OB-2026-001" and first["valor_contrato"] == 4850000000.0
    assert first["comuna"] == "1" and first["fecha_inicio"] == "2026-03-16"


async def test_open_data_page_documents_every_column(client: httpx.AsyncClient) -> None:
    response = await client.get("/datos")

    page = parse(response.text)
    dictionary = cells(page, "tabla-datos")
    assert "Obras públicas" in dictionary
    assert "obras.csv" in response.text and "obras.json" in response.text
    assert "<code>valor_contrato</code>" in response.text
    assert "pesos (2 decimales)" in response.text


async def test_comunas_open_data_lists_comunas_in_their_natural_order(
    client: httpx.AsyncClient,
) -> None:
    expected = [str(n) for n in range(1, 18)] + ["C1", "C2", "C3"]
    csv_text = (await client.get("/datos/comunas.csv")).content.decode("utf-8-sig")
    assert [row[0] for row in csv.reader(io.StringIO(csv_text))][1:] == expected
    payload = (await client.get("/datos/comunas.json")).json()
    assert [row["codigo"] for row in payload["datos"]] == expected
    page = (await client.get("/mapa")).text
    options = re.findall(r'<option value="([^"]*)"', page)
    assert [o for o in options if o in expected] == expected


async def test_open_data_with_secop_works_reimports_unchanged(
    client: httpx.AsyncClient, db: Database, settings: Settings
) -> None:
    # SECOP works arrive «sin ubicar» and, but for the ones with execution plans, with no
    # physical progress reported: the download writes both cells empty.
    secop = Path(__file__).parent.parent / "storage" / "fixtures"
    async with db.session() as session:
        for kind, name in (("secop_contratos", "secop_contratos_api.csv"),
                           ("secop_ejecucion", "secop_ejecucion_api.csv")):
            await import_bytes(session, kind, (secop / name).read_bytes(), name,
                               tz=settings.tz, skip_bad_rows=True)
    async with db.session() as s:
        before = {w.codigo: w.model_dump() for w in (await s.exec(select(Work))).all()}
    unplaced = [w for w in before.values() if w["comuna_id"] is None]
    unreported = [w for w in before.values() if w["avance_fisico"] is None]
    assert unplaced and unreported

    for dataset in DATASETS:
        download = (await client.get(f"/datos/{dataset}.csv")).content
        async with db.session() as session:
            result = await import_bytes(session, dataset, download, f"{dataset}.csv",
                                        tz=settings.tz)
        assert (result.created, result.updated, result.warnings) == (0, 0, []), dataset

    async with db.session() as s:
        after = {w.codigo: w.model_dump() for w in (await s.exec(select(Work))).all()}
    assert after == before
