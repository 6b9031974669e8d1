"""Run an import: parse and check the whole file, then upsert every row in one transaction."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, overload
from zoneinfo import ZoneInfo

from sqlalchemy import Table, bindparam
from sqlalchemy import insert as sa_insert
from sqlalchemy import select as sa_select
from sqlalchemy import update as sa_update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.bulk import collector_paused, let_go
from storage.importers.comunas import ComunaRef
from storage.importers.errors import ImportFailed, RowError, row_ranges, shown
from storage.importers.parsing import (
    ParsedTable,
    SkippedRows,
    parse_table,
    raise_for_errors,
    resolve_comunas,
    resolve_surveys,
    set_aside_bad_rows,
    survey_columns,
)
from storage.models import Comuna, Survey
from storage.types import utcnow

# Rows read or written between two turns of the event loop (`store`); reads and writes of
# more than `sqlite_inline.BULK` rows run off the loop's thread.
BATCH = 500
# Rows compared between two turns: 500 changed works took 50-80 ms of the loop's time.
COMPARED = 100

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Change:
    """One field of one existing row that an import changed."""

    key: str
    field: str
    old: Any
    new: Any


class Changes(Sequence[Change]):
    """An import's changes, kept as four columns and read as `Change`s.

    An import of 20,000 changed works makes about 111,000 changes. As objects, the garbage
    collector's first pass after the import walked each one, and the caller freed each one,
    together about 60 ms of the event loop's time; columns of plain values cost a few.
    """

    __slots__ = ("_fields", "_keys", "_news", "_olds")

    def __init__(self, changes: Iterable[Change] = ()) -> None:
        self._keys: list[str] = []
        self._fields: list[str] = []
        self._olds: list[Any] = []
        self._news: list[Any] = []
        self.extend(changes)

    def add(self, key: str, name: str, old: Any, new: Any) -> None:
        """Record that `name` of the row `key` went from `old` to `new`."""
        self._keys.append(key)
        self._fields.append(name)
        self._olds.append(old)
        self._news.append(new)

    def append(self, change: Change) -> None:
        """Record one change."""
        self.add(change.key, change.field, change.old, change.new)

    def extend(self, changes: Iterable[Change]) -> None:
        """Record several changes."""
        for change in changes:
            self.append(change)

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[Change]:
        return map(Change, self._keys, self._fields, self._olds, self._news)

    @overload
    def __getitem__(self, index: int) -> Change: ...

    @overload
    def __getitem__(self, index: slice) -> list[Change]: ...

    def __getitem__(self, index: int | slice) -> Change | list[Change]:
        if isinstance(index, slice):
            return list(map(Change, self._keys[index], self._fields[index], self._olds[index],
                            self._news[index]))
        return Change(self._keys[index], self._fields[index], self._olds[index],
                      self._news[index])

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Changes({list(self)!r})"


@dataclass
class ImportResult:
    """What an import did: counts, warnings, and each field it changed."""

    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    warnings: list[str] = field(default_factory=list)
    changes: Changes = field(default_factory=Changes)
    created_keys: list[str] = field(default_factory=list)
    skipped: SkippedRows | None = None  # rows left out for their errors, when asked to

    def audit_detail(self, filename: str, *, max_items: int = 500) -> dict[str, Any]:
        """Return what the audit log keeps of this import: counts, new keys and changes."""
        return {
            "tipo": self.kind,
            "archivo": filename,
            "nuevas": self.created,
            "actualizadas": self.updated,
            "sin_cambios": self.unchanged,
            "nuevas_claves": self.created_keys[:max_items],
            "filas_omitidas": self.skipped.rows[:max_items] if self.skipped else [],
            "cambios": [
                [c.key, c.field, _plain(c.old), _plain(c.new)] for c in self.changes[:max_items]
            ],
        }

    def summary(self) -> str:
        """Return a one-line Spanish summary: `obras: 3 filas nuevas, 2 actualizadas, …`."""
        created = "fila nueva" if self.created == 1 else "filas nuevas"
        updated = "actualizada" if self.updated == 1 else "actualizadas"
        text = (
            f"{self.kind}: {self.created} {created}, {self.updated} {updated}, "
            f"{self.unchanged} sin cambios."
        )
        if self.skipped:
            count = len(self.skipped.rows)
            rows = "fila con errores omitida" if count == 1 else "filas con errores omitidas"
            text += f" {count} {rows} ({row_ranges(self.skipped.rows)})."
        return text


# The provenance columns (`storage.models.Provenance`) a published source's import writes.
PROVENANCE = ("fuente", "fuente_conjunto", "fuente_id")


def _text(value: Any) -> str | None:
    return None if value is None else str(value)[:120]


def _plain(value: Any) -> Any:
    """Return a JSON-friendly form of a stored value (numbers stay numbers)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


