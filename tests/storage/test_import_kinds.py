"""Each kind of file imports into its table: comunas, plan, metas, presupuesto, obras, eventos…"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from storage.db import Database
from storage.models import (
    BudgetLine,
    Comuna,
    ContractingProcess,
    Event,
    Goal,
    PlanActivity,
    Report,
    Survey,
)
from tests.storage.helpers import (
    csv_bytes,
    local,
    run_import,
    run_import_file,
    seed_comunas,
    table_contents,
)
from tests.storage.importer_support import (
    WORK_HEADER,
    comuna_ids,
    expect_failure,
    works_by_code,
    works_csv,
)


async def test_comunas_import_and_reimport(db: Database) -> None:
    first = await seed_comunas(db)
    assert (first.created, first.updated, first.unchanged) == (20, 0, 0)
    assert first.summary() == "comunas: 20 filas nuevas, 0 actualizadas, 0 sin cambios."
    again = await seed_comunas(db)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 20)
    rows = await table_contents(db, Comuna)
    by_code = {r["codigo"]: r for r in rows}
    assert by_code["5"]["nombre"] == "García Rovira"
    assert by_code["C2"]["tipo"] == "corregimiento"
    assert by_code["17"]["tipo"] == "comuna"


async def test_plan_import_stores_deadlines_as_iso_dates(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "plan.csv"
    path.write_text(
        "subcomponente,actividad,descripcion,meta,indicador,responsable,fechas_limite\n"
        '"1. Información de calidad",1.2,"Publicación de los informes de gestión.",4,'
        '"Número de informes publicados.","Todas las Dependencias",'
        "2021-01-31;2021-04-22;22/07/2021;2021-10-22\n"
        '"1. Información de calidad",1.3,"Plan Anual de Adquisición.",100%,'
        '"Porcentaje de planes publicados.","Subsecretaría Administrativa",2021-12-31\n',
        encoding="utf-8",
    )
    result = await run_import_file(db, "plan", path)
    assert result.summary() == "plan: 2 filas nuevas, 0 actualizadas, 0 sin cambios."
    rows = {r["actividad"]: r for r in await table_contents(db, PlanActivity)}
    assert rows["1.2"]["fechas_limite"] == ["2021-01-31", "2021-04-22", "2021-07-22", "2021-10-22"]
    assert rows["1.3"]["meta"] == "100%"
    assert rows["1.3"]["responsable"] == "Subsecretaría Administrativa"


async def test_goals_import(db: Database, tmp_path: Path) -> None:
    path = tmp_path / "metas.csv"
    path.write_bytes(
        csv_bytes(
            [
                [
                    "Código",
                    "Línea",
                    "Programa",
                    "Meta",
                    "Indicador",
                    "Meta cuatrienio",
                    "Avance",
                    "Unidad",
                    "Línea base",
                    "Fecha de corte",
                    "Responsable",
                ],
                [
                    "M-001",
                    "Bucaramanga equitativa",
                    "Salud",
                    "Vacunar 10.000 niños",
                    "Niños vacunados",
                    "10.000",
                    "4.250",
                    "niños",
                    "0",
                    "31/12/2025",
                    "Secretaría de Salud",
                ],
                [
                    "M-002",
                    "Bucaramanga sostenible",
                    "Ambiente",
                    "Sembrar árboles",
                    "Árboles",
                    "1500",
                    "12,5",
                    "",
                    "",
                    "",
                    "",
                ],
            ]
        )
    )
    result = await run_import_file(db, "metas", path)
    assert (result.created, result.updated, result.unchanged) == (2, 0, 0)
    assert result.warnings == []
    goals = {g["codigo"]: g for g in await table_contents(db, Goal)}
    assert goals["M-001"]["meta_cuatrienio"] == 10000
    assert goals["M-001"]["avance"] == 4250
    assert goals["M-001"]["fecha_corte"] == date(2025, 12, 31)
    assert goals["M-001"]["responsable"] == "Secretaría de Salud"
    assert goals["M-002"]["avance"] == 12.5
    assert goals["M-002"]["unidad"] is None


async def test_goal_target_must_be_positive(db: Database) -> None:
    data = csv_bytes(
        [
            ["codigo", "linea", "programa", "meta", "indicador", "meta_cuatrienio", "avance"],
            ["M-1", "L", "P", "Meta", "Ind", "0", "-1"],
        ]
    )
    failure = await expect_failure(db, "metas", data, "metas.csv")
    assert "Fila 2, columna «meta_cuatrienio»: «0» debe ser mayor que cero." in str(failure)
    assert "Fila 2, columna «avance»: «-1» no puede ser negativo." in str(failure)


async def test_budget_import_with_semicolons_bom_and_colombian_numbers(db: Database) -> None:
    data = csv_bytes(
        [
            [
                "Vigencia",
                "Dependencia",
                "Apropiación definitiva",
                "Compromisos",
                "Obligaciones",
                "Pagos",
                "Fecha corte",
            ],
            [
                "2026",
                "Secretaría de Hacienda",
                "$ 1.234.567,89",
                "1.000.000",
                "900.000,5",
                "800000",
                "30/06/2026",
            ],
            [
                "2026",
                "Secretaría de Educación",
                "2.500.000.000",
                "1.250.000.000",
                "",
                "",
                "1/7/2026",
            ],
        ],
        delimiter=";",
        bom=True,
    )
    result = await run_import(db, "presupuesto", data, "presupuesto.csv")
    assert result.summary() == "presupuesto: 2 filas nuevas, 0 actualizadas, 0 sin cambios."
    lines = {b["dependencia"]: b for b in await table_contents(db, BudgetLine)}
    hacienda = lines["Secretaría de Hacienda"]
    assert hacienda["vigencia"] == 2026
    assert hacienda["rubro"] == ""
    assert Decimal(hacienda["apropiacion_definitiva"]) == Decimal("1234567.89")
    assert Decimal(hacienda["obligaciones"]) == Decimal("900000.50")
    assert Decimal(hacienda["pagos"]) == Decimal("800000")
    assert hacienda["fecha_corte"] == date(2026, 6, 30)
    education = lines["Secretaría de Educación"]
    assert Decimal(education["compromisos"]) == Decimal("1250000000")
    assert education["obligaciones"] is None
    assert education["fecha_corte"] == date(2026, 7, 1)


async def test_budget_key_includes_rubro(db: Database) -> None:
    header = ["vigencia", "dependencia", "rubro", "apropiacion_definitiva", "compromisos"]
    data = csv_bytes(
        [
            header,
            ["2026", "Hacienda", "Funcionamiento", "100", "50"],
            ["2026", "Hacienda", "Inversión", "200", "50"],
            ["2025", "Hacienda", "Inversión", "200", "50"],
        ]
    )
    assert (await run_import(db, "presupuesto", data, "p.csv")).created == 3
    changed = data.replace(b"Inversi\xc3\xb3n,200,50\r\n2025", b"Inversi\xc3\xb3n,200,60\r\n2025")
    result = await run_import(db, "presupuesto", changed, "p.csv")
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    assert result.changes[0].key == "2026|Hacienda|Inversión"


async def test_works_import_resolves_every_way_of_writing_a_comuna(db: Database) -> None:
    await seed_comunas(db)
    rows = [
        ["OB-1", "Obra 1", "4", "En ejecución", "10"],
        ["OB-2", "Obra 2", "Occidental", "En ejecución", "10"],
        ["OB-3", "Obra 3", "OCCIDENTAL", "En ejecución", "10"],
        ["OB-4", "Obra 4", "Comuna 4 - Occidental", "En ejecución", "10"],
        ["OB-5", "Obra 5", "comuna 4", "En ejecución", "10"],
        ["OB-6", "Obra 6", "GARCIA ROVIRA", "En ejecución", "10"],
        ["OB-7", "Obra 7", "C1", "En ejecución", "10"],
        ["OB-8", "Obra 8", "Corregimiento 2", "En ejecución", "10"],
        ["OB-9", "Obra 9", "corregimiento 3", "En ejecución", "10"],
        ["OB-10", "Obra 10", "04", "En ejecución", "10"],
        ["OB-11", "Obra 11", "Comuna 5 García Rovira", "En ejecución", "10"],
    ]
    result = await run_import(db, "obras", works_csv(*rows), "obras.csv")
    assert result.created == 11
    ids = await comuna_ids(db)
    works = await works_by_code(db)
    expected = {
        "OB-1": "4", "OB-2": "4", "OB-3": "4", "OB-4": "4", "OB-5": "4", "OB-6": "5",
        "OB-7": "C1", "OB-8": "C2", "OB-9": "C3", "OB-10": "4", "OB-11": "5",
    }  # fmt: skip
    assert {code: w.comuna_id for code, w in works.items()} == {
        code: ids[comuna] for code, comuna in expected.items()
    }


async def test_works_import_with_all_optional_columns(db: Database) -> None:
    await seed_comunas(db)
    header = [
        *WORK_HEADER, "descripcion", "direccion", "latitud", "longitud", "contratista",
        "valor_contrato", "avance_financiero", "fecha_inicio", "fecha_fin_prevista",
        "enlace_secop",
    ]  # fmt: skip
    row = [
        "OB-1", "Parque", "4", "En ejecución", "45,3 %", "Parque nuevo", "Cra 27 # 45-10",
        "7,1193", "-73.122", "Constructora S.A.S.", "$ 1.500.000.000", "30", "2026-01-15",
        "15/12/2026", "https://www.colombiacompra.gov.co/proceso/1",
    ]  # fmt: skip
    result = await run_import(db, "obras", csv_bytes([header, row]), "obras.csv")
    assert result.created == 1
    work = (await works_by_code(db))["OB-1"]
    assert work.avance_fisico == pytest.approx(45.3)
    assert work.latitud == pytest.approx(7.1193)
    assert work.longitud == pytest.approx(-73.122)
    assert Decimal(work.valor_contrato or 0) == Decimal("1500000000")
    assert work.fecha_inicio == date(2026, 1, 15)
    assert work.fecha_fin_prevista == date(2026, 12, 15)
    assert work.enlace_secop == "https://www.colombiacompra.gov.co/proceso/1"


async def test_events_import_converts_local_time_to_utc(db: Database) -> None:
    await seed_comunas(db)
    data = csv_bytes(
        [
            ["titulo", "tipo", "inicio", "fin", "lugar", "comuna", "codigo", "capacidad"],
            [
                "Audiencia pública",
                "audiencia",
                "2026-03-10 09:00",
                "10/03/2026 12:30:00",
                "Concejo",
                "15",
                "AUD-2026",
                "1.200",
            ],
            ["Feria de servicios", "feria", "14/03/2026 8:00", "", "Parque", "", "", ""],
        ]
    )
    result = await run_import(db, "eventos", data, "eventos.csv")
    assert result.created == 2
    events = {e["titulo"]: e for e in await table_contents(db, Event)}
    hearing = events["Audiencia pública"]
    assert hearing["inicio"] == datetime(2026, 3, 10, 14, 0, tzinfo=UTC)
    assert hearing["fin"] == datetime(2026, 3, 10, 17, 30, tzinfo=UTC)
    assert hearing["inicio"] == local("2026-03-10 09:00")
    assert hearing["clave"] == "AUD-2026"
    assert hearing["capacidad"] == 1200
    assert hearing["comuna_id"] == (await comuna_ids(db))["15"]
    fair = events["Feria de servicios"]
    assert fair["clave"] == "Feria de servicios|2026-03-14T08:00:00"
    assert fair["inicio"] == datetime(2026, 3, 14, 13, 0, tzinfo=UTC)
    assert fair["fin"] is None and fair["comuna_id"] is None and fair["capacidad"] is None
    again = await run_import(db, "eventos", data, "eventos.csv")
    assert (again.created, again.unchanged) == (0, 2)


async def test_event_end_before_start_and_bad_capacity(db: Database) -> None:
    data = csv_bytes(
        [
            ["titulo", "tipo", "inicio", "fin", "lugar", "capacidad"],
            ["Taller", "taller", "2026-03-10 09:00", "2026-03-10 08:00", "Salón", ""],
            ["Taller 2", "taller", "2026-03-10", "", "Salón", "0"],
        ]
    )
    failure = await expect_failure(db, "eventos", data, "eventos.csv")
    text = str(failure)
    assert "Fila 2, columna «fin»: la hora de fin es anterior a la hora de inicio." in text
    assert "Fila 3, columna «inicio»: «2026-03-10» no tiene hora" in text
    assert "Fila 3, columna «capacidad»: «0» no es un número entero mayor que cero." in text
    assert await table_contents(db, Event) == []


async def test_event_survey_must_exist(db: Database) -> None:
    async with db.session() as session:
        session.add(Survey(slug="evaluacion-audiencia", titulo="Evaluación",
                           created_at=datetime(2026, 1, 1, tzinfo=UTC)))
        await session.commit()
    header = ["titulo", "tipo", "inicio", "lugar", "encuesta"]
    bad = csv_bytes([
        header,
        ["Audiencia", "audiencia pública", "2027-05-10 10:00", "Salón", "evaluacion-audiencia"],
        ["Audiencia QA", "audiencia pública", "2027-05-11 10:00", "Salón", "evaluacion-audiencai"],
    ])
    failure = await expect_failure(db, "eventos", bad, "eventos.csv")
    assert str(failure) == (
        "El archivo tiene 1 error. Corríjalo y vuelva a enviarlo:\n"
        "Fila 3, columna «encuesta»: no existe la encuesta «evaluacion-audiencai»."
    )
    assert await table_contents(db, Event) == []  # all or nothing: the good row is not stored
    good = csv_bytes([
        header,
        ["Audiencia", "audiencia pública", "2027-05-10 10:00", "Salón", "Evaluacion-Audiencia"],
        ["Feria", "feria", "2027-05-12 10:00", "Parque", ""],
    ])
    result = await run_import(db, "eventos", good, "eventos.csv")
    assert result.created == 2
    stored = {e["titulo"]: e["encuesta"] for e in await table_contents(db, Event)}
    assert stored == {"Audiencia": "evaluacion-audiencia", "Feria": None}


async def test_contracting_import(db: Database) -> None:
    data = csv_bytes(
        [
            [
                "Número proceso",
                "Modalidad",
                "Objeto",
                "Valor",
                "Estado",
                "Fecha apertura",
                "Fecha cierre",
                "Dependencia",
                "Enlace SECOP",
            ],
            [
                "LP-001-2026",
                "Licitación pública",
                "Pavimentación",
                "1,234,567.89",
                "Abierto",
                "2026-02-01",
                "2026-03-01",
                "Infraestructura",
                "https://secop.gov.co/LP-001",
            ],
            [
                "MC-010-2026",
                "Mínima cuantía",
                "Papelería",
                "9.800.000",
                "Adjudicado",
                "",
                "",
                "",
                "",
            ],
        ]
    )
    result = await run_import(db, "contratacion", data, "contratacion.csv")
    assert result.created == 2
    rows = {r["numero_proceso"]: r for r in await table_contents(db, ContractingProcess)}
    assert Decimal(rows["LP-001-2026"]["valor"]) == Decimal("1234567.89")
    assert rows["LP-001-2026"]["fecha_cierre"] == date(2026, 3, 1)
    assert Decimal(rows["MC-010-2026"]["valor"]) == Decimal("9800000")
    assert rows["MC-010-2026"]["enlace_secop"] is None


async def test_reports_import_keyed_by_title_and_period(db: Database) -> None:
    header = ["titulo", "tipo", "periodo", "enlace", "fecha_publicacion", "resumen"]
    data = csv_bytes(
        [
            header,
            [
                "Informe de gestión",
                "gestion",
                "2026-T1",
                "https://x.gov.co/1",
                "2026-04-22",
                "Primer trimestre.",
            ],
            ["Informe de gestión", "gestion", "2026-T2", "https://x.gov.co/2", "", ""],
        ]
    )
    assert (await run_import(db, "informes", data, "informes.csv")).created == 2
    rows = await table_contents(db, Report)
    assert [(r["titulo"], r["periodo"]) for r in rows] == [
        ("Informe de gestión", "2026-T1"),
        ("Informe de gestión", "2026-T2"),
    ]
    assert rows[0]["fecha_publicacion"] == date(2026, 4, 22)
