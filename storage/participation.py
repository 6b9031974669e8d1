"""Participatory budgeting (presupuestos participativos): rounds, projects, ballots, results.

Staff import one file per round (kind `presupuesto_participativo`, one row per project);
a resident of a comuna (self-declared) picks projects within the comuna's budget, and may
change the ballot until the round closes; after it closes anyone sees the results.

Rules, decided here and documented for operators:

- A round is open from `abre` (always, when empty) until `cierra` (never, when empty).
  A date without a time means 00:00 for `abre` and 23:59 for `cierra` (local time).
- Re-importing updates rounds by (ronda, comuna) and projects by `codigo`; projects the
  file does not mention stay as they are (nothing is ever deleted by an import). Once a
  project has votes, its cost cannot change and it cannot move to another round; once a
  round has votes, its budget cannot go down. Either would make ballots already cast no
  longer valid, so such a file is refused as a whole, naming the row and column. Names,
  descriptions and dates may always change.
- One ballot per person per `ronda` (across comunas): voting in another comuna of the same
  ronda replaces the earlier ballot. The ballot is found by `voter_key`, a keyed hash of
  the ronda and the chat id (`storage.surveys.pseudonym`), which stays when the person
  deletes their data (`forget_voter` erases only the chat id): their ballot keeps counting
  once, and if they vote again in the same ronda it is replaced, not added.
- Winners ("greedy by votes within budget"): projects are ranked by votes (ties: the
  cheaper first, then by code); going down that list, a project wins if it fits in what
  is left of the budget, otherwise it is skipped and the next ones are still considered.
  Projects without votes never win.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import col, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.importers.comunas import ComunaIndex, ComunaRef
from storage.importers.core import Change, ImportResult, all_or_nothing
from storage.importers.errors import CellError, ImportFailed, RowError, shown
from storage.importers.kinds import ColumnSpec, KindSpec
from storage.importers.parsing import match_headers, parse_cell
from storage.importers.reading import is_blank, is_blank_row, read_sheet
from storage.importers.values import (
    check_spreadsheet_junk,
    parse_date,
    parse_local_datetime,
)
from storage.models import Citizen, Comuna, PBProject, PBRound, PBVote, Subscription
from storage.surveys import pseudonym
from storage.types import utcnow

log = logging.getLogger(__name__)

KIND = "presupuesto_participativo"
RoundState = Literal["proximo", "abierto", "cerrado"]
BallotStatus = Literal[
    "guardado",  # saved (new or replacing the previous one)
    "sin_ronda",  # the round does not exist
    "no_abierta",  # voting has not started
    "cerrada",  # voting has ended
    "vacia",  # no project chosen
    "desconocido",  # a project that does not exist
    "otra_comuna",  # a project of another round / comuna
    "excede",  # the projects cost more than the budget
]

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
}
SPEC = KindSpec(
    name=KIND,
    model=PBProject,
    required=("ronda", "comuna", "presupuesto_comuna", "codigo", "proyecto", "costo"),
    optional=("descripcion", "abre", "cierra"),
    key=("codigo",),
    columns=_COLUMNS,
)


def pesos(value: Decimal) -> str:
    """Write an amount for an operator's error message: `$ 1.234.567`."""
    return "$ " + f"{round(value):,}".replace(",", ".")


# --- import ------------------------------------------------------------------------


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
    data_rows = 0
    for offset, cells in enumerate(sheet.rows):
        number = offset + 2
        if is_blank_row(cells):
            continue
        data_rows += 1
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
    if not data_rows:
        raise ImportFailed("El archivo no tiene filas de datos.")
    return parsed


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
        ):
            if mine != theirs:
                parsed.errors.append(RowError(
                    row.row, column,
                    f"no coincide con la fila {first.row}, que es de la misma ronda y comuna; "
                    "escriba el mismo valor en todas sus filas.",
                ))
    return first_of


async def _votes_by_round(
    session: AsyncSession, round_ids: Iterable[int]
) -> dict[int, Counter[int]]:
    """Count the votes of each project per round; key 0 counts the round's ballots."""
    ids = list(set(round_ids))
    counts: dict[int, Counter[int]] = {rid: Counter() for rid in ids}
    if not ids:
        return counts
    ballots = (await session.exec(
        select(PBVote.round_id, PBVote.project_ids).where(col(PBVote.round_id).in_(ids))
    )).all()
    for round_id, project_ids in ballots:
        counts[round_id].update(int(p) for p in project_ids or [])
        counts[round_id][0] += 1  # key 0: how many ballots the round has
    return counts


