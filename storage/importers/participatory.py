"""Participatory-budget files (kind `presupuesto_participativo`): one row per project.

Read, checked and stored all-or-nothing, by the rules of `storage.participation`:
re-importing updates rounds by (ronda, comuna) and projects by `codigo`, nothing is ever
deleted, and once a project or a round has votes the changes that would make cast ballots
invalid (a project's cost or round, a lower budget, whether the round requires a verified
phone) refuse the whole file, naming the row and column.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.importers.columns import match_headers, parse_cell
from storage.importers.comunas import ComunaIndex, ComunaRef
from storage.importers.core import Change, ImportResult, all_or_nothing
from storage.importers.errors import CellError, ImportFailed, RowError, shown
from storage.importers.kinds import ColumnSpec, KindSpec
from storage.importers.reading import is_blank, read_sheet
from storage.importers.values import (
    check_spreadsheet_junk,
    parse_date,
    parse_local_datetime,
)
from storage.models import Comuna, PBProject, PBRound
from storage.participation_results import votes_by_round
from storage.types import utcnow

KIND = "presupuesto_participativo"
YES = frozenset({"si", "sí", "s", "yes", "x", "1", "verdadero", "true"})
NO = frozenset({"no", "n", "0", "falso", "false"})

_COLUMNS: dict[str, ColumnSpec] = {
    "ronda": ColumnSpec("ronda", "text", "ronda", 40),
    "comuna": ColumnSpec("comuna", "comuna", "comuna_id"),
    "presupuesto_comuna": ColumnSpec("presupuesto_comuna", "money", "presupuesto"),
    "codigo": ColumnSpec("codigo", "code", "codigo", 32),
    "proyecto": ColumnSpec("proyecto", "text", "nombre", 300),
    "costo": ColumnSpec("costo", "money", "costo"),
    "descripcion": ColumnSpec("descripcion", "text", "descripcion", 2000),
    "abre": ColumnSpec("abre", "text", "abre"),  # a date or a date and time, parsed here
    "cierra": ColumnSpec("cierra", "text", "cierra"),
    # sí/no, parsed here: whether ballots need a verified phone number.
    "requiere_verificacion": ColumnSpec("requiere_verificacion", "text",
                                        "requiere_verificacion"),
}
SPEC = KindSpec(
    name=KIND,
    model=PBProject,
    required=("ronda", "comuna", "presupuesto_comuna", "codigo", "proyecto", "costo"),
    optional=("descripcion", "abre", "cierra", "requiere_verificacion"),
    key=("codigo",),
    columns=_COLUMNS,
)


def pesos(value: Decimal) -> str:
    """Write an amount for an operator's error message: `$ 1.234.567`."""
    return "$ " + f"{round(value):,}".replace(",", ".")




@dataclass
class _Row:
    """One project row of the file, parsed."""

    row: int
    ronda: str
    comuna: str
    presupuesto: Decimal
    codigo: str
    nombre: str
    costo: Decimal
    descripcion: str | None
    abre: datetime | None
    cierra: datetime | None
    verified: bool = False
    comuna_id: int = 0

    @property
    def group(self) -> tuple[str, int]:
        """Return the round this row belongs to: (ronda, comuna id)."""
        return (self.ronda, self.comuna_id)


@dataclass
class _Parsed:
    rows: list[_Row] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)


def _moment(raw: Any, tz: ZoneInfo, *, end: bool) -> datetime:
    """Read `abre`/`cierra`: a date (00:00, or 23:59 at the end) or a local date and time."""
    date_only = (
        (isinstance(raw, date) and not isinstance(raw, datetime))
        or (isinstance(raw, datetime) and raw.tzinfo is None and raw.time() == time(0))
        or (isinstance(raw, str) and ":" not in raw)
    )
    if date_only:
        day = parse_date(raw)
        return parse_local_datetime(datetime.combine(day, time(23, 59) if end else time(0)), tz)
    return parse_local_datetime(raw, tz)


