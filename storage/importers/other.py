"""Kinds whose files are not one table of rows: survey definitions, participatory budgets.

Each has its own module, imported lazily (they build on this package); each reads the
whole file, checks it, and stores it all-or-nothing, returning an `ImportResult`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

if TYPE_CHECKING:
    from storage.importers.core import ImportResult


async def _survey(
    session: AsyncSession, data: bytes, filename: str, *, tz: ZoneInfo
) -> ImportResult:
    from storage.survey_defs import import_survey_bytes

    return await import_survey_bytes(session, data, filename, tz=tz)


async def _participatory(
    session: AsyncSession, data: bytes, filename: str, *, tz: ZoneInfo
) -> ImportResult:
    from storage.participation import import_pb_bytes

    return await import_pb_bytes(session, data, filename, tz=tz)


Importer = Callable[..., Awaitable["ImportResult"]]
OTHER_KINDS: dict[str, Importer] = {
    "encuesta": _survey,  # JSON or YAML survey definition
    "presupuesto_participativo": _participatory,  # CSV/XLSX: projects per comuna and budget
}