async def import_pb_bytes(
    session: AsyncSession, data: bytes, filename: str, *, tz: ZoneInfo
) -> ImportResult:
    """Import a participatory-budget file and commit, or change nothing and raise `ImportFailed`."""
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
    votes = await _votes_by_round(session, touched)
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
        new = {"presupuesto": first.presupuesto, "abre": first.abre, "cierra": first.cierra}
        if pb_round is None:
            pb_round = PBRound(
                ronda=first.ronda, comuna_id=first.comuna_id, presupuesto=first.presupuesto,
                abre=first.abre, cierra=first.cierra, updated_at=now,
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
    await session.commit()
    return result


# --- queries -------------------------------------------------------------------------


def round_state(pb_round: PBRound, now: datetime) -> RoundState:
    """Tell whether a round's voting is still to come, open, or closed at `now`."""
    if pb_round.cierra is not None and now >= pb_round.cierra:
        return "cerrado"
    if pb_round.abre is not None and now < pb_round.abre:
        return "proximo"
    return "abierto"


@dataclass(frozen=True)
class RoundCard:
    """A round with its comuna and its state at the time asked."""

    round: PBRound
    comuna: Comuna
    state: RoundState

    @property
    def id(self) -> int:
        """Return the round's id."""
        assert self.round.id is not None
        return self.round.id


@dataclass(frozen=True)
class RoundDetail:
    """A round, its comuna and state, and its projects in the order staff loaded them."""

    card: RoundCard
    projects: list[PBProject]

    def project(self, project_id: int) -> PBProject | None:
        """Return the round's project with this id, if it is one of them."""
        return next((p for p in self.projects if p.id == project_id), None)

    def total(self, project_ids: Iterable[int]) -> Decimal:
        """Return what the chosen projects of this round cost together."""
        wanted = set(project_ids)
        return sum((p.costo for p in self.projects if p.id in wanted), Decimal(0))


async def _cards(session: AsyncSession, now: datetime, *conditions: Any) -> list[RoundCard]:
    query = select(PBRound, Comuna).join(Comuna, col(Comuna.id) == col(PBRound.comuna_id))
    if conditions:
        query = query.where(*conditions)
    rows = (await session.exec(query)).all()
    cards = [RoundCard(r, c, round_state(r, now)) for r, c in rows]
    return sorted(cards, key=lambda c: (c.round.ronda, _comuna_order(c.comuna)))


def _comuna_order(comuna: Comuna) -> tuple[int, int, str]:
    code = comuna.codigo
    if code.isdigit():
        return (0, int(code), code)
    digits = "".join(ch for ch in code if ch.isdigit())
    return (1, int(digits) if digits else 0, code)


async def open_rounds(session: AsyncSession, *, now: datetime) -> list[RoundCard]:
    """Return the rounds open for voting at `now`, by ronda and comuna."""
    return [c for c in await _cards(session, now) if c.state == "abierto"]


async def closed_since(session: AsyncSession, *, since: datetime, now: datetime) -> list[RoundCard]:
    """Return the rounds that closed between `since` and `now`."""
    query = (col(PBRound.cierra) > since, col(PBRound.cierra) <= now)
    return await _cards(session, now, *query)


async def current_rounds(session: AsyncSession, *, now: datetime) -> list[RoundCard]:
    """Return the rounds to show citizens: the rondas open now, else the latest ronda."""
    cards = await _cards(session, now)
    if not cards:
        return []
    open_rondas = {c.round.ronda for c in cards if c.state == "abierto"}
    if open_rondas:
        return [c for c in cards if c.round.ronda in open_rondas]
    floor = datetime.min.replace(tzinfo=now.tzinfo)

    def latest(card: RoundCard) -> datetime:
        return max(card.round.abre or floor, card.round.cierra or floor)

    newest = max(cards, key=latest).round.ronda
    return [c for c in cards if c.round.ronda == newest]


async def round_detail(
    session: AsyncSession, *, round_id: int, now: datetime
) -> RoundDetail | None:
    """Return a round with its comuna and projects, or None if there is no such round."""
    cards = await _cards(session, now, col(PBRound.id) == round_id)
    if not cards:
        return None
    projects = (await session.exec(
        select(PBProject).where(PBProject.round_id == round_id).order_by(col(PBProject.id))
    )).all()
    return RoundDetail(cards[0], list(projects))


async def comuna_round(
    session: AsyncSession, *, comuna_id: int, ronda: str, now: datetime
) -> RoundDetail | None:
    """Return a comuna's round of `ronda` with its projects, or None."""
    pb_round = (await session.exec(
        select(PBRound).where(PBRound.comuna_id == comuna_id, PBRound.ronda == ronda)
    )).first()
    if pb_round is None or pb_round.id is None:
        return None
    return await round_detail(session, round_id=pb_round.id, now=now)


async def voter_key(session: AsyncSession, *, ronda: str, chat_id: int) -> str:
    """Return the person's pseudonym for `ronda` (kept on the ballot after a deletion)."""
    return await pseudonym(session, scope=f"pp:{ronda}", chat_id=chat_id)


async def _ballot_by_key(
    session: AsyncSession, *, ronda: str, chat_id: int, key: str
) -> PBVote | None:
    return (await session.exec(
        select(PBVote).where(
            PBVote.ronda == ronda, or_(PBVote.voter_key == key, PBVote.chat_id == chat_id)
        ).order_by(col(PBVote.id))
    )).first()


async def ballot_of(session: AsyncSession, *, ronda: str, chat_id: int) -> PBVote | None:
    """Return the person's ballot in `ronda` (whatever comuna it is for), or None.

    A ballot cast before the person deleted their data is still theirs (found by its key):
    it still counts, and voting again replaces it.
    """
    key = await voter_key(session, ronda=ronda, chat_id=chat_id)
    return await _ballot_by_key(session, ronda=ronda, chat_id=chat_id, key=key)


async def count_ballots(session: AsyncSession, *, chat_id: int) -> int:
    """Return how many ballots are linked to this chat (for `/mis_datos`)."""
    rows = (await session.exec(select(PBVote.id).where(PBVote.chat_id == chat_id))).all()
    return len(rows)


@dataclass(frozen=True)
class BallotOutcome:
    """What saving a ballot did, or why it was refused (`status` other than `guardado`)."""

    status: BallotStatus
    total: Decimal = Decimal(0)
    budget: Decimal = Decimal(0)
    replaced_round_id: int | None = None  # the earlier ballot was for this other round

    @property
    def saved(self) -> bool:
        """Tell whether the ballot was stored."""
        return self.status == "guardado"


def check_ballot(
    detail: RoundDetail, project_ids: Sequence[int], *, known: set[int]
) -> BallotOutcome | None:
    """Return why a ballot cannot be cast in this round, or None when it can."""
    budget = detail.card.round.presupuesto
    if detail.card.state == "cerrado":
        return BallotOutcome("cerrada", budget=budget)
    if detail.card.state == "proximo":
        return BallotOutcome("no_abierta", budget=budget)
    if not project_ids:
        return BallotOutcome("vacia", budget=budget)
    mine = {p.id for p in detail.projects}
    if any(pid not in known for pid in project_ids):
        return BallotOutcome("desconocido", budget=budget)
    if any(pid not in mine for pid in project_ids):
        return BallotOutcome("otra_comuna", budget=budget)
    total = detail.total(project_ids)
    if total > budget:
        return BallotOutcome("excede", total=total, budget=budget)
    return None


async def save_ballot(
    session: AsyncSession, *, round_id: int, chat_id: int, project_ids: Sequence[int],
    now: datetime,
) -> BallotOutcome:
    """Store the person's ballot for a round, replacing their earlier one in the same ronda."""
    detail = await round_detail(session, round_id=round_id, now=now)
    if detail is None:
        return BallotOutcome("sin_ronda")
    chosen = sorted(set(int(p) for p in project_ids))
    known = set((await session.exec(
        select(PBProject.id).where(col(PBProject.id).in_(chosen))
    )).all()) if chosen else set()
    refusal = check_ballot(detail, chosen, known={k for k in known if k is not None})
    if refusal is not None:
        return refusal
    # Read everything needed from the loaded objects now: a rollback below expires them,
    # and touching an expired attribute would load it lazily (MissingGreenlet).
    ronda = detail.card.round.ronda
    total, budget = detail.total(chosen), detail.card.round.presupuesto
    key = await voter_key(session, ronda=ronda, chat_id=chat_id)
    replaced: int | None = None
    for attempt in range(3):
        ballot = await _ballot_by_key(session, ronda=ronda, chat_id=chat_id, key=key)
        replaced = None
        if ballot is None:
            ballot = PBVote(ronda=ronda, round_id=round_id, created_at=now)
        elif ballot.round_id != round_id:
            replaced = ballot.round_id
        # A ballot left by a deletion becomes theirs again: the same person, voting again.
        ballot.chat_id, ballot.voter_key = chat_id, key
        ballot.round_id, ballot.project_ids, ballot.updated_at = round_id, chosen, now
        session.add(ballot)
        try:
            await session.commit()
        except IntegrityError:
            # Two taps of the same person raced to create the ballot: update the winner's.
            await session.rollback()
            if attempt == 2:
                raise
            continue
        break
    return BallotOutcome("guardado", total=total, budget=budget, replaced_round_id=replaced)


async def round_audience(
    session: AsyncSession, *, card: RoundCard, with_voters: bool
) -> list[int]:
    """Return the chats subscribed to the round's comuna, and its voters if asked."""
    query = select(Subscription.chat_id).where(
        Subscription.kind == "comuna", Subscription.value == card.comuna.codigo
    )
    chats = set((await session.exec(query)).all())
    if with_voters:
        voters = (await session.exec(
            select(PBVote.chat_id).where(PBVote.round_id == card.id)
        )).all()
        chats |= {chat for chat in voters if chat is not None}
    return sorted(chats)


async def remember_comuna(session: AsyncSession, *, telegram_id: int, comuna_id: int) -> bool:
    """Set the person's comuna to the one they voted in, if they had none; commit."""
    citizen = (
        await session.exec(select(Citizen).where(Citizen.telegram_id == telegram_id))
    ).first()
    if citizen is None or citizen.consent_at is None or citizen.comuna_id is not None:
        return False
    citizen.comuna_id = comuna_id
    session.add(citizen)
    await session.commit()
    return True


async def forget_voter(session: AsyncSession, *, chat_id: int) -> int:
    """Unlink the person's ballots from their chat; the caller commits.

    The votes still count, and `voter_key` stays, so the person cannot add a second ballot.
    """
    ballots = (await session.exec(select(PBVote).where(PBVote.chat_id == chat_id))).all()
    for ballot in ballots:
        if ballot.voter_key is None:  # a ballot from before keys existed
            ballot.voter_key = await voter_key(session, ronda=ballot.ronda, chat_id=chat_id)
        ballot.chat_id = None
        session.add(ballot)
    await session.flush()
    return len(ballots)


# --- results -----------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectResult:
    """A project's votes and whether it is funded."""

    project: PBProject
    votes: int
    wins: bool


@dataclass(frozen=True)
class RoundResults:
    """A round's outcome: projects by votes, how many people voted, what the winners cost."""

    detail: RoundDetail
    ballots: int
    projects: list[ProjectResult]

    @property
    def spent(self) -> Decimal:
        """Return what the winning projects cost together."""
        return sum((r.project.costo for r in self.projects if r.wins), Decimal(0))


def pick_winners(
    items: Sequence[tuple[str, int, Decimal]], budget: Decimal
) -> tuple[list[str], set[str]]:
    """Rank (code, votes, cost) by votes and fund them greedily within `budget`.

    Returns the codes in ranking order (votes down, then cheaper, then code) and the set
    of winners: going down the ranking, a project with votes wins if it fits in what is
    left; one that does not fit is skipped and the next ones are still considered.
    """
    ranked = sorted(items, key=lambda item: (-item[1], item[2], item[0]))
    left = budget
    winners: set[str] = set()
    for code, votes, cost in ranked:
        if votes > 0 and cost <= left:
            winners.add(code)
            left -= cost
    return [code for code, _, _ in ranked], winners


async def round_results(
    session: AsyncSession, *, round_id: int, now: datetime
) -> RoundResults | None:
    """Return a round's votes per project and its winners, or None if there is no such round."""
    detail = await round_detail(session, round_id=round_id, now=now)
    if detail is None:
        return None
    counts = (await _votes_by_round(session, [round_id]))[round_id]
    ballots = counts.pop(0, 0)
    by_code = {p.codigo: p for p in detail.projects}
    order, winners = pick_winners(
        [(p.codigo, counts.get(p.id or -1, 0), p.costo) for p in detail.projects],
        detail.card.round.presupuesto,
    )
    rows = [
        ProjectResult(by_code[code], counts.get(by_code[code].id or -1, 0), code in winners)
        for code in order
    ]
    return RoundResults(detail, ballots, rows)
