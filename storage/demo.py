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
from storage.participation import shift_round_dates
from storage.stats import data_counts
from storage.survey_defs import load_sample_surveys

SAMPLE_DIR = Path(__file__).parent / "sample"
# Comunas first: every other kind refers to them.
ORDER = (
    "comunas", "presupuesto_participativo", "plan", "metas", "presupuesto", "obras", "eventos",
    "contratacion", "informes",
)
EVENT_FORMAT = "%Y-%m-%d %H:%M"


@dataclass(frozen=True)
class DemoOutcome:
    """What `load_demo` did: the import results, or why it did nothing."""

    loaded: bool
    results: list[ImportResult]


def shift_event_dates(data: bytes, today: date) -> bytes:
    """Move the sample events by whole weeks so the first one is 7–13 days after `today`."""
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    starts = [datetime.strptime(r["inicio"], EVENT_FORMAT) for r in rows]
    first = min(starts).date()
    weeks = math.ceil(((today + timedelta(days=7)) - first).days / 7)
    delta = timedelta(weeks=weeks)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0].keys()), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        for column in ("inicio", "fin"):
            if row.get(column):
                moved = datetime.strptime(row[column], EVENT_FORMAT) + delta
                row[column] = moved.strftime(EVENT_FORMAT)
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


async def load_demo(session: AsyncSession, *, tz: ZoneInfo, force: bool = False) -> DemoOutcome:
    """Import every sample file into an empty database (or anyway, with `force`)."""
    if not force and not (await data_counts(session)).empty:
        return DemoOutcome(loaded=False, results=[])
    results = []
    today = datetime.now(tz).date()
    for kind in ORDER:
        path = SAMPLE_DIR / f"{kind}.csv"
        data = path.read_bytes()
        if kind == "eventos":
            data = shift_event_dates(data, today)
        elif kind == "presupuesto_participativo":
            data = shift_round_dates(data, today)
        results.append(await import_bytes(session, kind, data, path.name, tz=tz))
    results += await load_sample_surveys(session, tz=tz)
    return DemoOutcome(loaded=True, results=results)
