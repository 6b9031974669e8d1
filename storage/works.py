"""Public works: by comuna, by text, and nearest to a shared location."""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Float, Integer, Table, bindparam, exists, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lean
from storage.comunas import all_comunas
from storage.db import dialect_of, with_lists
from storage.exports import to_csv
from storage.importers.comunas import ComunaIndex, ComunaRef, names_a_number
from storage.importers.errors import CellError
from storage.models import Comuna, Subscription, Work
from storage.search import DELAYED, status_of
from storage.snapshot import held
from storage.text import fold

EARTH_RADIUS_M = 6_371_000.0
# Half-sides, in degrees of latitude, of the boxes searched around a shared location (about
# 1, 4 and 16 km); None is the whole city.
NEAR_BOXES_DEG: tuple[float | None, ...] = (0.01, 0.04, 0.15, None)


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Return the great-circle (haversine) distance between two points, in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(a))


@dataclass(frozen=True)
class ComunaCount:
    """A comuna and how many works it has."""

    comuna: Comuna
    works: int


async def _count_works(session: AsyncSession) -> tuple[ComunaCount, ...]:
    counts = dict((await session.exec(
        select(Work.comuna_id, func.count()).group_by(col(Work.comuna_id))
    )).all())
    comunas = await all_comunas(session)
    return tuple(ComunaCount(c, int(counts.get(c.id or 0, 0))) for c in comunas)


async def comunas_with_counts(session: AsyncSession) -> list[ComunaCount]:
    """Return every comuna (in their order) with its number of works (from the snapshot:
    `storage.snapshot`)."""
    return list(await held(session, _count_works, ("comuna", "work")))


async def find_comuna(session: AsyncSession, text: str) -> Comuna | None:
    """Find a comuna by number (`4`, `comuna 4`, `C1`), name (`occidental`) or both
    (`Comuna 4 - Occidental`), the way imports read them."""
    comunas = {c.id: c for c in await all_comunas(session)}
    index = ComunaIndex(ComunaRef(i or 0, c.codigo, c.nombre) for i, c in comunas.items())
    try:
        return comunas.get(index.resolve(text).id)
    except CellError:
        return None


def names_a_comuna(text: str) -> bool:
    """Tell whether the text is only a comuna's number (`99`, `comuna 99`), found or not."""
    return names_a_number(text)


@dataclass(frozen=True)
class WorkItem:
    """What a list of works shows: code, name and status."""

    codigo: str
    nombre: str
    estado: str


_WORKS: Table = Work.__table__  # type: ignore[attr-defined]
# Built once, run with the values: building a statement costs more than running it.
_IN_COMUNA = (sa_select(_WORKS.c.codigo, _WORKS.c.nombre, _WORKS.c.estado)
              .where(_WORKS.c.comuna_id == bindparam("comuna"))
              .order_by(_WORKS.c.nombre))


async def works_in(session: AsyncSession, *, comuna_id: int) -> list[WorkItem]:
    """Return a comuna's works by name (only what a list shows: a comuna may have thousands)."""
    return [WorkItem(*row) for row in await lean.rows(session, _IN_COMUNA, {"comuna": comuna_id})]


@dataclass(frozen=True)
class Invested:
    """A comuna's works and the value of their contracts: how many works, how many carry a
    value, the sum of those, and the largest ones (code, name, value)."""

    works: int
    valued: int
    total: Decimal
    largest: list[tuple[str, str, Decimal]]


_INVESTED = sa_select(func.count(), func.count(_WORKS.c.valor_contrato),
                      func.sum(_WORKS.c.valor_contrato)).where(
    _WORKS.c.comuna_id == bindparam("comuna"))
_LARGEST = (sa_select(_WORKS.c.codigo, _WORKS.c.nombre, _WORKS.c.valor_contrato)
            .where(_WORKS.c.comuna_id == bindparam("comuna"),
                   _WORKS.c.valor_contrato.is_not(None))
            .order_by(_WORKS.c.valor_contrato.desc(), _WORKS.c.codigo)
            .limit(bindparam("wanted", type_=Integer)))


