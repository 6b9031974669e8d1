"""SECOP II contracts (datos.gov.co `jbjy-vk9h`) imported as published: the API's CSV and
JSON (field names) and the portal's «Exportar → CSV» (titles), with their ugly parts.

The fixtures have the 87 columns of the dataset's dictionary (docs/…/public-data-formats.md
§2.2), in its order; titles not given there are inferred from the field names. Values are
written as each channel writes them: the API `2023-05-08T00:00:00.000`, `19000000.000000`,
`{"url": …}`; the portal `05/22/2023 12:00:00 AM`, `$450,000`. Rows hold what a real
extract holds: SECOP's statuses (`Modificado`, lower-case `terminado`, `Liquidado`…), a
cancelled contract, contracts that are no works, a 6×10¹⁸-peso outlier, an object of
several lines and more than 300 characters, and personal data that is never read.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from handlers.works import work_card
from storage.db import Database
from storage.importers import ImportFailed, ImportResult, import_bytes
from storage.models import Work
from storage.opendata import works_for_map
from storage.works import comunas_with_counts, works_by_status
from tests.storage.helpers import TZ, csv_bytes, run_import, seed_comunas

FIXTURES = Path(__file__).parent / "fixtures"
KEPT = ["CO1.PCCNTR.4420017", "CO1.PCCNTR.4913416", "CO1.PCCNTR.5011872",
        "CO1.PCCNTR.5203311", "CO1.PCCNTR.5400444"]


async def _import(db: Database, name: str, *, skip: bool = True) -> ImportResult:
    async with db.session() as session:
        return await import_bytes(session, "secop_contratos", (FIXTURES / name).read_bytes(),
                                  name, tz=TZ, skip_bad_rows=skip)


async def _works(db: Database) -> dict[str, Work]:
    async with db.session() as s:
        return {w.codigo: w for w in (await s.exec(select(Work))).all()}


def _content(works: dict[str, Work]) -> dict[str, dict[str, Any]]:
    return {k: w.model_dump(exclude={"id", "updated_at"}) for k, w in works.items()}


async def test_an_outlier_stops_the_file_unless_bad_rows_are_set_aside(db: Database) -> None:
    data = (FIXTURES / "secop_contratos_api.csv").read_text(encoding="utf-8")
    # An outlier in a row that is left out anyway (a cancelled contract) is no error.
    data = data.replace(",35000000.000000,", ",6000000000000000000,", 1)
    with pytest.raises(ImportFailed) as caught:
        async with db.session() as session:
            await import_bytes(session, "secop_contratos", data.encode(), "secop.csv", tz=TZ)
    assert [str(e) for e in caught.value.errors] == [
        "Fila 9, columna «valor_del_contrato»: «6000000000000000000» es demasiado grande "
        "para un valor en pesos."
    ]
    assert await _works(db) == {}


async def test_api_csv_contracts_become_works_sin_ubicar(db: Database) -> None:
    result = await _import(db, "secop_contratos_api.csv")
    assert result.summary() == (
        "secop_contratos: 5 filas nuevas, 0 actualizadas, 0 sin cambios. "
        "1 fila con errores omitida (9)."
    )
    assert result.warnings[:2] == [
        "Se ignoraron 77 columnas de SECOP II (jbjy-vk9h) que Cabildo no usa.",
        "Se dejaron de lado 3 filas: 1 en estado «Cancelado», 1 de tipo «Prestación de "
        "servicios», 1 de tipo «Interventoría».",
    ]
    assert result.warnings[2].startswith("5 obras nuevas llegaron «sin ubicar»")
    works = await _works(db)
    assert sorted(works) == KEPT
    assert {k: w.estado for k, w in works.items()} == {
        "CO1.PCCNTR.4420017": "Terminada",  # Liquidado
        "CO1.PCCNTR.4913416": "En ejecución",  # Modificado
        "CO1.PCCNTR.5011872": "Terminada",  # terminado
        "CO1.PCCNTR.5203311": "Suspendida",  # Suspendido
        "CO1.PCCNTR.5400444": "Por iniciar",  # Borrador
    }
    park = works["CO1.PCCNTR.4913416"]
    assert park.nombre == "MEJORAMIENTO DEL PARQUE DEL BARRIO KENNEDY"
    assert park.valor_contrato == Decimal("450000.00")
    assert park.avance_financiero == 20.0  # valor_pagado / valor_del_contrato
    assert (park.fecha_inicio, park.fecha_fin_prevista) == (date(2023, 5, 22), date(2023, 11, 30))
    assert park.contratista == "CONSTRUCCIONES ANDINAS S.A.S."
    assert park.enlace_secop == ("https://community.secop.gov.co/Public/Tendering/"
                                 "OpportunityDetail/Index?noticeUID=CO1.NTC.4913416")
    # What SECOP does not know is not invented: no comuna, address or coordinates.
    assert (park.comuna_id, park.direccion, park.latitud, park.longitud) == (None,) * 4
    assert "Comuna: sin ubicar todavía" in work_card(park, None, "es_CO").splitlines()
    road = works["CO1.PCCNTR.5011872"]
    assert len(road.nombre) == 300 and road.nombre.endswith("…") and "\n" not in road.nombre
    assert road.descripcion is not None and road.descripcion.count("\n") == 2
    assert road.valor_contrato == Decimal("10979236356.00")


async def test_the_portal_export_and_the_api_json_give_the_same_works(db: Database) -> None:
    await _import(db, "secop_contratos_api.csv")
    from_api = _content(await _works(db))
    for name in ("secop_contratos_portal.csv", "secop_contratos_api.json"):
        result = await _import(db, name)
        assert (result.created, result.updated, result.unchanged) == (0, 0, 5), name
        assert _content(await _works(db)) == from_api, name
    portal = await _import(db, "secop_contratos_portal.csv")
    assert ("Las fechas de la columna «fecha_de_inicio_del_contrato» se leyeron como mes/día "
            "(MM/DD/AAAA), porque la fila 2 tiene «05/22/2023 12:00:00 AM».") in portal.warnings


async def test_works_sin_ubicar_stay_out_of_comuna_lists_and_keep_what_staff_add(
    db: Database,
) -> None:
    await seed_comunas(db)
    await _import(db, "secop_contratos_api.csv")
    async with db.session() as s:
        assert sum(c.works for c in await comunas_with_counts(s)) == 0
        assert await works_for_map(s) == []
        assert [w.codigo for w in await works_by_status(s, status="suspendida")] == [
            "CO1.PCCNTR.5203311"
        ]
    # Staff say where one is and how far it has gone, with an ordinary works file…
    staff = csv_bytes([
        ["codigo", "nombre", "comuna", "estado", "avance_fisico", "direccion"],
        ["CO1.PCCNTR.4913416", "Parque del barrio Kennedy", "Norte", "En ejecución", "35",
         "Calle 7N con carrera 3"],
    ])
    await run_import(db, "obras", staff, "obras.csv")
    # …and the next SECOP extract (here with a new value) keeps it.
    data = (FIXTURES / "secop_contratos_api.csv").read_text(encoding="utf-8")
    changed = data.replace(",450000.000000,", ",475000.000000,", 1).encode()
    async with db.session() as session:
        result = await import_bytes(session, "secop_contratos", changed, "secop.csv", tz=TZ,
                                    skip_bad_rows=True)
    assert [(c.key, c.field, c.old, c.new) for c in result.changes] == [
        ("CO1.PCCNTR.4913416", "valor_contrato", Decimal("450000.00"), Decimal("475000.00")),
        ("CO1.PCCNTR.4913416", "avance_financiero", 20.0, 18.9),
    ]
    park = (await _works(db))["CO1.PCCNTR.4913416"]
    assert (park.avance_fisico, park.direccion, park.nombre) == (
        35.0, "Calle 7N con carrera 3", "Parque del barrio Kennedy"
    )
    async with db.session() as s:
        counts = {c.comuna.nombre: c.works for c in await comunas_with_counts(s)}
        assert counts["Norte"] == 1 and sum(counts.values()) == 1
        assert [m.work.codigo for m in await works_for_map(s)] == ["CO1.PCCNTR.4913416"]
