"""Works at city scale: nearest and text search give what a full scan would, without one."""

from __future__ import annotations

import random

import pytest
from sqlalchemy import Table
from sqlmodel import select

from storage.db import Database
from storage.models import Comuna, Work
from storage.types import utcnow
from storage.works import distance_m, nearest_works
from tests.storage.helpers import seed_comunas

WORDS = ["Parque", "Vía", "Colegio", "Andén", "Puente", "Cancha"]
PLACES = ["San Francisco", "La Joya", "Álvarez", "Provenza", "Campo Hermoso"]


def _works(count: int, comuna_id: int) -> list[dict[str, object]]:
    rng, now = random.Random(5), utcnow()
    return [
        {
            "codigo": f"W-{i:05d}",
            "nombre": f"{rng.choice(WORDS)} del barrio {rng.choice(PLACES)} {rng.randrange(10**6)}",
            "descripcion": "Obra de prueba", "comuna_id": comuna_id,
            "direccion": f"Calle {i}", "contratista": None,
            "latitud": None if i % 50 == 0 else round(7.05 + rng.random() * 0.12, 6),
            "longitud": None if i % 50 == 0 else round(-73.16 + rng.random() * 0.08, 6),
            "estado": "En ejecución", "avance_fisico": 0.0, "avance_financiero": 0.0,
            "updated_at": now,
        }
        for i in range(count)
    ]


async def _load(db: Database, count: int) -> list[dict[str, object]]:
    await seed_comunas(db)
    async with db.session() as session:
        comuna = (await session.exec(select(Comuna))).first()
        assert comuna is not None and comuna.id is not None
        rows = _works(count, comuna.id)
        table: Table = Work.__table__  # type: ignore[attr-defined]
        await (await session.connection()).execute(table.insert(), rows)
        await session.commit()
    return rows


@pytest.mark.parametrize("count", [1500, 30, 4])
async def test_nearest_works_match_a_full_scan(db: Database, count: int) -> None:
    # Dense and sparse cities, and points from inside the city to 40 km out of it: the
    # search box widens until nothing outside it could be nearer.
    rows = await _load(db, count)
    rng = random.Random(9)
    for _ in range(20):
        lat = 7.05 + rng.uniform(-0.3, 0.42)
        lon = -73.16 + rng.uniform(-0.3, 0.38)
        expected = sorted(
            (distance_m(lat, lon, r["latitud"], r["longitud"]), r["codigo"])  # type: ignore[arg-type]
            for r in rows if r["latitud"] is not None
        )[:5]
        async with db.session() as session:
            found = await nearest_works(session, latitude=lat, longitude=lon)
        assert [w.codigo for w, _ in found] == [codigo for _, codigo in expected]
        assert [round(m, 3) for _, m in found] == [round(m, 3) for m, _ in expected]


