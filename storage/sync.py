"""Sync from a published source: read its datasets from datos.gov.co, import each whole.

What a source reads is data (`storage/data/fuentes/sincronizar.yaml`): per dataset, the
import kind, the SoQL filter by NIT and a stable order. Every dataset is read through the
API first (`storage.socrata`), so a failed read imports nothing; then each is imported
through the same path as `cabildo importar <tipo> archivo.json`, and all of a source's
datasets in one transaction (`bot.sync.run_sync`): all or nothing across datasets.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from typing import Any
from zoneinfo import ZoneInfo

import yaml
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.importers import ImportFailed, ImportResult, import_bytes
from storage.importers.parsing import SPECS
from storage.importers.sources import SOURCES_DIR
from storage.models import ContractingProcess, Goal, Work
from storage.socrata import Fetched, Query, SocrataClient

SYNC_FILE = SOURCES_DIR / "sincronizar.yaml"
MAX_NAMED = 50  # items a report names one by one
# What names an item of each table in a report: a work's name, a process's object…
NAME_FIELDS: dict[type, str] = {Work: "nombre", ContractingProcess: "objeto", Goal: "meta"}


@dataclass(frozen=True)
class Dataset:
    """One dataset of a source, read through the API and imported as `kind`."""

    kind: str
    dataset: str  # datos.gov.co id, from the kind's mapping
    where: str  # SoQL, with {nit}
    order: str

    def query(self, nit: str) -> Query:
        """Return the API query of this dataset for one entity: only the mapped fields.

        Asking for the fields the mapping reads keeps the pages small and leaves the
        source's personal data (representatives, supervisors, bank accounts) where it is.
        """
        if not (nit.isascii() and nit.isdigit()):  # it goes into SoQL: digits and nothing else
            raise ImportFailed(f"El NIT debe tener solo números (se leyó «{nit}»).")
        fields = tuple(SPECS[self.kind].columns)  # the API field names of the mapping
        return Query(self.dataset, self.where.format(nit=nit), self.order, fields)


@dataclass(frozen=True)
class Source:
    """A published source Cabildo can sync: its name and datasets."""

    key: str  # «secop», as the command names it
    name: str  # «SECOP II»
    datasets: tuple[Dataset, ...]


@dataclass
class Synced:
    """What syncing one dataset did: what was read, and the import's result."""

    dataset: Dataset
    rows: int
    pages: int
    result: ImportResult | None  # None when the source had no rows for it
    names: dict[str, str] = field(default_factory=dict)  # key → name of changed items


@cache
def sources() -> dict[str, Source]:
    """Return the sources that can be synced, as `sincronizar.yaml` describes them."""
    data = yaml.safe_load(SYNC_FILE.read_text(encoding="utf-8"))
    found: dict[str, Source] = {}
    for key, entry in data.items():
        datasets = []
        for item in entry["conjuntos"]:
            origin = SPECS[item["tipo"]].origin
            if origin is None:  # pragma: no cover - a mistake in the data file
                raise ValueError(f"{item['tipo']} is no published source")
            datasets.append(Dataset(item["tipo"], origin.conjunto, item["donde"], item["orden"]))
        found[key] = Source(key, entry["nombre"], tuple(datasets))
    return found


def source_named(key: str) -> Source:
    """Return the source `key` names, or raise ImportFailed listing the known ones."""
    known = sources()
    source = known.get(key.strip().lower())
    if source is None:
        raise ImportFailed(
            f"No conozco la fuente «{key}». Las fuentes que se pueden sincronizar son: "
            f"{', '.join(known)}."
        )
    return source


async def fetch(client: SocrataClient, source: Source, nit: str) -> list[Fetched]:
    """Read every dataset of `source` for `nit`; raise FetchFailed if any read fails."""
    return [await client.fetch(dataset.query(nit)) for dataset in source.datasets]


async def import_fetched(
    session: AsyncSession, dataset: Dataset, fetched: Fetched, *, tz: ZoneInfo,
    skip_bad_rows: bool = False,
) -> Synced:
    """Import one dataset's rows through its import kind, as a JSON file would be.

    The caller commits: a source's datasets go in one transaction.
    """
    synced = Synced(dataset, len(fetched.rows), fetched.pages, None)
    if not fetched.rows:
        return synced
    data = json.dumps(fetched.rows, ensure_ascii=False).encode("utf-8")
    synced.result = await import_bytes(
        session, dataset.kind, data, f"{dataset.dataset}.json", tz=tz,
        skip_bad_rows=skip_bad_rows)
    synced.names = await _names(session, dataset.kind, synced.result)
    return synced


async def _names(session: AsyncSession, kind: str, result: ImportResult) -> dict[str, str]:
    """Return the names of the items an import created or changed, by key."""
    spec = SPECS[kind]
    name_field = NAME_FIELDS.get(spec.model)
    keys = list(dict.fromkeys([c.key for c in result.changes] + result.created_keys))
    keys = keys[:MAX_NAMED]
    if name_field is None or len(spec.key) != 1 or not keys:
        return {}
    key_column = getattr(spec.model, spec.key[0])
    rows: Any = (await session.exec(
        select(key_column, getattr(spec.model, name_field)).where(col(key_column).in_(keys))
    )).all()
    return {str(key): str(name) for key, name in rows}
