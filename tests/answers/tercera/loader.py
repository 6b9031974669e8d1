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

from tests.answers.load_otra import load_city

DATA_DIR = Path(__file__).parent


async def load_tercera(session: AsyncSession, *, tz: ZoneInfo) -> None:
    """Import every file of Villa Esperanza de los Andes; raise on any error or warning."""
    await load_city(session, DATA_DIR, tz=tz)
