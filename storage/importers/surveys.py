"""Store a checked survey definition: create or update the survey by its slug, all-or-nothing.

Once a survey has responses its questions, and whether it is anonymous, cannot change
(the results would stop adding up); title, description, comuna and dates always may.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import col, delete, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.importers.comunas import ComunaIndex, ComunaRef
from storage.importers.core import Change, ImportResult
from storage.importers.errors import CellError, ImportFailed
from storage.importers.survey_reading import parse_definition
from storage.models import Comuna, Survey, SurveyQuestion, SurveyResponse
from storage.survey_defs import (
    SAMPLE_DIR,
    QuestionDef,
    SurveyDef,
)

KIND = "encuesta"


async def _comuna_id(session: AsyncSession, written: str | None) -> int | None:
    if written is None:
        return None
    rows = (await session.exec(select(Comuna))).all()
    index = ComunaIndex(ComunaRef(c.id, c.codigo, c.nombre) for c in rows if c.id is not None)
    if not index:
        raise ImportFailed("Campo «comuna»: todavía no hay comunas cargadas "
                           "(importe primero el tipo «comunas»).")
    try:
        return index.resolve(written).id
    except CellError as exc:
        raise ImportFailed(f"Campo «comuna»: {exc}") from exc


def _stored_questions(rows: list[SurveyQuestion]) -> list[tuple[Any, ...]]:
    return [
        QuestionDef(q.position, q.kind, q.text, list(q.options or []), q.max_choices,
                    q.max_length, dict(q.skip_rules or {})).as_tuple()
        for q in sorted(rows, key=lambda q: q.position)
    ]


async def store_definition(session: AsyncSession, definition: SurveyDef) -> ImportResult:
    """Create or update the survey with this slug in one transaction."""
    result = ImportResult(KIND)
    try:
        comuna_id = await _comuna_id(session, definition.comuna)
        survey = (
            await session.exec(select(Survey).where(Survey.slug == definition.slug))
        ).first()
        fields: dict[str, Any] = {
            "titulo": definition.titulo, "descripcion": definition.descripcion,
            "anonima": definition.anonima, "abre": definition.abre,
            "cierra": definition.cierra, "comuna_id": comuna_id,
        }
        wanted = [q.as_tuple() for q in definition.questions]
        if survey is None:
            survey = Survey(slug=definition.slug, **fields)
            session.add(survey)
            await session.flush()
            result.created = 1
            result.created_keys.append(definition.slug)
        else:
            stored = list((await session.exec(
                select(SurveyQuestion).where(SurveyQuestion.survey_id == survey.id)
            )).all())
            same_questions = _stored_questions(stored) == wanted
            responses = int((await session.exec(
                select(func.count()).where(SurveyResponse.survey_id == survey.id)
            )).one())
            if responses and not same_questions:
                raise ImportFailed(
                    f"La encuesta «{definition.slug}» ya tiene {responses} respuestas, así que "
                    "sus preguntas no se pueden cambiar (los resultados dejarían de cuadrar). "
                    "Puede cambiar el título, la descripción, la comuna y las fechas. Para otras "
                    "preguntas, cree una encuesta nueva con otro «slug». No se guardó nada."
                )
            if responses and survey.anonima != definition.anonima:
                raise ImportFailed(
                    f"La encuesta «{definition.slug}» ya tiene {responses} respuestas: no puede "
                    "pasar de anónima a nominal ni al revés. No se guardó nada."
                )
            for name, new in fields.items():
                old = getattr(survey, name)
                if old != new:
                    result.changes.append(Change(definition.slug, name, old, new))
                    setattr(survey, name, new)
            if not same_questions:
                result.changes.append(
                    Change(definition.slug, "preguntas", len(stored), len(wanted))
                )
                await session.exec(delete(SurveyQuestion).where(
                    col(SurveyQuestion.survey_id) == survey.id
                ))
                await session.flush()
            if result.changes:
                result.updated = 1
                session.add(survey)
            else:
                result.unchanged = 1
            if same_questions:
                await session.flush()
                return result
        assert survey.id is not None
        for q in definition.questions:
            session.add(SurveyQuestion(
                survey_id=survey.id, position=q.position, kind=q.kind, text=q.text,
                options=list(q.options), max_choices=q.max_choices, max_length=q.max_length,
                skip_rules=dict(q.skip_rules),
            ))
        await session.flush()
    except ImportFailed:
        await session.rollback()
        raise
    except SQLAlchemyError as exc:
        await session.rollback()
        raise ImportFailed(
            "No se pudo guardar la encuesta en la base de datos (quizá se importó la misma al "
            "mismo tiempo). No se guardó nada; intente de nuevo."
        ) from exc
    return result


async def import_survey_bytes(
    session: AsyncSession, data: bytes, filename: str, *, tz: ZoneInfo
) -> ImportResult:
    """Import one survey definition (JSON or YAML) all-or-nothing; raise `ImportFailed`."""
    definition = parse_definition(data, filename, tz=tz)
    return await store_definition(session, definition)


async def load_sample_surveys(session: AsyncSession, *, tz: ZoneInfo) -> list[ImportResult]:
    """Import the surveys shipped in `storage/sample/encuestas/`."""
    results = []
    for path in sorted(SAMPLE_DIR.glob("*.yaml")):
        results.append(await import_survey_bytes(session, path.read_bytes(), path.name, tz=tz))
    return results
