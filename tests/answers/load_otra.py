"""Load «San Benito del Río», a second example city the answering code never saw.

Its files (`tests/answers/otra_ciudad/*.csv`) differ from the shipped Bucaramanga sample on
purpose: other comunas (some named with everyday words: «El Centro», «La Playa», «La
Esperanza»), two corregimientos, other offices and programs, an older budget year beside the
latest, works with near-identical names in different comunas. Events are all in 2031 and the
«Abierto» processes close in 2031, so nothing needs shifting to stay in the future.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.importers import ImportFailed, ImportResult, import_bytes

DATA_DIR = Path(__file__).parent / "otra_ciudad"
# Comunas first: every other kind refers to them.
ORDER = ("comunas", "metas", "presupuesto", "obras", "eventos", "contratacion", "informes")


class OtraCiudadNotLoaded(RuntimeError):
    """A file of an example city did not import cleanly."""


async def load_city(session: AsyncSession, folder: Path, *, tz: ZoneInfo) -> None:
    """Import every file of an example city's folder; raise on any error or warning."""
    for kind in ORDER:
        path = folder / f"{kind}.csv"
        try:
            result: ImportResult = await import_bytes(
                session, kind, path.read_bytes(), path.name, tz=tz
            )
        except ImportFailed as error:
            raise OtraCiudadNotLoaded(f"{path.name}: {error}") from error
        if result.warnings:
            raise OtraCiudadNotLoaded(f"{path.name}: {'; '.join(result.warnings)}")
        if result.created + result.updated + result.unchanged == 0:
            raise OtraCiudadNotLoaded(f"{path.name}: no rows imported")


async def load_otra_ciudad(session: AsyncSession, *, tz: ZoneInfo) -> None:
    """Import every file of San Benito del Río; raise if any reports an error or a warning."""
    await load_city(session, DATA_DIR, tz=tz)