def _parse_file(data: bytes, filename: str, tz: ZoneInfo) -> _Parsed:
    """Read and check every row on its own (no database); collect errors."""
    sheet = read_sheet(data, filename)
    columns, warnings = match_headers(SPEC, sheet.headers)
    parsed = _Parsed(warnings=warnings)
    seen_codes: dict[str, int] = {}
    for number, cells in sheet.data_rows():
        values: dict[str, Any] = {}
        failed = False
        for index, column in columns.items():
            raw = cells[index] if index < len(cells) else None
            if is_blank(raw):
                if column.name in SPEC.required:
                    parsed.errors.append(
                        RowError(number, column.name, "está vacía y es obligatoria.")
                    )
                    failed = True
                values[column.name] = None
                continue
            try:
                check_spreadsheet_junk(raw)
                if column.name in ("abre", "cierra"):
                    values[column.name] = _moment(raw, tz, end=column.name == "cierra")
                elif column.name == "requiere_verificacion":
                    values[column.name] = _yes_no(raw)
                else:
                    values[column.name] = parse_cell(column, raw, tz)
            except CellError as exc:
                parsed.errors.append(RowError(number, column.name, str(exc)))
                failed = True
        if failed:
            continue
        row = _Row(
            row=number,
            ronda=values["ronda"],
            comuna=values["comuna"],
            presupuesto=values["presupuesto_comuna"],
            codigo=values["codigo"],
            nombre=values["proyecto"],
            costo=values["costo"],
            descripcion=values.get("descripcion") or None,
            abre=values.get("abre"),
            cierra=values.get("cierra"),
            verified=bool(values.get("requiere_verificacion")),
        )
        problems = _row_problems(row)
        parsed.errors.extend(RowError(number, name, text) for name, text in problems)
        first = seen_codes.setdefault(row.codigo, number)
        if first != number:
            parsed.errors.append(RowError(
                number, "codigo", f"repite {shown(row.codigo)}, que ya está en la fila {first}."
            ))
            continue
        if not problems:
            parsed.rows.append(row)
    return parsed


def _yes_no(raw: Any) -> bool:
    """Read a sí/no cell (`sí`, `si`, `x`, `1` / `no`, `0`)."""
    text = str(raw).strip().lower()
    if text in YES:
        return True
    if text in NO:
        return False
    raise CellError(f"{shown(text)} no se entiende: escriba «sí» o «no».")


def _row_problems(row: _Row) -> list[tuple[str, str]]:
    problems = []
    if row.presupuesto <= 0:
        problems.append(("presupuesto_comuna", "debe ser mayor que cero."))
    if row.costo <= 0:
        problems.append(("costo", "debe ser mayor que cero."))
    elif row.costo > row.presupuesto > 0:
        problems.append((
            "costo",
            f"el proyecto cuesta {pesos(row.costo)}, más que todo el presupuesto de la "
            f"comuna ({pesos(row.presupuesto)}).",
        ))
    return problems


def _check_groups(parsed: _Parsed) -> dict[tuple[str, int], _Row]:
    """Check that rows of one round agree on budget and dates; return each round's first row."""
    first_of: dict[tuple[str, int], _Row] = {}
    for row in parsed.rows:
        first = first_of.setdefault(row.group, row)
        if first is row:
            if row.abre and row.cierra and row.cierra <= row.abre:
                parsed.errors.append(RowError(row.row, "cierra", "debe ser posterior a «abre»."))
            continue
        for column, mine, theirs in (
            ("presupuesto_comuna", row.presupuesto, first.presupuesto),
            ("abre", row.abre, first.abre),
            ("cierra", row.cierra, first.cierra),
            ("requiere_verificacion", row.verified, first.verified),
        ):
            if mine != theirs:
                parsed.errors.append(RowError(
                    row.row, column,
                    f"no coincide con la fila {first.row}, que es de la misma ronda y comuna; "
                    "escriba el mismo valor en todas sus filas.",
                ))
    return first_of



async def import_pb_bytes(
    session: AsyncSession, data: bytes, filename: str, *, tz: ZoneInfo
) -> ImportResult:
    """Import a participatory-budget file, or change nothing and raise `ImportFailed`."""
    parsed = await asyncio.to_thread(_parse_file, data, filename, tz)
    try:
        comunas = (await session.exec(select(Comuna))).all()
    except SQLAlchemyError as exc:
        await session.rollback()
        raise ImportFailed("No se pudo leer la base de datos; intente de nuevo más tarde.") from exc
    index = ComunaIndex(ComunaRef(c.id, c.codigo, c.nombre) for c in comunas if c.id is not None)
    if not index:
        raise ImportFailed(
            "No hay comunas cargadas. Importe primero las comunas (tipo «comunas») "
            "y luego vuelva a enviar este archivo."
        )
    resolved = []
    for row in parsed.rows:
        try:
            row.comuna_id = index.resolve(row.comuna).id
        except CellError as exc:
            parsed.errors.append(RowError(row.row, "comuna", str(exc)))
            continue
        resolved.append(row)
    parsed.rows = resolved
    first_of = _check_groups(parsed)
    if parsed.errors:
        raise ImportFailed(errors=sorted(parsed.errors, key=lambda e: e.row))
    async with all_or_nothing(session, KIND):
        return await _store(session, parsed, first_of)


