"""The CSV/XLSX importers, seen from the operator's side: counts, messages, table contents."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError
from sqlmodel import select

from storage.db import Database
from storage.importers import (
    KINDS,
    Change,
    ImportFailed,
    RowError,
    files,
    import_bytes,
    parse_table,
)
from storage.importers.other import BUNDLE_KINDS, OTHER_KINDS
from storage.models import (
    BudgetLine,
    Comuna,
    ContractingProcess,
    Event,
    Goal,
    PlanActivity,
    Report,
    Survey,
    Work,
)
from tests.storage.helpers import (
    TZ,
    csv_bytes,
    local,
    run_import,
    run_import_file,
    seed_comunas,
    table_contents,
    xlsx_bytes,
)

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


# --- each kind -----------------------------------------------------------------


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


# --- file formats --------------------------------------------------------------


async def test_xlsx_with_native_numbers_dates_and_percentages(db: Database) -> None:
    await seed_comunas(db)
    data = xlsx_bytes(
        [
            [
                *WORK_HEADER,
                "valor_contrato",
                "avance_financiero",
                "fecha_inicio",
                "latitud",
                "longitud",
            ],
            [
                "OB-1",
                "Parque",
                4,
                "En ejecución",
                45.5,
                1234567.891,
                0.3,
                datetime(2026, 1, 15),
                7.1193,
                -73.1227,
            ],
            [101, "Vía", "Occidental", "Terminada", 100, 2000000, 1, date(2025, 12, 1), None, None],
            [None] * 10,
            [None] * 10,
        ],
        formats={"G2": "0%", "G3": "0.0%"},
    )
    result = await run_import(db, "obras", data, "obras.xlsx")
    assert result.created == 2
    works = await works_by_code(db)
    first = works["OB-1"]
    assert first.avance_fisico == 45.5
    assert Decimal(first.valor_contrato or 0) == Decimal("1234567.89")
    assert first.avance_financiero == pytest.approx(30)
    assert first.fecha_inicio == date(2026, 1, 15)
    assert first.latitud == pytest.approx(7.1193)
    second = works["101"]
    assert second.avance_financiero == pytest.approx(100)
    assert second.comuna_id == (await comuna_ids(db))["4"]


async def test_xlsx_event_with_native_datetime(db: Database) -> None:
    data = xlsx_bytes(
        [
            ["titulo", "tipo", "inicio", "lugar"],
            ["Rueda de prensa", "prensa", datetime(2026, 5, 4, 10, 30), "Alcaldía"],
        ]
    )
    await run_import(db, "eventos", data, "eventos.xlsx")
    (row,) = await table_contents(db, Event)
    assert row["inicio"] == datetime(2026, 5, 4, 15, 30, tzinfo=UTC)
    assert row["clave"] == "Rueda de prensa|2026-05-04T10:30:00"


async def test_latin1_csv_from_excel(db: Database) -> None:
    data = csv_bytes(
        [
            ["Número proceso", "Modalidad", "Objeto", "Valor", "Estado"],
            ["SA-1", "Selección abreviada", "Adquisición de equipos", "5.000.000", "Abierto"],
        ],
        delimiter=";",
        encoding="cp1252",
    )
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    await run_import(db, "contratacion", data, "contratacion.csv")
    (row,) = await table_contents(db, ContractingProcess)
    assert row["modalidad"] == "Selección abreviada"
    assert row["objeto"] == "Adquisición de equipos"


async def test_tab_separated_file(db: Database) -> None:
    data = csv_bytes(
        [["titulo", "tipo", "periodo", "enlace"], ["Informe", "gestion", "2026", "http://a.co"]],
        delimiter="\t",
    )
    assert (await run_import(db, "informes", data, "informes.txt")).created == 1


async def test_headers_match_ignoring_case_accents_and_spacing(db: Database) -> None:
    await seed_comunas(db)
    header = ["CÓDIGO", " Nombre ", "comuna", "Estado", "AVANCE-FISICO", "Observaciones"]
    result = await run_import(
        db, "obras", works_csv(["OB-1", "Parque", "4", EN, "5", "nota"], header=header), "o.csv"
    )
    assert result.created == 1
    assert result.warnings == ["Se ignoró la columna «Observaciones»."]
    header[4] = "Avance Físico"
    again = await run_import(
        db, "obras", works_csv(["OB-1", "Parque", "4", EN, "6"], header=header), "o.csv"
    )
    assert again.updated == 1


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)), "foto.png", "una imagen"),
        (bytes(range(256)) * 4, "datos.csv", "no es un CSV ni un XLSX"),
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n", "informe.pdf", "un PDF"),
        (
            b"PK\x03\x04garbage-not-a-workbook",
            "obras.xlsx",
            "No se pudo abrir el archivo como XLSX",
        ),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, "obras.xls", "Excel antiguo (.xls)"),
        (b"", "obras.csv", "El archivo está vacío."),
        (
            b"codigo,nombre,comuna,estado,avance_fisico\r\n\r\n,,,,\r\n",
            "obras.csv",
            "El archivo no tiene filas de datos.",
        ),
    ],
)
async def test_unreadable_files_give_a_plain_message(
    db: Database, data: bytes, filename: str, message: str
) -> None:
    failure = await expect_failure(db, "obras", data, filename)
    assert message in str(failure)
    assert "Traceback" not in str(failure)


async def test_unknown_kind_lists_the_kinds(db: Database) -> None:
    failure = await expect_failure(db, "proyectos", b"a,b\n1,2\n", "x.csv")
    assert str(failure) == (
        "No conozco el tipo «proyectos». Los tipos son: metas, presupuesto, obras, eventos, "
        "contratacion, informes, comunas, plan, ubicaciones, secop_contratos, secop_procesos, "
        "secop_ejecucion, cuipo, plan_indicativo, encuesta, presupuesto_participativo."
    )
    assert set(KINDS) == {
        "metas", "presupuesto", "obras", "eventos", "contratacion", "informes", "comunas", "plan",
        "ubicaciones",
    }  # fmt: skip


@pytest.mark.parametrize(
    ("written", "meant"),
    [("secop_proceso", "secop_procesos"), ("secop ejecución", None), ("cuipos", "cuipo"),
     ("plan_indicatvo", "plan_indicativo"), ("ubicacion", "ubicaciones")],
)
async def test_the_source_kinds_are_suggested_too(
    db: Database, written: str, meant: str | None
) -> None:
    if meant is None:  # spelt with a space and an accent: it is the kind itself
        async with db.session() as session:
            with pytest.raises(ImportFailed) as caught:
                await import_bytes(session, written, b"a,b\n1,2\n", "x.csv", tz=TZ)
        assert "faltan las columnas obligatorias «identificadorcontrato»" in str(caught.value)
        return
    failure = await expect_failure(db, written, b"a,b\n1,2\n", "x.csv")
    assert str(failure).startswith(f"No conozco el tipo «{written}». ¿Quiso decir «{meant}»?")


async def test_a_kind_written_almost_right_is_suggested(db: Database) -> None:
    failure = await expect_failure(db, "obra", b"a,b\n1,2\n", "x.csv")
    assert str(failure).startswith("No conozco el tipo «obra». ¿Quiso decir «obras»? Los tipos")


# --- all or nothing --------------------------------------------------------------


async def test_bad_row_changes_nothing_then_fixed_file_imports_and_reimports(
    db: Database, tmp_path: Path
) -> None:
    await seed_comunas(db)
    await run_import(db, "obras", works_csv(["OB-9", "Obra previa", "2", "Terminada", "100"]), "a")
    before = await table_contents(db, Work)

    bad = [list(r) for r in FIVE_WORKS]
    bad[1][4] = "abc"  # row 3 of the spreadsheet
    path = tmp_path / "obras.csv"
    path.write_bytes(works_csv(*bad))
    with pytest.raises(ImportFailed) as caught:
        await run_import_file(db, "obras", path)
    assert caught.value.errors == [RowError(3, "avance_fisico", "«abc» no es un número.")]
    assert caught.value.total_errors == 1
    assert str(caught.value) == (
        "El archivo tiene 1 error. Corríjalo y vuelva a enviarlo:\n"
        "Fila 3, columna «avance_fisico»: «abc» no es un número."
    )
    assert await table_contents(db, Work) == before

    path.write_bytes(works_csv(*FIVE_WORKS))
    fixed = await run_import_file(db, "obras", path)
    assert fixed.summary() == "obras: 5 filas nuevas, 0 actualizadas, 0 sin cambios."
    assert fixed.created_keys == ["OB-1", "OB-2", "OB-3", "OB-4", "OB-5"]
    works = await works_by_code(db)
    assert works["OB-1"].avance_fisico == pytest.approx(45.3)
    assert works["OB-5"].avance_fisico == pytest.approx(72.5)
    assert works["OB-9"].nombre == "Obra previa"  # rows absent from the file stay

    again = await run_import_file(db, "obras", path)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert again.changes == []
    assert len(await table_contents(db, Work)) == 6

    changed = [list(r) for r in FIVE_WORKS]
    changed[2][4] = "100"
    changed[2][3] = "Suspendida"
    path.write_bytes(works_csv(*changed))
    updated = await run_import_file(db, "obras", path)
    assert updated.summary() == "obras: 0 filas nuevas, 1 actualizada, 4 sin cambios."
    assert updated.changes == [Change("OB-3", "estado", "Terminada", "Suspendida")]
    after = await works_by_code(db)
    assert after["OB-3"].estado == "Suspendida"
    assert after["OB-3"].updated_at > works["OB-3"].updated_at
    assert after["OB-1"].updated_at == works["OB-1"].updated_at


async def test_all_errors_are_collected_with_spreadsheet_row_numbers(db: Database) -> None:
    await seed_comunas(db)
    rows = [
        ["OB-1", "Obra", "4", EN, "10"],
        ["OB-2", "", "Narnia", EN, "150"],
        ["OB-3", '=HYPERLINK("http://mal.co")', "4", EN, "-5"],
    ]
    failure = await expect_failure(db, "obras", works_csv(*rows), "obras.csv")
    assert [str(e) for e in failure.errors] == [
        "Fila 3, columna «nombre»: está vacía y es obligatoria.",
        "Fila 3, columna «avance_fisico»: «150» debe ser un porcentaje entre 0 y 100.",
        "Fila 3, columna «comuna»: no se encontró la comuna «Narnia».",
        'Fila 4, columna «nombre»: «=HYPERLINK("http://mal.co")» parece una fórmula de hoja '
        "de cálculo; escríbalo sin =, +, - ni @ al inicio.",
        "Fila 4, columna «avance_fisico»: «-5» debe ser un porcentaje entre 0 y 100.",
    ]
    assert str(failure).startswith("El archivo tiene 5 errores.")


async def test_many_errors_are_summarized(db: Database) -> None:
    await seed_comunas(db)
    rows = [[f"OB-{i}", "Obra", "4", EN, "abc"] for i in range(30)]
    failure = await expect_failure(db, "obras", works_csv(*rows), "obras.csv")
    assert failure.total_errors == 30
    lines = str(failure).splitlines()
    assert len(lines) == 23
    assert lines[1].startswith("Fila 2, columna «avance_fisico»")
    assert lines[-2] == "… y 10 errores más."
    assert lines[-1] == "Filas con errores (30): 2–31."  # every bad row, even those not shown


async def test_missing_required_columns_are_named_together(db: Database) -> None:
    data = csv_bytes([["codigo", "nombre", "avance"], ["OB-1", "Obra", "3"]])
    failure = await expect_failure(db, "obras", data, "obras.csv")
    assert str(failure) == (
        "El archivo tiene 1 error. Corríjalo y vuelva a enviarlo:\n"
        "Fila 1: faltan las columnas obligatorias «comuna», «estado», «avance_fisico». "
        "La primera fila debe tener los títulos de las columnas."
    )


async def test_duplicate_columns_are_an_error(db: Database) -> None:
    data = csv_bytes([[*WORK_HEADER, "Avance físico"], ["OB-1", "Obra", "4", EN, "3", "4"]])
    failure = await expect_failure(db, "obras", data, "obras.csv")
    assert failure.errors == [
        RowError(1, "avance_fisico", "aparece dos veces (columnas E y F); deje solo una.")
    ]


async def test_unknown_comuna_and_mismatched_name(db: Database) -> None:
    await seed_comunas(db)
    rows = [["OB-1", "Obra", "Comuna 99", EN, "3"], ["OB-2", "Obra", "Comuna 4 - Norte", EN, "3"]]
    failure = await expect_failure(db, "obras", works_csv(*rows), "obras.csv")
    assert [str(e) for e in failure.errors] == [
        "Fila 2, columna «comuna»: no se encontró la comuna «Comuna 99».",
        "Fila 3, columna «comuna»: en «Comuna 4 - Norte» el número y el nombre no coinciden "
        "(4 es Occidental).",
    ]


async def test_works_need_comunas_loaded_first(db: Database) -> None:
    failure = await expect_failure(db, "obras", works_csv(*FIVE_WORKS), "obras.csv")
    assert "Importe primero las comunas" in str(failure)
    assert await table_contents(db, Work) == []


@pytest.mark.parametrize("formula", ["=1+1", "+57 300", "-cmd", "@SUM(A1)", "\t=A1"])
async def test_formula_cells_are_rejected(db: Database, formula: str) -> None:
    data = csv_bytes(
        [["titulo", "tipo", "periodo", "enlace"], ["Informe", formula, "2026", "http://a.co"]]
    )
    failure = await expect_failure(db, "informes", data, "informes.csv")
    (error,) = failure.errors
    assert (error.row, error.column) == (2, "tipo")
    assert "parece una fórmula de hoja de cálculo" in error.message


async def test_budget_amounts_out_of_order_point_at_the_row(db: Database) -> None:
    header = ["vigencia", "dependencia", "apropiacion_definitiva", "compromisos", "obligaciones",
              "pagos"]  # fmt: skip
    data = csv_bytes(
        [
            header,
            ["2026", "Hacienda", "1.000.000", "900.000", "800.000", "700.000"],
            ["2026", "Salud", "1.000.000", "2.000.000", "", ""],
            ["2026", "Cultura", "1.000.000", "500.000", "600.000", "700.000"],
        ]
    )
    failure = await expect_failure(db, "presupuesto", data, "presupuesto.csv")
    assert [str(e) for e in failure.errors] == [
        "Fila 3, columna «compromisos»: los compromisos ($ 2.000.000) superan la apropiación "
        "definitiva ($ 1.000.000); revise que las columnas no estén cruzadas.",
        "Fila 4, columna «obligaciones»: las obligaciones ($ 600.000) superan los compromisos "
        "($ 500.000); revise que las columnas no estén cruzadas.",
        "Fila 4, columna «pagos»: los pagos ($ 700.000) superan las obligaciones ($ 600.000); "
        "revise que las columnas no estén cruzadas.",
    ]
    assert await table_contents(db, BudgetLine) == []


async def test_duplicate_key_in_file_names_both_rows(db: Database) -> None:
    await seed_comunas(db)
    rows = [*FIVE_WORKS, ["OB-2", "Otra", "4", EN, "1"]]
    failure = await expect_failure(db, "obras", works_csv(*rows), "obras.csv")
    assert [str(e) for e in failure.errors] == [
        "Fila 7, columna «codigo»: repite «OB-2», que ya está en la fila 3."
    ]
    data = csv_bytes(
        [
            ["vigencia", "dependencia", "apropiacion_definitiva", "compromisos"],
            ["2026", "Hacienda", "10", "5"],
            ["2026", "Hacienda", "20", "5"],
        ]
    )
    failure = await expect_failure(db, "presupuesto", data, "p.csv")
    assert [str(e) for e in failure.errors] == [
        "Fila 3: repite «2026|Hacienda|», que ya está en la fila 2."
    ]


async def test_invalid_values_name_row_and_column(db: Database) -> None:
    await seed_comunas(db)
    header = [*WORK_HEADER, "fecha_inicio", "latitud", "longitud", "enlace_secop",
              "valor_contrato", "nombre_x"]  # fmt: skip
    rows = [
        ["OB-1", "Obra", "4", EN, "1", "31/02/2026", "7.1", "", "www.secop.gov.co", "-5", ""],
        ["OB-2", "N" * 301, "4", EN, "1", "2026-13-01", "95", "-73", "ftp://a.co", "1", ""],
    ]
    failure = await expect_failure(db, "obras", csv_bytes([header, *rows]), "obras.csv")
    assert [str(e) for e in failure.errors] == [
        "Fila 2, columna «fecha_inicio»: «31/02/2026» no es una fecha válida.",
        "Fila 2, columna «enlace_secop»: «www.secop.gov.co» no es un enlace válido; debe "
        "empezar por https://.",
        "Fila 2, columna «valor_contrato»: «-5» no puede ser negativo.",
        "Fila 3, columna «nombre»: tiene 301 caracteres; el máximo es 300.",
        "Fila 3, columna «fecha_inicio»: «2026-13-01» no es una fecha válida.",
        "Fila 3, columna «latitud»: «95» no es una latitud válida (entre -90 y 90).",
        "Fila 3, columna «enlace_secop»: «ftp://a.co» no es un enlace válido; debe empezar por "
        "https://.",
    ]
    rows = [["OB-1", "Obra", "4", EN, "1", "", "7.1", "", "", "", ""]]
    failure = await expect_failure(db, "obras", csv_bytes([header, *rows]), "obras.csv")
    assert [str(e) for e in failure.errors] == [
        "Fila 2: escriba la latitud y la longitud juntas, o ninguna de las dos."
    ]


async def test_extra_cells_in_a_comma_csv_are_an_error(db: Database) -> None:
    await seed_comunas(db)
    data = b"codigo,nombre,comuna,estado,avance_fisico\r\nOB-1,Obra,4,Terminada,45,3\r\n"
    failure = await expect_failure(db, "obras", data, "obras.csv")
    (error,) = failure.errors
    assert error.row == 2 and "más celdas que títulos" in error.message


async def test_column_absent_from_the_file_keeps_stored_values(db: Database) -> None:
    await seed_comunas(db)
    header = [*WORK_HEADER, "contratista"]
    await run_import(db, "obras", csv_bytes([header, ["OB-1", "Obra", "4", EN, "1", "ACME"]]), "a")
    result = await run_import(db, "obras", works_csv(["OB-1", "Obra", "4", EN, "2"]), "b")
    assert result.changes == [Change("OB-1", "avance_fisico", 1.0, 2.0)]
    assert (await works_by_code(db))["OB-1"].contratista == "ACME"
    result = await run_import(
        db, "obras", csv_bytes([header, ["OB-1", "Obra", "4", EN, "2", ""]]), "c"
    )
    assert result.changes == [Change("OB-1", "contratista", "ACME", None)]


# --- the database side -----------------------------------------------------------


async def test_an_empty_progress_or_comuna_makes_a_new_work_unreported_or_sin_ubicar(
    db: Database,
) -> None:
    await seed_comunas(db)
    rows = [["OB-1", "Parque", "", EN, "10"], ["OB-2", "Vía", "4", EN, ""],
            ["OB-3", "Colegio", "", EN, ""]]

    result = await run_import(db, "obras", works_csv(*rows), "obras.csv")

    assert result.created == 3
    assert result.warnings == [
        "2 filas nuevas con «comuna» vacía: «sin ubicar»: no aparece en el mapa ni en las "
        "listas por comuna hasta que se complete su comuna (/panel da el archivo para hacerlo).",
        "2 filas nuevas con «avance_fisico» vacía: sin avance físico reportado: se muestra "
        "«no reportado».",
    ]
    works = await works_by_code(db)
    assert [(w.comuna_id is None, w.avance_fisico) for w in works.values()] == [
        (True, 10.0), (False, None), (True, None)]
    again = await run_import(db, "obras", works_csv(*rows), "obras.csv")
    assert (again.created, again.updated, again.unchanged, again.warnings) == (0, 0, 3, [])


async def test_an_empty_cell_never_erases_a_stored_progress_or_comuna(db: Database) -> None:
    await seed_comunas(db)
    await run_import(db, "obras", works_csv(*FIVE_WORKS), "obras.csv")
    before = await table_contents(db, Work)
    rows = [list(r) for r in FIVE_WORKS]
    rows[0][4] = ""  # OB-1 reported 45,3 %
    rows[1][2] = ""  # OB-2 is in comuna 4

    failure = await expect_failure(db, "obras", works_csv(*rows), "obras.csv")

    assert [str(e) for e in failure.errors] == [
        "Fila 2, columna «avance_fisico»: está vacía, pero «OB-1» ya tiene «avance_fisico» y "
        "una celda vacía no lo borra; escriba el valor.",
        "Fila 3, columna «comuna»: está vacía, pero «OB-2» ya tiene «comuna» y una celda "
        "vacía no lo borra; escriba el valor.",
    ]
    assert await table_contents(db, Work) == before


async def test_database_error_rolls_back_without_leaking_sql(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_comunas(db)
    async with db.session() as session:

        async def failing_flush() -> None:  # the import's last write, refused
            raise IntegrityError("INSERT INTO work (codigo) VALUES (?)", {}, Exception("boom"))

        monkeypatch.setattr(session, "flush", failing_flush)
        with pytest.raises(ImportFailed) as caught:
            await import_bytes(session, "obras", works_csv(*FIVE_WORKS), "obras.csv", tz=TZ)
    text = str(caught.value)
    assert "No se guardó nada" in text
    assert "INSERT" not in text and "work" not in text
    assert await table_contents(db, Work) == []


async def test_import_uses_one_select_per_table(db: Database) -> None:
    await seed_comunas(db)
    rows = [[f"OB-{i}", f"Obra {i}", str(i % 17 + 1), EN, "10"] for i in range(300)]
    data = works_csv(*rows)
    await run_import(db, "obras", data, "obras.csv")
    selects: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        result = await run_import(db, "obras", data.replace(b",10\r\n", b",11\r\n"), "obras.csv")
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)
    assert result.updated == 300
    assert len(selects) == 2  # comunas, then works


def test_parsing_needs_no_database() -> None:
    table = parse_table("obras", works_csv(*FIVE_WORKS), "obras.csv", tz=TZ)
    assert [row.key for row in table.rows] == [
        ("OB-1",),
        ("OB-2",),
        ("OB-3",),
        ("OB-4",),
        ("OB-5",),
    ]
    assert [row.comuna for row in table.with_comuna] == [
        "4", "Occidental", "Comuna 1 - Norte", "C1", "centro"
    ]  # fmt: skip
    assert table.errors == []


async def test_xlsx_row_numbers_count_blank_rows_and_untitled_columns_warn(db: Database) -> None:
    await seed_comunas(db)
    data = xlsx_bytes(
        [
            WORK_HEADER,
            ["OB-1", "Obra", 4, EN, 10, None, "nota suelta"],
            [None, None, None, None, None],
            ["OB-2", "Obra", 4, EN, "mucho"],
        ]
    )
    failure = await expect_failure(db, "obras", data, "obras.xlsx")
    assert [str(e) for e in failure.errors] == [
        "Fila 4, columna «avance_fisico»: «mucho» no es un número."
    ]
    fixed = xlsx_bytes(
        [WORK_HEADER, ["OB-1", "Obra", 4, EN, 10, None, "nota suelta"], [None], ["OB-2", "O", 4]]
    )
    failure = await expect_failure(db, "obras", fixed, "obras.xlsx")
    assert [str(e) for e in failure.errors] == [
        "Fila 4, columna «estado»: está vacía y es obligatoria.",
    ]
    ok = xlsx_bytes([WORK_HEADER, ["OB-1", "Obra", 4, EN, 10, None, "nota suelta"]])
    result = await run_import(db, "obras", ok, "obras.xlsx")
    assert result.warnings == ["Se ignoró la columna G, que no tiene título."]


async def test_xlsx_formula_without_a_cached_value_is_named(db: Database) -> None:
    await seed_comunas(db)
    data = xlsx_bytes([
        [*WORK_HEADER, "avance_financiero"],
        ["OB-1", "Parque", "4", "En ejecución", 10, 5],
        ["OB-2", "Vía", "4", "En ejecución", "=10+20", "=2*5"],  # written by a program
    ])
    failure = await expect_failure(db, "obras", data, "obras.xlsx")
    assert [str(e) for e in failure.errors] == [
        "Fila 3, columna «avance_fisico»: tiene la fórmula «=10+20» sin el valor calculado (el "
        "archivo no se guardó desde Excel o LibreOffice). Ábralo, guárdelo y vuelva a enviarlo, "
        "o escriba el valor.",
        "Fila 3, columna «avance_financiero»: tiene la fórmula «=2*5» sin el valor calculado (el "
        "archivo no se guardó desde Excel o LibreOffice). Ábralo, guárdelo y vuelva a enviarlo, "
        "o escriba el valor.",
    ]
    assert await table_contents(db, Work) == []


def _workbook(sheets: dict[str, list[list[Any]]]) -> bytes:
    from io import BytesIO

    from openpyxl import Workbook

    book = Workbook()
    first = book.active
    assert first is not None
    book.remove(first)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    out = BytesIO()
    book.save(out)
    return out.getvalue()


async def test_titles_below_row_one_or_on_another_sheet_are_pointed_at(db: Database) -> None:
    await seed_comunas(db)
    works = [WORK_HEADER, ["OB-1", "Parque", "4", "En ejecución", 10]]
    lower = _workbook({"Obras": [["Informe de obras 2026"], [], *works]})
    failure = await expect_failure(db, "obras", lower, "obras.xlsx")
    assert str(failure.errors[0]).endswith(
        "Los títulos parecen estar en la fila 3: solo se leen los de la fila 1. Borre las filas "
        "de arriba y vuelva a enviarlo."
    )
    second = _workbook({"Portada": [["Alcaldía"]], "Datos": works})
    failure = await expect_failure(db, "obras", second, "obras.xlsx")
    assert str(failure.errors[0]).endswith(
        "Los datos parecen estar en la hoja «Datos», pero solo se lee la primera hoja "
        "(«Portada»). Pase esa hoja al primer lugar y vuelva a enviarlo."
    )
    neither = _workbook({"Hoja1": [["a", "b"], [1, 2]]})
    failure = await expect_failure(db, "obras", neither, "obras.xlsx")
    assert str(failure.errors[0]).endswith(
        "Solo se lee la primera hoja del libro («Hoja1»), y su fila 1 debe tener los títulos "
        "de las columnas."
    )
    assert await table_contents(db, Work) == []


async def test_skipping_bad_rows_leaves_out_every_row_with_an_error(db: Database) -> None:
    await seed_comunas(db)
    rows = [
        ["OB-1", "Obra", "4", EN, "10"],
        ["OB-2", "Obra", "Narnia", EN, "10"],  # found unknown only against the database
        ["OB-1", "Otra", "4", EN, "10"],  # repeats the key of row 2
        ["OB-3", "Obra", "4", "Terminadísima", "10"],
        ["OB-4", "Obra", "4", EN, "10"],
    ]
    async with db.session() as session:
        result = await import_bytes(
            session, "obras", works_csv(*rows), "obras.csv", tz=TZ, skip_bad_rows=True
        )
    assert result.created_keys == ["OB-1", "OB-4"]
    assert result.skipped is not None and result.skipped.rows == [3, 4, 5]
    assert sorted(await works_by_code(db)) == ["OB-1", "OB-4"]
    # A problem of the file itself still changes nothing.
    with pytest.raises(ImportFailed) as caught:
        async with db.session() as session:
            await import_bytes(session, "obras", csv_bytes([["codigo"], ["OB-9"]]), "o.csv",
                               tz=TZ, skip_bad_rows=True)
    assert not caught.value.rows_only
    assert sorted(await works_by_code(db)) == ["OB-1", "OB-4"]


def test_every_kind_named_apart_has_its_importer() -> None:
    """The names the list of kinds shows are the ones `import_bytes` can pick an importer by."""
    assert tuple(files.OTHER) == OTHER_KINDS
    assert tuple(files.BUNDLES) == BUNDLE_KINDS
