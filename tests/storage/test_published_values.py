"""Values as the published sources write them (datos.gov.co portal and API, SECOP II), read
right or refused with a sentence that says how to fix them — never misread in silence."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlmodel import select

from storage.db import Database
from storage.importers import ImportFailed, parse_table
from storage.importers.errors import CellError
from storage.importers.values import number_style, parse_date, parse_money
from storage.models import BudgetLine, Work
from storage.search import status_of
from storage.works import works_by_status
from tests.storage.helpers import TZ, csv_bytes, run_import, seed_comunas

WORKS = ["codigo", "nombre", "comuna", "estado", "avance_fisico"]


async def _works(db: Database) -> dict[str, Work]:
    async with db.session() as s:
        return {w.codigo: w for w in (await s.exec(select(Work))).all()}


async def _failure(db: Database, kind: str, data: bytes) -> ImportFailed:
    with pytest.raises(ImportFailed) as caught:
        await run_import(db, kind, data, f"{kind}.csv")
    return caught.value


# --- money -------------------------------------------------------------------


async def test_portal_money_with_one_comma_group_is_thousands(db: Database) -> None:
    await seed_comunas(db)
    data = csv_bytes([
        [*WORKS, "valor_contrato"],
        ["CO1.PCCNTR.1", "Andenes", "4", "En ejecución", "10", "$450,000"],
        ["CO1.PCCNTR.2", "Puente", "4", "En ejecución", "10", "$10,979,236,356"],
    ])
    await run_import(db, "obras", data, "obras.csv")
    works = await _works(db)
    assert works["CO1.PCCNTR.1"].valor_contrato == Decimal("450000.00")
    assert works["CO1.PCCNTR.2"].valor_contrato == Decimal("10979236356.00")


def test_a_lone_separator_is_read_as_its_column_shows_it() -> None:
    header = ["vigencia", "dependencia", "rubro", "apropiacion_definitiva", "compromisos"]
    # English: «1,234.50» shows that the dot is the decimal, so «1,250» is 1250.
    english = [header, [2026, "Salud", "A", "1,234.50", "0"], [2026, "Salud", "B", "1,250", "0"]]
    table = parse_table("presupuesto", csv_bytes(english), "p.csv", tz=TZ)
    assert [r.values["apropiacion_definitiva"] for r in table.rows] == [
        Decimal("1234.50"), Decimal("1250.00")
    ]
    # Colombian: «45,30» shows that the comma is the decimal, so «1,250» is 1,25.
    colombian = [header, [2026, "Salud", "A", "45,30", "0"], [2026, "Salud", "B", "1,250", "0"]]
    table = parse_table("presupuesto", csv_bytes(colombian), "p.csv", tz=TZ)
    assert [r.values["apropiacion_definitiva"] for r in table.rows] == [
        Decimal("45.30"), Decimal("1.25")
    ]


async def test_a_column_mixing_both_ways_refuses_what_it_cannot_settle(db: Database) -> None:
    data = csv_bytes([
        ["vigencia", "dependencia", "rubro", "apropiacion_definitiva", "compromisos"],
        [2026, "Salud", "A", "9.000.000,50", "0"],
        [2026, "Salud", "B", "9,000,000.50", "0"],
        [2026, "Salud", "C", "450,000", "0"],
    ])
    failure = await _failure(db, "presupuesto", data)
    assert [str(e) for e in failure.errors] == [
        "Fila 4, columna «apropiacion_definitiva»: no se sabe si en «450,000» el «,» separa "
        "miles o decimales: en esta columna hay números con punto decimal (fila 3, "
        "«9,000,000.50») y con coma decimal (fila 2, «9.000.000,50»). Escriba todos los "
        "valores de la misma forma, o sin separador de miles (por ejemplo 450000)."
    ]
    async with db.session() as s:
        assert (await s.exec(select(BudgetLine))).all() == []


_SIGNS = st.sampled_from(["", "$", "$ ", "COP "])


def _grouped(whole: int, sep: str) -> str:
    return f"{whole:,}".replace(",", sep) if sep else str(whole)


def _written(value: Decimal, style: tuple[str, str, int], cents: bool, sign: str) -> str:
    group, decimal, places = style
    whole, fraction = divmod(value, 1)
    text = _grouped(int(whole), group)
    if cents or fraction:
        digits = f"{fraction:.{places}f}"[2:] if places else ""
        text += decimal + digits
    return sign + text


# How exports write pesos: Colombian (1.234.567,89), English and the datos.gov.co portal
# ($1,234,567), the Socrata API (1234567 or 1234567.000000), plain with a decimal comma.
_STYLES = st.sampled_from([(".", ",", 2), (",", ".", 2), ("", ".", 2), ("", ".", 6), ("", ",", 2)])


@given(
    style=_STYLES,
    sign=_SIGNS,
    column=st.lists(
        st.tuples(
            st.decimals(min_value=0, max_value=10**15, places=2, allow_nan=False),
            st.booleans(),
        ),
        min_size=1,
        max_size=6,
    ),
)
def test_no_money_string_is_read_at_a_thousandth_or_a_thousand_times(
    style: tuple[str, str, int], sign: str, column: list[tuple[Decimal, bool]]
) -> None:
    cells = [(row, _written(value, style, cents, sign))
             for row, (value, cents) in enumerate(column, start=2)]
    column_style = number_style(cells, money=True)
    for (value, _), (_, text) in zip(column, cells, strict=True):
        assert parse_money(text, column_style) == value, text
        # Alone, without its column, a cell is read right or refused, never 1000 times off.
        try:
            alone = parse_money(text)
        except CellError:
            continue
        assert alone not in (value * 1000, value / 1000) or value == 0, text


# --- dates -------------------------------------------------------------------


def _works_with_start(*starts: str) -> bytes:
    rows = [[f"OB-{i}", "Obra", "4", "En ejecución", "10", start]
            for i, start in enumerate(starts, start=1)]
    return csv_bytes([[*WORKS, "fecha_inicio"], *rows])


def test_socrata_timestamps_are_read_as_their_date() -> None:
    table = parse_table(
        "obras", _works_with_start("2023-05-08T00:00:00.000", "2022-12-27T17:12:41.000"),
        "o.csv", tz=TZ,
    )
    assert not table.errors
    assert [r.values["fecha_inicio"] for r in table.rows] == [
        date(2023, 5, 8), date(2022, 12, 27)
    ]
    assert parse_date("2023-05-08") == date(2023, 5, 8)
    with pytest.raises(CellError):
        parse_date("2023-05-08T25:00:00.000")


def test_a_column_that_can_only_be_month_first_is_read_month_first() -> None:
    table = parse_table(
        "obras", _works_with_start("05/08/2023", "05/25/2023 12:00:00 AM"), "o.csv", tz=TZ
    )
    assert [r.values["fecha_inicio"] for r in table.rows] == [
        date(2023, 5, 8), date(2023, 5, 25)
    ]
    assert table.warnings == [
        "Las fechas de la columna «fecha_inicio» se leyeron como mes/día (MM/DD/AAAA), "
        "porque la fila 3 tiene «05/25/2023 12:00:00 AM»."
    ]


def test_a_column_ambiguous_throughout_names_the_order_it_assumed() -> None:
    table = parse_table("obras", _works_with_start("05/08/2023", "01/02/2024"), "o.csv", tz=TZ)
    assert [r.values["fecha_inicio"] for r in table.rows] == [
        date(2023, 8, 5), date(2024, 2, 1)
    ]
    assert table.warnings == [
        "Las fechas de la columna «fecha_inicio» se leyeron como día/mes (DD/MM/AAAA): "
        "«05/08/2023» (fila 2) es el 5 de agosto de 2023. Si eran mes/día, escríbalas "
        "como AAAA-MM-DD y vuelva a importar."
    ]
    day_first = parse_table("obras", _works_with_start("05/08/2023", "25/12/2023"), "o.csv",
                            tz=TZ)
    assert day_first.warnings == []
    assert day_first.rows[0].values["fecha_inicio"] == date(2023, 8, 5)


def test_a_column_with_both_orders_refuses_the_dates_it_cannot_settle() -> None:
    table = parse_table(
        "obras", _works_with_start("25/12/2023", "12/25/2023", "05/08/2023"), "o.csv", tz=TZ
    )
    assert [str(e) for e in table.errors] == [
        "Fila 4, columna «fecha_inicio»: no se sabe si «05/08/2023» es día/mes o mes/día: "
        "en esta columna hay fechas día/mes (fila 2, «25/12/2023») y mes/día (fila 3, "
        "«12/25/2023»). Escriba las fechas como AAAA-MM-DD."
    ]


# --- works statuses ----------------------------------------------------------


async def test_secop_statuses_are_stored_as_the_vocabulary_names_them(db: Database) -> None:
    await seed_comunas(db)
    secop = ["Modificado", "terminado", "Cerrado", "Liquidado", "Suspendido", "En ejecución",
             "Aprobado", "EN EJECUCION"]
    rows = [[f"OB-{i}", "Obra", "4", estado, "10", "2020-01-31"]
            for i, estado in enumerate(secop)]
    await run_import(db, "obras", csv_bytes([[*WORKS, "fecha_fin_prevista"], *rows]), "o.csv")
    works = await _works(db)
    assert [works[f"OB-{i}"].estado for i in range(len(secop))] == [
        "En ejecución", "Terminada", "Terminada", "Terminada", "Suspendida", "En ejecución",
        "Por iniciar", "En ejecución",
    ]
    # A closed or liquidated contract is not «atrasada» once its end date has passed.
    async with db.session() as s:
        late = await works_by_status(s, status="atrasada", today=date(2026, 1, 1))
    assert sorted(w.codigo for w in late) == ["OB-0", "OB-4", "OB-5", "OB-6", "OB-7"]


async def test_an_unknown_status_is_a_row_error_naming_the_allowed_ones(db: Database) -> None:
    await seed_comunas(db)
    data = csv_bytes([WORKS, ["OB-1", "Obra", "4", "Terminadísima", "100"],
                      ["OB-2", "Obra", "4", "Parada por lluvias", "40"]])
    failure = await _failure(db, "obras", data)
    allowed = "«En contratación», «Por iniciar», «En ejecución», «Suspendida», «Terminada»."
    assert [str(e) for e in failure.errors] == [
        "Fila 2, columna «estado»: «Terminadísima» no es un estado conocido. ¿Quiso decir "
        f"«Terminada»? Los estados son: {allowed}",
        f"Fila 3, columna «estado»: «Parada por lluvias» no es un estado conocido. "
        f"Los estados son: {allowed}",
    ]
    assert await _works(db) == {}


def test_the_search_reads_the_same_vocabulary_as_the_importer() -> None:
    assert status_of("Liquidado") == status_of("Terminada") == "terminada"
    assert status_of("Modificado") == status_of("En ejecución") == "en ejecucion"
    assert status_of("Suspendido") == "suspendida"