async def _store(
    session: AsyncSession, parsed: _Parsed, first_of: dict[tuple[str, int], _Row]
) -> ImportResult:
    rounds = {
        (r.ronda, r.comuna_id): r for r in (await session.exec(select(PBRound))).all()
    }
    codes = [row.codigo for row in parsed.rows]
    query = select(PBProject).where(col(PBProject.codigo).in_(codes))
    projects = {p.codigo: p for p in (await session.exec(query)).all()}
    touched = {r.id for key, r in rounds.items() if key in first_of and r.id is not None}
    touched |= {p.round_id for p in projects.values()}
    votes = await votes_by_round(session, touched)
    errors: list[RowError] = []
    for key, first in first_of.items():
        existing = rounds.get(key)
        if existing is None or existing.id is None or not votes[existing.id][0]:
            continue
        if first.presupuesto < existing.presupuesto:
            errors.append(RowError(
                first.row, "presupuesto_comuna",
                f"la ronda ya tiene votos: el presupuesto no puede bajar de "
                f"{pesos(existing.presupuesto)}.",
            ))
        if first.verified != existing.requiere_verificacion:
            errors.append(RowError(
                first.row, "requiere_verificacion",
                "la ronda ya tiene votos: ya no puede cambiar si pide verificar el número.",
            ))
    for row in parsed.rows:
        project = projects.get(row.codigo)
        if project is None or not votes.get(project.round_id, Counter())[project.id or -1]:
            continue
        current = rounds.get(row.group)
        if current is None or current.id != project.round_id:
            errors.append(RowError(
                row.row, "comuna",
                "el proyecto ya tiene votos en otra ronda o comuna; no se puede mover.",
            ))
        elif row.costo != project.costo:
            errors.append(RowError(
                row.row, "costo",
                "el proyecto ya tiene votos: su costo no puede cambiar "
                f"(es {pesos(project.costo)}).",
            ))
    # Projects already loaded but not in this file must still fit a changed budget.
    for key, first in first_of.items():
        existing = rounds.get(key)
        if existing is None:
            continue
        others = (await session.exec(
            select(PBProject).where(
                PBProject.round_id == existing.id, col(PBProject.codigo).not_in(codes)
            )
        )).all()
        for other in others:
            if other.costo > first.presupuesto:
                errors.append(RowError(
                    first.row, "presupuesto_comuna",
                    f"el proyecto {shown(other.codigo)}, ya cargado, cuesta {pesos(other.costo)}: "
                    "más que este presupuesto.",
                ))
    if errors:
        raise ImportFailed(errors=sorted(errors, key=lambda e: e.row))

    now = utcnow()
    result = ImportResult(KIND, warnings=list(parsed.warnings))
    round_changed: dict[tuple[str, int], list[Change]] = {}
    for key, first in first_of.items():
        pb_round = rounds.get(key)
        label = f"{first.ronda}|{first.comuna}"
        new = {"presupuesto": first.presupuesto, "abre": first.abre, "cierra": first.cierra,
               "requiere_verificacion": first.verified}
        if pb_round is None:
            pb_round = PBRound(
                ronda=first.ronda, comuna_id=first.comuna_id, presupuesto=first.presupuesto,
                abre=first.abre, cierra=first.cierra, requiere_verificacion=first.verified,
                updated_at=now,
            )
            rounds[key] = pb_round
            round_changed[key] = []
        else:
            changes = [
                Change(label, name, getattr(pb_round, name), value)
                for name, value in new.items() if getattr(pb_round, name) != value
            ]
            for change in changes:
                setattr(pb_round, change.field, change.new)
            if changes:
                pb_round.updated_at = now
            round_changed[key] = changes
            result.changes.extend(changes)
        session.add(pb_round)
    await session.flush()
    for row in parsed.rows:
        pb_round = rounds[row.group]
        assert pb_round.id is not None
        new_values: dict[str, Any] = {
            "round_id": pb_round.id, "nombre": row.nombre,
            "descripcion": row.descripcion, "costo": row.costo,
        }
        project = projects.get(row.codigo)
        if project is None:
            session.add(PBProject(codigo=row.codigo, updated_at=now, **new_values))
            result.created += 1
            result.created_keys.append(row.codigo)
            continue
        changes = [
            Change(row.codigo, name, getattr(project, name), value)
            for name, value in new_values.items() if getattr(project, name) != value
        ]
        for change in changes:
            setattr(project, change.field, change.new)
        if changes:
            project.updated_at = now
            session.add(project)
        result.changes.extend(changes)
        if changes or round_changed.get(row.group):
            result.updated += 1
        else:
            result.unchanged += 1
    await session.flush()
    return result
