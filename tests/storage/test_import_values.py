"""The pure parts of the importers: reading files and reading cell values."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from storage.importers import ImportFailed, RowError, read_table
from storage.importers.comunas import ComunaIndex, ComunaRef
from storage.importers.errors import CellError
from storage.importers.values import (
    header_key,
    parse_count,
    parse_date,
    parse_date_list,
    parse_latitude,
    parse_local_datetime,
    parse_longitude,
    parse_money,
    parse_number,
    parse_percent,
    parse_text,
    parse_url,
    parse_year,
)
from tests.storage.helpers import TZ, csv_bytes, xlsx_bytes


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1.234.567,89", "1234567.89"),
        ("1234567.89", "1234567.89"),
        ("1,234,567.89", "1234567.89"),
        ("$ 1.234.567", "1234567"),
        ("$1.500.000 COP", "1500000"),
        ("45,3 %", "45.3"),
        ("45.3%", "45.3"),
        ("12", "12"),
        ("-5", "-5"),
        ("(1.000)", "-1000"),
        ("1.234", "1234"),  # a single dot and three digits: thousands
        ("0.125", "0.125"),  # zero integer part: decimal
        ("1234.567", "1234.567"),  # four-digit integer part: decimal
        ("45.30", "45.30"),
        ("1,234", "1.234"),  # a single comma is always decimal
        ("1,234,567", "1234567"),
        ("1.234,5", "1234.5"),
        ("1 234 567", "1234567"),
        ("1\u00a0234,5", "1234.5"),
        (",5", "0.5"),
    ],
)
def test_numbers_follow_the_documented_rule(text: str, expected: str) -> None:
    assert parse_number(text) == Decimal(expected)


@pytest.mark.parametrize("text", ["abc", "1.2.3", "1,23,4", "1.234,5.6", "1.", "12-5", "--5"])
def test_ambiguous_or_broken_numbers_are_errors(text: str) -> None:
    with pytest.raises(CellError, match="no es un número"):
        parse_number(text)


def test_native_numbers_pass_through() -> None:
    assert parse_number(1234567.89) == Decimal("1234567.89")
    assert parse_number(7) == Decimal(7)
    with pytest.raises(CellError):
        parse_number(True)
    with pytest.raises(CellError):
        parse_number(float("nan"))


def test_money_percent_and_coordinates() -> None:
    assert parse_money("1.234.567,891") == Decimal("1234567.89")
    assert parse_money(0.125) == Decimal("0.13")
    with pytest.raises(CellError, match="no puede ser negativo"):
        parse_money("-1")
    with pytest.raises(CellError, match="demasiado grande"):
        parse_money("1" + "0" * 18)
    assert parse_percent("45.300") == 45.3  # percentages never group thousands
    with pytest.raises(CellError, match="entre 0 y 100"):
        parse_percent("100,5")
    assert parse_longitude("-73.122") == -73.122
    assert parse_latitude("7,119") == 7.119
    with pytest.raises(CellError, match="longitud válida"):
        parse_longitude("-181")


def test_year_and_count() -> None:
    assert parse_year("2026") == 2026
    assert parse_year(2026.0) == 2026
    for bad in ("26", "2026.5", "año 2026", 1850):
        with pytest.raises(CellError, match="año de cuatro cifras"):
            parse_year(bad)
    assert parse_count("1.200") == 1200
    for bad in ("0", "-3", "2,5", "muchos"):
        with pytest.raises(CellError, match="entero mayor que cero"):
            parse_count(bad)


def test_dates() -> None:
    assert parse_date("2026-02-28") == date(2026, 2, 28)
    assert parse_date("28/02/2026") == date(2026, 2, 28)
    assert parse_date("1/2/2026") == date(2026, 2, 1)
    assert parse_date("2026-02-28 00:00:00") == date(2026, 2, 28)
    assert parse_date(datetime(2026, 2, 28, 0, 0)) == date(2026, 2, 28)
    with pytest.raises(CellError, match="no es una fecha válida"):
        parse_date("31/02/2026")
    with pytest.raises(CellError, match="use AAAA-MM-DD o DD/MM/AAAA"):
        parse_date("28/02/26")
    assert parse_date_list("2021-04-22; 31/01/2021;2021-04-22") == ["2021-01-31", "2021-04-22"]


@pytest.mark.parametrize(
    ("text", "utc"),
    [
        ("2026-03-10 09:00", datetime(2026, 3, 10, 14, 0, tzinfo=UTC)),
        ("10/03/2026 09:00:30", datetime(2026, 3, 10, 14, 0, 30, tzinfo=UTC)),
        ("2026-03-10T23:15", datetime(2026, 3, 11, 4, 15, tzinfo=UTC)),
        ("10/03/2026 2:30 p. m.", datetime(2026, 3, 10, 19, 30, tzinfo=UTC)),
        ("10/03/2026 12:00 a.m.", datetime(2026, 3, 10, 5, 0, tzinfo=UTC)),
    ],
)
def test_local_datetimes_become_utc(text: str, utc: datetime) -> None:
    assert parse_local_datetime(text, TZ) == utc


def test_local_datetime_errors() -> None:
    with pytest.raises(CellError, match="no tiene hora"):
        parse_local_datetime("2026-03-10", TZ)
    with pytest.raises(CellError, match="no es una hora válida"):
        parse_local_datetime("2026-03-10 24:00", TZ)
    with pytest.raises(CellError, match="no es una fecha válida"):
        parse_local_datetime("30/02/2026 10:00", TZ)
    assert parse_local_datetime(datetime(2026, 3, 10, 9), TZ) == datetime(
        2026, 3, 10, 14, tzinfo=UTC
    )


def test_text_and_links() -> None:
    assert parse_text("  Parque  ") == "Parque"
    assert parse_text(101) == "101"
    assert parse_text(1.5) == "1.5"
    with pytest.raises(CellError, match="el máximo es 5"):
        parse_text("123456", max_length=5)
    with pytest.raises(CellError, match="parece una fórmula de hoja de cálculo"):
        parse_text("-Obra")
    assert parse_url("https://secop.gov.co/x?a=1") == "https://secop.gov.co/x?a=1"
    for bad in ("secop.gov.co", "javascript:alert(1)", "http://", "https://a b.co"):
        with pytest.raises(CellError, match="no es un enlace válido"):
            parse_url(bad)


def test_header_keys_ignore_case_accents_spacing_and_connectors() -> None:
    assert header_key("Avance Físico") == "avance_fisico"
    assert header_key("AVANCE-FISICO") == "avance_fisico"
    assert header_key(" Número de proceso ") == "numero_proceso"
    assert header_key("Fecha de corte") == "fecha_corte"
    assert header_key("Valor del contrato") == "valor_contrato"


def test_comuna_index() -> None:
    index = ComunaIndex(
        [
            ComunaRef(1, "4", "Occidental"),
            ComunaRef(2, "5", "García Rovira"),
            ComunaRef(3, "C1", "Corregimiento 1"),
        ]
    )
    for written, expected in [
        ("4", 1),
        ("04", 1),
        ("occidental", 1),
        ("Comuna 4 - Occidental", 1),
        ("Comuna Occidental", 1),
        ("COMUNA 4", 1),
        ("garcia rovira", 2),
        ("c1", 3),
        ("C 1", 3),
        ("Corregimiento 1", 3),
    ]:
        assert index.resolve(written).id == expected, written
    with pytest.raises(CellError, match="no se encontró la comuna «Comuna 9»"):
        index.resolve("Comuna 9")
    with pytest.raises(CellError, match="no coinciden"):
        index.resolve("4 - García Rovira")
    assert not ComunaIndex([])


def test_read_table_csv_variants() -> None:
    rows = [["codigo", "valor"], ["A", "1.234,5"], ["", ""], ["", ""]]
    for data in (
        csv_bytes(rows),
        csv_bytes(rows, delimiter=";", bom=True),
        csv_bytes(rows, delimiter="\t"),
        'codigo,valor\r\nA,"1.234,5"\r\n\r\n'.encode("utf-16"),
    ):
        headers, body = read_table(data, "datos.csv")
        assert headers == ["codigo", "valor"]
        assert body == [["A", "1.234,5"]]


def test_read_table_latin1() -> None:
    data = "código;descripción\nA;Peñas\n".encode("latin-1")
    assert read_table(data, "x.csv") == (["código", "descripción"], [["A", "Peñas"]])


def test_read_table_xlsx_keeps_native_values() -> None:
    data = xlsx_bytes(
        [["codigo", "valor", "fecha", "avance"], ["A", 1234.5, date(2026, 1, 2), 0.453], [None]],
        formats={"D2": "0.0%"},
    )
    headers, body = read_table(data, "subido_sin_extension")
    assert headers == ["codigo", "valor", "fecha", "avance"]
    assert body[0][:3] == ["A", 1234.5, datetime(2026, 1, 2)]
    assert body[0][3] == Decimal("45.3")
    assert len(body) == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "El archivo está vacío."),
        (b"   \r\n", "El archivo está vacío."),
        (b"\x00\x01\x02garbage\xff\xfe\x00", "no es un CSV ni un XLSX"),
        (b"GIF89a\x01\x00", "una imagen"),
    ],
)
def test_read_table_rejects_non_tables(data: bytes, message: str) -> None:
    with pytest.raises(ImportFailed, match=message):
        read_table(data, "x.csv")


def test_import_failed_text() -> None:
    errors = [RowError(i, "avance", f"error {i}") for i in range(2, 32)]
    failure = ImportFailed(errors=errors)
    assert failure.total_errors == 30
    text = str(failure).splitlines()
    assert text[0] == "El archivo tiene 30 errores. Corríjalo y vuelva a enviarlo:"
    assert text[1] == "Fila 2, columna «avance»: error 2"
    assert text[-2] == "… y 10 errores más."
    assert text[-1] == "Filas con errores (30): 2–31."
    assert str(RowError(1, None, "faltan columnas.")) == "Fila 1: faltan columnas."
    assert str(ImportFailed("El archivo está vacío.")) == "El archivo está vacío."