async def import_table(
    session: AsyncSession, kind: str, data: bytes, filename: str, *, tz: ZoneInfo,
    skip_bad_rows: bool = False,
) -> ImportResult:
    """Import a file of a one-table kind (see `storage.importers.files.import_bytes`)."""
    with collector_paused():
        return await _import_table(session, kind, data, filename, tz=tz,
                                   skip_bad_rows=skip_bad_rows)


async def _import_table(
    session: AsyncSession, kind: str, data: bytes, filename: str, *, tz: ZoneInfo,
    skip_bad_rows: bool,
) -> ImportResult:
    # Parsing a big spreadsheet is CPU work: keep it off the event loop.
    table = await asyncio.to_thread(parse_table, kind, data, filename, tz=tz)
    if table.with_comuna:  # a name read for every row: CPU work too
        await asyncio.to_thread(resolve_comunas, table, await _load_comunas(session))
    surveys = survey_columns(table)
    if any(row.values.get(c.field) is not None for c in surveys for row in table.rows):
        resolve_surveys(table, await _load_survey_slugs(session))
    if table.spec.existing_only or table.spec.existing_or_error:
        await _keep_existing(session, table)
    if any(row.blank for row in table.rows):
        await _check_blanks(session, table)
    skipped = set_aside_bad_rows(table) if skip_bad_rows else None
    raise_for_errors(table)
    result = await store(session, table)
    result.skipped = skipped
    await let_go(table.rows, table.with_comuna, table.cells)
    return result


async def _load_comunas(session: AsyncSession) -> list[ComunaRef]:
    try:
        rows = (await session.exec(select(Comuna))).all()
    except SQLAlchemyError as exc:
        await session.rollback()
        log.warning("import: could not read comunas", exc_info=True)
        raise ImportFailed("No se pudo leer la base de datos; intente de nuevo más tarde.") from exc
    return [ComunaRef(c.id, c.codigo, c.nombre) for c in rows if c.id is not None]


async def _load_survey_slugs(session: AsyncSession) -> list[str]:
    try:
        return list((await session.exec(select(Survey.slug))).all())
    except SQLAlchemyError as exc:
        await session.rollback()
        log.warning("import: could not read surveys", exc_info=True)
        raise ImportFailed("No se pudo leer la base de datos; intente de nuevo más tarde.") from exc


async def _keep_existing(session: AsyncSession, table: ParsedTable) -> None:
    """Leave out the rows whose key is not stored yet, and say how many (`existing_only`)."""
    spec = table.spec
    sa_table: Table = spec.model.__table__  # type: ignore[attr-defined]
    try:
        connection = await session.connection()
        stored = await connection.execute(sa_select(*(sa_table.c[name] for name in spec.key)))
    except SQLAlchemyError as exc:
        await session.rollback()
        log.warning("import: could not read %s", spec.name, exc_info=True)
        raise ImportFailed("No se pudo leer la base de datos; intente de nuevo más tarde.") from exc
    known = {tuple(row) for row in stored.all()}
    if spec.existing_or_error:
        column = spec.key_columns()[0]
        table.errors.extend(
            RowError(row.row, column, spec.existing_or_error.format(key=shown(row.key_text)))
            for row in table.rows if row.key not in known)
    kept = [row for row in table.rows if row.key in known]
    missing = len(table.rows) - len(kept)
    table.rows = kept
    if missing and spec.existing_only:
        table.warnings.append(spec.existing_only.format(count=missing))


async def _check_blanks(session: AsyncSession, table: ParsedTable) -> None:
    """Refuse an empty cell that would blank a stored value; say what new rows become.

    An empty cell of a `may_be_blank` column keeps a row as it is (a work still «no
    reportado»), or makes a new row so; it never erases what a row already holds.
    """
    spec = table.spec
    blanked = {spec.columns[name].field for row in table.rows for name in row.blank}
    sa_table: Table = spec.model.__table__  # type: ignore[attr-defined]
    try:
        connection = await session.connection()
        stored = await connection.execute(
            sa_select(*(sa_table.c[name] for name in [*spec.key, *sorted(blanked)])))
    except SQLAlchemyError as exc:
        await session.rollback()
        log.warning("import: could not read %s", spec.name, exc_info=True)
        raise ImportFailed("No se pudo leer la base de datos; intente de nuevo más tarde.") from exc
    existing = {tuple(row[name] for name in spec.key): row for row in stored.mappings().all()}
    new: dict[str, int] = {}
    for row in table.rows:
        current = existing.get(row.key)
        for name in row.blank:
            if current is None:
                new[name] = new.get(name, 0) + 1
            elif current[spec.columns[name].field] is not None:
                table.errors.append(RowError(
                    row.row, name,
                    f"está vacía, pero {shown(row.key_text)} ya tiene «{name}» y una celda "
                    "vacía no lo borra; escriba el valor."))
    for name, count in new.items():
        rows = "fila nueva" if count == 1 else "filas nuevas"
        table.warnings.append(f"{count} {rows} con «{name}» vacía: {spec.may_be_blank[name]}.")


