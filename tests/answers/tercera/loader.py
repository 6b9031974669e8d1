"""Load «Villa Esperanza de los Andes», a third example city held out from all tuning.

Its files (`tests/answers/tercera/*.csv`) were written without reading the answering code,
and its questions (`labelled.yaml`) without running the bot against them: a mountain town
with six comunas named after saints and trees («San Isidro», «Los Cedros», «El Guayacán»…),
three corregimientos with their veredas, offices named unlike the other two cities
(«Instituto de Deportes y Recreación», «Oficina de Control Interno», «Secretaría de
Agricultura y Desarrollo Rural»), an older budget year (2025) beside the latest (2026), and
works with near-identical names in different places (two «Placa huella», two
«Polideportivo»). Events are all in 2031 and the «Abierto» processes close in 2031, so
nothing needs shifting to stay in the future.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.importers import ImportFailed, ImportResult, import_bytes

DATA_DIR = Path(__file__).parent
# Comunas first: every other kind refers to them.
ORDER = ("comunas", "metas", "presupuesto", "obras", "eventos", "contratacion", "informes")


class TerceraNotLoaded(RuntimeError):
    """A file of the third city did not import cleanly."""


async def load_tercera(session: AsyncSession, *, tz: ZoneInfo) -> None:
    """Import every file of Villa Esperanza de los Andes; raise on any error or warning."""
    for kind in ORDER:
        path = DATA_DIR / f"{kind}.csv"
        try:
            result: ImportResult = await import_bytes(
                session, kind, path.read_bytes(), path.name, tz=tz
            )
        except ImportFailed as error:
            raise TerceraNotLoaded(f"{path.name}: {error}") from error
        if result.warnings:
            raise TerceraNotLoaded(f"{path.name}: {'; '.join(result.warnings)}")
        if result.created + result.updated + result.unchanged == 0:
            raise TerceraNotLoaded(f"{path.name}: no rows imported")
