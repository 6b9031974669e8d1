"""Exports never hand a spreadsheet a formula to run."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from storage.exports import to_csv


def test_formula_cells_are_neutralised_and_numbers_stay_numbers() -> None:
    data = to_csv(
        ["pregunta", "respuesta", "valor", "fecha"],
        [
            ["¿Qué opina?", '=HYPERLINK("http://malo.example","clic")', -5, date(2026, 11, 24)],
            ["Otra", "+57 300 000 0000", Decimal("1234.50"), None],
            ["Más", "@SUM(A1:A9)", 3.5, None],
            ["Normal", "Muy bien, gracias", 0, None],
        ],
    )
    assert data.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    assert rows[1] == ["¿Qué opina?", '\'=HYPERLINK("http://malo.example","clic")', "-5",
                       "2026-11-24"]
    assert rows[2][1:3] == ["'+57 300 000 0000", "1234.50"]
    assert rows[3][1] == "'@SUM(A1:A9)"
    assert rows[4][1] == "Muy bien, gracias"
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)