@asynccontextmanager
async def all_or_nothing(session: AsyncSession, kind: str) -> AsyncIterator[None]:
    """Roll back whatever the block stored if it fails; say database failures in Spanish."""
    try:
        yield
    except IntegrityError as exc:
        await session.rollback()
        log.warning("import of %s rejected by the database", kind, exc_info=True)
        raise ImportFailed(
            "La base de datos rechazó los datos, quizá porque otra importación del mismo tipo "
            "se hizo al mismo tiempo. No se guardó nada; intente de nuevo."
        ) from exc
    except SQLAlchemyError as exc:
        await session.rollback()
        log.warning("import of %s failed in the database", kind, exc_info=True)
        raise ImportFailed(
            "No se pudo guardar en la base de datos. No se guardó nada; intente más tarde."
        ) from exc
    except Exception:
        await session.rollback()
        raise


async def _in_batches(connection: Any, statement: Any, rows: list[dict[str, Any]]) -> None:
    """Run `statement` for `rows`, `BATCH` rows a statement, letting the loop run between."""
    for start in range(0, len(rows), BATCH):
        await connection.execute(statement, rows[start:start + BATCH])
        await asyncio.sleep(0)


async def store(session: AsyncSession, table: ParsedTable) -> ImportResult:
    """Upsert the rows of a checked table by key in the caller's transaction.

    Existing rows are read in one query; new rows are inserted and changed rows updated
    with one executemany statement per set of columns, so 20,000 rows stay quick. Rows of
    the table that the file does not mention are left alone. Objects of this table already
    loaded in `session` are not refreshed.
    """
    spec = table.spec
    result = ImportResult(spec.name, warnings=list(table.warnings))
    sa_table: Table = spec.model.__table__  # type: ignore[attr-defined]
    fields = sorted({name for row in table.rows for name in row.values})
    origin = spec.origin if spec.has_provenance else None
    sourced = PROVENANCE if origin else ()
    wanted = list(dict.fromkeys(["id", *spec.key, *fields, *sourced, *spec.follows_reads]))
    now = utcnow()
    stamp = {"updated_at": now} if spec.has_updated_at else {}
    if spec.has_provenance:
        stamp["importado_at"] = now
    async with all_or_nothing(session, spec.name):
        connection = await session.connection()
        # A big file is read, compared and written a batch at a time; between two batches
        # the event loop serves everyone else.
        existing: dict[tuple[Any, ...], Any] = {}
        stored = await connection.stream(sa_select(*(sa_table.c[name] for name in wanted)))
        async for part in stored.mappings().partitions(BATCH):
            existing.update((tuple(row[name] for name in spec.key), row) for row in part)
        inserts: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        for number, row in enumerate(table.rows, 1):
            if number % COMPARED == 0:
                await asyncio.sleep(0)
            current = existing.get(row.key)
            key = row.key_text
            source = (
                dict(zip(PROVENANCE, (origin.fuente, origin.conjunto,
                                      _text(row.values.get(origin.id_field))), strict=True))
                if origin else {}
            )
            if current is None:
                values = {**spec.insert_defaults, **row.values, **source, **stamp}
                inserts.setdefault(tuple(sorted(values)), []).append(values)
                result.created += 1
                result.created_keys.append(key)
                continue
            kept = {k: v for k, v in row.values.items() if k not in spec.insert_only}
            changed = {name: new for name, new in kept.items() if current[name] != new}
            if not changed:
                result.unchanged += 1
                # A row now found in a source it was not recorded from takes that source;
                # it is no change of its content.
                if not any(current[name] != value for name, value in source.items()):
                    continue
                written = {**source, "importado_at": now}
            else:
                result.updated += 1
                for name, new in changed.items():
                    result.changes.add(key, name, current[name], new)
                written = {**kept, **source, **stamp}
                if spec.follows is not None:
                    written |= spec.follows(current, changed, written)
            params = {f"new_{name}": value for name, value in written.items()}
            params["old_id"] = current["id"]
            updates.setdefault(tuple(sorted(params)), []).append(params)
        for batch in inserts.values():
            await _in_batches(connection, sa_insert(sa_table), batch)
        for names, batch in updates.items():
            statement = (
                sa_update(sa_table)
                .where(sa_table.c.id == bindparam("old_id"))
                .values({name[4:]: bindparam(name) for name in names if name != "old_id"})
            )
            await _in_batches(connection, statement, batch)
        await session.flush()  # what the database refuses is refused here, in Spanish
    if spec.created_note and result.created:
        result.warnings.append(spec.created_note.format(count=result.created))
    return result