async def invested_in(session: AsyncSession, *, comuna_id: int, largest: int = 3) -> Invested:
    """Return what a comuna's works are contracted for («¿cuánto se ha invertido en la comuna
    4?»), counted by the database (a comuna may have thousands of works)."""
    [(works, valued, total)] = await lean.rows(session, _INVESTED, {"comuna": comuna_id})
    top = await lean.rows(session, _LARGEST, {"comuna": comuna_id, "wanted": largest})
    return Invested(works, valued, Decimal(total or 0),
                    [(code, name, Decimal(value)) for code, name, value in top])


async def works_by_status(
    session: AsyncSession, *, status: str, comuna_id: int | None = None,
    today: date | None = None,
) -> list[WorkItem]:
    """Return the works in a status and, optionally, a comuna, by name.

    `status` is the canonical name `storage.search.status_of` gives («en ejecucion»), so
    the list holds the works free-text search counts, or `DELAYED` («atrasada»: not
    finished and past its planned end date on `today`). The few distinct `estado` texts are
    read and mapped here; the database filters the works.
    """
    estados = (await session.exec(select(Work.estado).distinct())).all()
    if status == DELAYED:
        raw = [e for e in estados if status_of(e) != "terminada"]
    else:
        raw = [e for e in estados if status_of(e) == status]
    if not raw:
        return []
    query = select(Work.codigo, Work.nombre, Work.estado).where(col(Work.estado).in_(raw))
    if status == DELAYED:
        query = query.where(col(Work.fecha_fin_prevista) < (today or date.today()))
    if comuna_id is not None:
        query = query.where(Work.comuna_id == comuna_id)
    items = [WorkItem(*row) for row in (await session.exec(query)).all()]
    items.sort(key=lambda w: (fold(w.nombre), w.codigo))  # the order search answers in
    return items


_BY_CODE = sa_select(_WORKS).where(_WORKS.c.codigo == bindparam("code"))  # built once


async def work_by_code(session: AsyncSession, codigo: str) -> Work | None:
    """Return the work with this code (no session holds it: read it again to change it)."""
    found = await lean.objects(session, Work, _BY_CODE, {"code": codigo})
    return found[0] if found else None


_SUBSCRIPTIONS: Table = Subscription.__table__  # type: ignore[attr-defined]
_FOR_CARD = sa_select(_WORKS, exists().where(  # built once
    _SUBSCRIPTIONS.c.chat_id == bindparam("chat"), _SUBSCRIPTIONS.c.kind == "obra",
    _SUBSCRIPTIONS.c.value == _WORKS.c.codigo).label("following"),
).where(_WORKS.c.codigo == bindparam("code"))


async def work_for_card(
    session: AsyncSession, codigo: str, *, chat_id: int
) -> tuple[Work | None, bool]:
    """Return the work with this code and whether the chat follows it: its card's two
    facts in one query (a card is the screen opened most, after the menu)."""
    found = await lean.rows(session, _FOR_CARD, {"code": codigo, "chat": chat_id})
    if not found:
        return None, False
    *values, following = found[0]
    names = _BY_CODE.selected_columns.keys()
    return lean.built(Work, dict(zip(names, values, strict=True))), bool(following)


_BY_CODES = with_lists(lambda one_of: sa_select(_WORKS).where(one_of(_WORKS.c.codigo,
                                                                           "codes")))


async def works_by_codes(session: AsyncSession, codes: list[str]) -> dict[str, Work]:
    """Return the works with these codes, by code, in one query (no session holds them)."""
    found = await lean.objects(session, Work, _BY_CODES[dialect_of(session)], {"codes": codes})
    return {work.codigo: work for work in found}


