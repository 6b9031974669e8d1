"""The example data holds together: what it says could be true on any day of a demonstration."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest

from storage.demo import SAMPLE_DIR, shift_contracting_dates, shift_round_dates
from storage.text import fold

DAY = "%Y-%m-%d"


@pytest.mark.parametrize("first", [date(2026, 12, 4), date(2027, 6, 1), date(2026, 9, 1)])
def test_processes_receiving_bids_have_opened_and_not_closed_on_any_day(first: date) -> None:
    data = (SAMPLE_DIR / "contratacion.csv").read_bytes()
    for today in (first + timedelta(days=n) for n in range(7)):  # every weekday
        rows = list(csv.DictReader(io.StringIO(shift_contracting_dates(data, today)
                                               .decode("utf-8-sig"))))
        taking = [r for r in rows if r["estado"] == "Abierto"]
        assert len(taking) == 5  # the count the answers and the search tests expect
        for row in taking:
            opens = datetime.strptime(row["fecha_apertura"], DAY).date()
            closes = datetime.strptime(row["fecha_cierre"], DAY).date()
            assert opens <= today < closes, (today, row["numero_proceso"], opens, closes)


def _rows(name: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO((SAMPLE_DIR / name).read_text("utf-8-sig"))))


# «parque La Joya», «Parque del barrio La Joya», «Parque Santander»: the name is capitalised.
PARK = re.compile(
    r"\b[Pp]arque (?:del barrio |de la |del |de )?([A-ZÁÉÍÓÚÑ]\w+(?: [A-ZÁÉÍÓÚÑ]\w+)*)")


def test_a_park_is_in_one_comuna_across_works_events_and_budgets() -> None:
    comunas = {fold(r["nombre"]): r["codigo"] for r in _rows("comunas.csv")}

    def code(value: str) -> str:
        value = value.strip()
        if " - " in value:
            value = value.split(" - ", 1)[0].removeprefix("Comuna ").strip()
        return comunas.get(fold(value), value)

    places: dict[str, set[str]] = defaultdict(set)
    sources = (("obras.csv", ("nombre", "descripcion", "direccion"), "comuna"),
               ("eventos.csv", ("titulo", "lugar", "direccion"), "comuna"),
               ("presupuesto_participativo.csv", ("proyecto", "descripcion"), "comuna"))
    for name, columns, comuna in sources:
        for row in _rows(name):
            if not row[comuna]:
                continue
            for column in columns:
                for match in PARK.finditer(row[column]):
                    places[fold(match.group(1))].add(code(row[comuna]))
    assert "la joya" in places  # the check reads the files as intended
    assert {park: where for park, where in places.items() if len(where) > 1} == {}


@pytest.mark.parametrize("first", [date(2026, 12, 4), date(2027, 6, 1), date(2027, 2, 15)])
def test_budget_rounds_are_open_to_vote_on_any_day_and_one_asks_for_the_number(
    first: date,
) -> None:
    data = (SAMPLE_DIR / "presupuesto_participativo.csv").read_bytes()
    for today in (first + timedelta(days=n) for n in range(7)):  # every weekday
        rows = list(csv.DictReader(io.StringIO(shift_round_dates(data, today)
                                               .decode("utf-8-sig"))))
        for row in rows:
            opens = datetime.strptime(row["abre"], "%Y-%m-%d %H:%M").date()
            closes = datetime.strptime(row["cierra"], "%Y-%m-%d %H:%M").date()
            # before today: open at any hour of it, dawn included
            assert opens < today and closes >= today + timedelta(days=14), (today, row)
    verified = {row["comuna"] for row in _rows("presupuesto_participativo.csv")
                if fold(row["requiere_verificacion"]) == "si"}
    assert verified == {"4"}
