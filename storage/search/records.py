"""What the search indexes, read from the database (the same for SQLite and PostgreSQL), and
cheap fingerprints that say when to read it again."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from sqlalchemy import case as sa_case
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import (
    BudgetLine,
    CitizenQuestion,
    Comuna,
    ContractingProcess,
    Event,
    Goal,
    Report,
    Work,
)
from storage.search.intents import Record, status_of
from storage.text import fold


async def question_records(session: AsyncSession) -> list[Record]:
    """Return the questions staff may group others under (pending and answered, not the
    duplicates themselves)."""
    conn = await session.connection()
    rows = await conn.execute(
        sa_select(CitizenQuestion.id, CitizenQuestion.text, CitizenQuestion.answer)  # type: ignore[call-overload]
        .where(col(CitizenQuestion.status) != "duplicada")
    )
    return [Record("pregunta", str(qid), text, [(text, 2.0), (answer or "", 0.5)])
            for qid, text, answer in rows]


async def question_version(session: AsyncSession) -> tuple[object, ...]:
    """Return a cheap fingerprint of what `build_question_index` reads (texts never change;
    questions are added, answered, or grouped)."""
    conn = await session.connection()
    grouped = func.sum(sa_case((col(CitizenQuestion.status) == "duplicada", 1), else_=0))
    query = sa_select(func.count(), func.max(CitizenQuestion.id),
                      func.max(CitizenQuestion.answered_at), grouped)
    return tuple((await conn.execute(query.select_from(CitizenQuestion))).one())


async def data_version(session: AsyncSession) -> tuple[object, ...]:
    """Return a cheap fingerprint of the searchable data: it changes when any of it does."""
    conn = await session.connection()
    version: list[object] = []
    for model, stamp in ((Goal, Goal.updated_at), (Work, Work.updated_at),
                         (BudgetLine, BudgetLine.updated_at), (Event, Event.updated_at),
                         (ContractingProcess, ContractingProcess.updated_at),
                         (Report, Report.updated_at),
                         (CitizenQuestion, CitizenQuestion.answered_at)):
        query = sa_select(func.count(), func.max(stamp)).select_from(model)
        version.extend((await conn.execute(query)).one())
    published = sa_select(func.count()).where(col(CitizenQuestion.published).is_(True))
    version.append((await conn.execute(published)).scalar_one())
    return tuple(version)


async def data_records(
    session: AsyncSession, *, now: datetime | None = None
) -> tuple[list[Record], dict[str, str]]:
    """Return every searchable item in the database, and the comunas' codes by name."""
    now = now or datetime.now(UTC)
    comunas = {c.id: c for c in (await session.exec(select(Comuna))).all()}
    records: list[Record] = []
    # An office's budget is also about the programs of the goals it answers for: INDERBU's
    # is the sport budget («plata para deporte»).
    programs: dict[str, set[str]] = defaultdict(set)
    for g in (await session.exec(select(Goal))).all():
        if g.responsable:
            programs[fold(g.responsable)].add(g.programa)
        records.append(
            Record(
                "meta",
                g.codigo,
                g.meta,
                [
                    (g.meta, 3.0),
                    (g.indicador, 1.0),
                    (g.programa, 1.5),
                    (g.responsable or "", 0.7),
                    (g.linea, 0.25),
                    ("meta", 0.5),
                ],
                topic=g.programa,
            )
        )
    # Columns, not ORM rows: a city can have tens of thousands of works.
    conn = await session.connection()
    work_columns = sa_select(Work.codigo, Work.nombre, Work.descripcion, Work.direccion,  # type: ignore[call-overload, misc]
                             Work.comuna_id, Work.contratista, Work.estado,
                             Work.fecha_fin_prevista)
    streamed = await conn.stream(work_columns)
    statuses: dict[str, str] = {}  # one string per distinct status, not one per work
    async for rows in streamed.partitions(2_000):  # a hand-over per batch, not per row
        for (codigo, nombre, descripcion, direccion, comuna_id, contratista, estado,
             due) in rows:
            comuna = comunas.get(comuna_id)
            status = statuses.get(estado)
            if status is None:
                status = statuses[estado] = status_of(estado)
            records.append(
                Record(
                    "obra",
                    codigo,
                    nombre,
                    [
                        (nombre, 3.0),
                        (descripcion or "", 0.7),
                        (direccion or "", 1.5),
                        (comuna.nombre if comuna else "", 0.8),
                        (contratista or "", 0.5),
                        ("obra", 0.5),
                        (estado, 0.3),
                    ],
                    comuna=comuna.codigo if comuna else None,
                    status=status,
                    due=due,
                )
            )
    years: dict[str, set[str]] = defaultdict(set)  # «presupuesto de educación 2026»
    for line in (await session.exec(select(BudgetLine))).all():
        years[line.dependencia].add(str(line.vigencia))
    for office in sorted(years):
        records.append(
            Record("presupuesto", office, office, [
                (office, 3.0), ("presupuesto ejecucion", 1.0),
                (" ".join(sorted(programs.get(fold(office), ()))), 1.0),
                (" ".join(sorted(years[office])), 0.5)])
        )
    for e in (await session.exec(select(Event).where(Event.inicio >= now))).all():
        comuna = comunas.get(e.comuna_id) if e.comuna_id else None
        records.append(
            Record(
                "evento",
                e.clave,
                e.titulo,
                [
                    (e.titulo, 3.0),
                    (e.tipo, 1.5),
                    (e.lugar, 1.0),
                    (e.descripcion or "", 0.5),
                    ("evento", 0.5),
                ],
                comuna=comuna.codigo if comuna else None,
                ref=str(e.id),
            )
        )
    for p in (await session.exec(select(ContractingProcess))).all():
        records.append(
            Record(
                "contratacion",
                p.numero_proceso,
                p.objeto,
                [
                    (p.objeto, 2.5),
                    (p.modalidad, 1.0),
                    (p.dependencia or "", 0.5),
                    (p.numero_proceso, 1.0),
                    (p.estado, 0.5),
                    ("contratacion", 0.5),
                ],
            )
        )
    for r in (await session.exec(select(Report))).all():
        records.append(
            Record(
                "informe",
                r.titulo,
                r.titulo,
                [
                    (r.titulo, 3.0),
                    (r.tipo, 1.5),
                    (r.periodo, 0.5),
                    (r.resumen or "", 0.5),
                    ("informe", 0.5),
                ],
                ref=r.enlace,
            )
        )
    answered = select(CitizenQuestion).where(
        CitizenQuestion.status == "respondida", col(CitizenQuestion.published).is_(True)
    )
    for q in (await session.exec(answered)).all():
        records.append(
            Record("pregunta", str(q.id), q.text, [(q.text, 2.0), (q.answer or "", 1.0)])
        )
    names = {c.nombre: c.codigo for c in comunas.values()}
    return records, names
