"""Works «sin ubicar» (SECOP knows no comuna): `/panel` counts them and gives the CSV staff
fill (`codigo, comuna, direccion, latitud, longitud`, and the name to recognise them); it
imports back as `ubicaciones`, and the next SECOP import never undoes it."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from pathlib import Path

import pytest
from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoApp
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.importers import ImportFailed, import_bytes
from storage.models import Comuna, Work
from tests.storage.helpers import COMUNAS_CSV

FIXTURES = Path(__file__).parent.parent / "storage" / "fixtures"
ADMIN = 1000
PARK, ROAD = "CO1.PCCNTR.4913416", "CO1.PCCNTR.5011872"


async def _secop(db: Database, settings: Settings, data: bytes | None = None) -> None:
    async with db.session() as s:
        await import_bytes(s, "secop_contratos",
                           data or (FIXTURES / "secop_contratos_api.csv").read_bytes(),
                           "jbjy-vk9h.csv", tz=settings.tz, skip_bad_rows=True)


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    async with db.session() as s:
        await import_bytes(s, "comunas", COMUNAS_CSV.encode(), "comunas.csv", tz=settings.tz)
    await _secop(db, settings)


async def _placed(db: Database) -> dict[str, tuple[str | None, str | None, float | None]]:
    async with db.session() as s:
        comunas = {c.id: c.codigo for c in (await s.exec(select(Comuna))).all()}
        return {w.codigo: (comunas.get(w.comuna_id), w.direccion, w.latitud)
                for w in (await s.exec(select(Work))).all()}


async def test_panel_counts_works_without_comuna_and_their_csv_imports_back(
    bot: CabildoApp, api: LocalBotAPI, db: Database, settings: Settings
) -> None:
    admin = api.user(ADMIN)
    admin.send_text("/panel")
    [panel] = await api.wait_for("sendMessage", chat_id=ADMIN)
    assert "⚠️ <b>5 obras sin comuna</b>: no salen en el mapa" in panel.params["text"]
    assert "<code>/importar ubicaciones</code>" in panel.params["text"]
    admin.tap("📍 Obras sin comuna (CSV)")
    [sent] = await api.wait_for("sendDocument", chat_id=ADMIN)
    document = sent.params
    assert "5 obras sin comuna. Escriba la comuna" in document["caption"]
    message = api.messages(ADMIN)[-1]
    assert message["document"]["file_name"] == "obras-sin-comuna.csv"
    rows = list(csv.reader(io.StringIO(
        api.file_bytes(message["document"]["file_id"]).decode("utf-8-sig"))))
    assert rows[0] == ["codigo", "comuna", "direccion", "latitud", "longitud", "nombre"]
    assert [r[0] for r in rows[1:]] == sorted(r[0] for r in rows[1:]) and len(rows) == 6
    park = next(r for r in rows if r[0] == PARK)
    assert park == [PARK, "", "", "", "", "MEJORAMIENTO DEL PARQUE DEL BARRIO KENNEDY"]

    # Staff fill two rows (one by comuna name, one with coordinates) and leave the rest.
    for row in rows:
        if row[0] == PARK:
            row[1:4] = ["Norte", "Calle 7N con carrera 3", ""]
        if row[0] == ROAD:
            row[1:5] = ["12", "", "7.1190", "-73.1090"]
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    admin.send_document("obras-sin-comuna.csv", out.getvalue().encode(),
                        caption="/importar ubicaciones")
    [*_, done] = await api.wait_for("sendMessage", chat_id=ADMIN, count=2)
    assert done.params["text"].startswith(
        "✅ Importación completa: ubicaciones: 0 filas nuevas, 2 actualizadas, 0 sin cambios.")
    assert "Se dejaron de lado 3 filas: 3 sin comuna todavía (quedan como estaban)." in (
        done.params["text"])
    placed = await _placed(db)
    assert placed[PARK] == ("1", "Calle 7N con carrera 3", None)
    assert placed[ROAD] == ("12", None, 7.119)
    admin.send_text("/panel")
    [*_, panel] = await api.wait_for("sendMessage", chat_id=ADMIN, count=3)
    assert "⚠️ <b>3 obras sin comuna</b>" in panel.params["text"]

    # The next SECOP extract (a new value for the park) keeps what staff wrote.
    data = (FIXTURES / "secop_contratos_api.csv").read_text(encoding="utf-8")
    await _secop(db, settings, data.replace(",450000.000000,", ",475000.000000,", 1).encode())
    assert await _placed(db) == placed
    async with db.session() as s:
        park_work = (await s.exec(select(Work).where(Work.codigo == PARK))).one()
    assert park_work.valor_contrato == Decimal("475000.00")
    assert park_work.nombre == "MEJORAMIENTO DEL PARQUE DEL BARRIO KENNEDY"  # never renamed


async def test_a_code_that_is_no_work_is_an_error_and_nothing_changes(
    bot: CabildoApp, db: Database, settings: Settings
) -> None:
    data = (f"codigo,comuna,direccion,latitud,longitud,nombre\r\n"
            f"{PARK},Norte,,,,\r\nCO1.PCCNTR.999,4,,,,\r\n{ROAD},4,,7.1,,\r\n").encode()
    with pytest.raises(ImportFailed) as caught:
        async with db.session() as s:
            await import_bytes(s, "ubicaciones", data, "ubicaciones.csv", tz=settings.tz)
    assert [str(e) for e in caught.value.errors] == [
        "Fila 3, columna «codigo»: «CO1.PCCNTR.999» no es una obra cargada; revise el código "
        "(copie la fila del archivo que da /panel).",
        "Fila 4: escriba la latitud y la longitud juntas, o ninguna de las dos.",
    ]
    assert {k: v[0] for k, v in (await _placed(db)).items()} == dict.fromkeys(
        (await _placed(db)), None)
