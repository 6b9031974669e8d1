"""Load the shipped example data (not official figures) through the real importers."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlmodel.ext.asyncio.session import AsyncSession

from storage.importers import ImportResult, import_bytes
from storage.importers.surveys import load_sample_surveys
from storage.stats import data_counts

SAMPLE_DIR = Path(__file__).parent / "sample"
# Comunas first: every other kind refers to them.
ORDER = (
    "comunas", "presupuesto_participativo", "plan", "metas", "presupuesto", "obras", "eventos",
    "contratacion", "informes",
)
EVENT_FORMAT = "%Y-%m-%d %H:%M"
DATE_FORMAT = "%Y-%m-%d"


@dataclass(frozen=True)
class DemoOutcome:
    """What `load_demo` did: the import results, or why it did nothing."""

    loaded: bool
    results: list[ImportResult]


def _shift(
    data: bytes, columns: tuple[str, ...], weeks: int, fmt: str = EVENT_FORMAT
) -> bytes:
    """Move the dates in `columns` of a sample CSV by whole weeks (keeping weekday and hour)."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        for column in columns:
            if row.get(column):
                moved = datetime.strptime(row[column], fmt) + timedelta(weeks=weeks)
                row[column] = moved.strftime(fmt)
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def _earliest(data: bytes, column: str) -> date | None:
    rows = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    days = [datetime.strptime(r[column], EVENT_FORMAT).date() for r in rows if r.get(column)]
    return min(days, default=None)


def shift_event_dates(data: bytes, today: date) -> bytes:
    """Move the sample events by whole weeks so the first one is 7–13 days after `today`."""
    first = _earliest(data, "inicio")
    if first is None:
        return data
    weeks = math.ceil(((today + timedelta(days=7)) - first).days / 7)
    return _shift(data, ("inicio", "fin"), weeks)


def shift_round_dates(data: bytes, today: date) -> bytes:
    """Move the sample budget rounds by whole weeks so voting opened 1–7 days before `today`
    (opened on `today` itself, at 08:00, it would not be open yet at dawn)."""
    first = _earliest(data, "abre")
    if first is None:
        return data
    return _shift(data, ("abre", "cierra"),
                  math.floor((today - timedelta(days=1) - first).days / 7))


def shift_contracting_dates(data: bytes, today: date) -> bytes:
    """Move the sample processes by whole weeks so the open ones close 7–13 days after `today`.

    Every «Abierto» process in the sample opened at least 14 days before the first of them
    closes, so on any day the demonstration runs they have all opened and none has closed
    (`tests/storage/test_sample_data.py`).
    """
    rows = csv.DictReader(io.StringIO(data.decode("utf-8-sig")))
    closes = [datetime.strptime(r["fecha_cierre"], DATE_FORMAT).date() for r in rows
              if r.get("estado") == "Abierto" and r.get("fecha_cierre")]
    if not closes:
        return data
    weeks = math.ceil(((today + timedelta(days=7)) - min(closes)).days / 7)
    if weeks == 0:
        return data
    return _shift(data, ("fecha_apertura", "fecha_cierre"), weeks, DATE_FORMAT)


async def load_demo(session: AsyncSession, *, tz: ZoneInfo, force: bool = False) -> DemoOutcome:
    """Import every sample file into an empty database (or anyway, with `force`)."""
    if not force and not (await data_counts(session)).empty:
        return DemoOutcome(loaded=False, results=[])
    results = []
    today = datetime.now(tz).date()
    for kind in ORDER:
        if kind == "eventos":  # the hearing names its evaluation survey: load surveys first
            results += await load_sample_surveys(session, tz=tz)
        path = SAMPLE_DIR / f"{kind}.csv"
        data = path.read_bytes()
        if kind == "eventos":
            data = shift_event_dates(data, today)
        elif kind == "presupuesto_participativo":
            data = shift_round_dates(data, today)
        elif kind == "contratacion":
            data = shift_contracting_dates(data, today)
        results.append(await import_bytes(session, kind, data, path.name, tz=tz))
    return DemoOutcome(loaded=True, results=results)