def _nearest(boxed: bool) -> Any:
    """The :wanted works with coordinates nearest to (:lat, :lon) by flat-earth distance,
    optionally only inside the box :lat_min..:lat_max, :lon_min..:lon_max, in no order
    (built once per kind)."""
    lat, lon = _WORKS.c.latitud, _WORKS.c.longitud
    d_lat = lat - bindparam("lat", type_=Float)
    d_lon = (lon - bindparam("lon", type_=Float)) * bindparam("scale", type_=Float)
    nearest = (sa_select(_WORKS.c.id).where(lat.is_not(None), lon.is_not(None))
               .order_by(d_lat * d_lat + d_lon * d_lon, _WORKS.c.id)
               .limit(bindparam("wanted", type_=Integer)))
    if boxed:
        nearest = nearest.where(
            lat.between(bindparam("lat_min", type_=Float), bindparam("lat_max", type_=Float)),
            lon.between(bindparam("lon_min", type_=Float), bindparam("lon_max", type_=Float)))
    # The candidates are ranked on the coordinates' index alone; only their rows are read.
    candidates = nearest.subquery()
    return sa_select(_WORKS).join(candidates, candidates.c.id == _WORKS.c.id)


_NEAREST = {True: _nearest(True), False: _nearest(False)}


async def nearest_works(
    session: AsyncSession, *, latitude: float, longitude: float, limit: int = 5
) -> list[tuple[Work, float]]:
    """Return the works with coordinates nearest to a point, with their distance in metres.

    The database looks in a box around the point first (an index on the coordinates keeps
    it from reading every work), widening it until the nearest are surely inside; candidates are
    ranked by a flat-earth distance there (exact enough across a city) and by great-circle
    distance here. One statement per box, returning the candidates whole.
    """
    scale = math.cos(math.radians(latitude))  # a degree of longitude is shorter off the equator
    params: dict[str, Any] = {"lat": latitude, "lon": longitude, "scale": scale,
                              "wanted": limit * 4}
    candidates: list[Work] = []
    for half_side in NEAR_BOXES_DEG:
        if half_side is not None:
            params.update(lat_min=latitude - half_side, lat_max=latitude + half_side,
                          lon_min=longitude - half_side / scale,
                          lon_max=longitude + half_side / scale)
        candidates = sorted(
            await lean.objects(session, Work, _NEAREST[half_side is not None], params),
            key=lambda w: (math.hypot((w.latitud or 0) - latitude,
                                      ((w.longitud or 0) - longitude) * scale), w.id or 0))
        # Anything outside the box is farther than its half-side: when the `limit`-th
        # candidate inside is nearer than that, no work outside can take its place.
        if half_side is not None and len(candidates) >= limit:
            last = candidates[limit - 1]
            if math.hypot((last.latitud or 0) - latitude,
                          ((last.longitud or 0) - longitude) * scale) <= half_side:
                break
    ranked = heapq.nsmallest(
        limit,
        ((distance_m(latitude, longitude, w.latitud or 0, w.longitud or 0), w.id or 0, w)
         for w in candidates),
        key=lambda item: (item[0], item[1]),
    )
    return [(work, metres) for metres, _, work in ranked]


# The file staff fill to say where works «sin ubicar» are, imported back as `ubicaciones`.
# `nombre` comes last, only to recognise each work: importing it back changes no name.
PLACES_COLUMNS = ("codigo", "comuna", "direccion", "latitud", "longitud", "nombre")


async def works_without_comuna(session: AsyncSession) -> list[Work]:
    """Return the works that have no comuna yet («sin ubicar»: SECOP knows none), by code."""
    query = select(Work).where(col(Work.comuna_id).is_(None)).order_by(col(Work.codigo))
    return list((await session.exec(query)).all())


def places_csv(works: list[Work]) -> bytes:
    """Return the CSV staff fill with each work's comuna (and address or coordinates)."""
    return to_csv(PLACES_COLUMNS, ([w.codigo, "", w.direccion, w.latitud, w.longitud, w.nombre]
                                   for w in works))
