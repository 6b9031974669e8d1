"""The comunas and corregimientos, read from the snapshot (`storage.snapshot`).

They change only when staff import them; every list of works, alert keyboard and card
names them. The objects are shared: never to be changed (imports read their own).
"""

from __future__ import annotations

from sqlmodel import col
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Comuna
from storage.snapshot import held, rows_of


async def _read_comunas(session: AsyncSession) -> dict[int, Comuna]:
    return {c.id or 0: c for c in await rows_of(session, Comuna, col(Comuna.id))}


async def _comunas(session: AsyncSession) -> dict[int, Comuna]:
    return await held(session, _read_comunas, ("comuna",))


async def all_comunas(session: AsyncSession) -> list[Comuna]:
    """Return every comuna, in id order (the order of the city's own list)."""
    return list((await _comunas(session)).values())


async def comuna_by_id(session: AsyncSession, comuna_id: int | None) -> Comuna | None:
    """Return the comuna with this id; None for None or an unknown id."""
    return None if comuna_id is None else (await _comunas(session)).get(comuna_id)


async def comuna_by_code(session: AsyncSession, codigo: str) -> Comuna | None:
    """Return the comuna with this code (`4`, `C1`), if any."""
    return next((c for c in (await _comunas(session)).values() if c.codigo == codigo), None)
