"""Survey definitions: parsing, clear errors, all-or-nothing import, re-import rules."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from sqlmodel import col, select

from storage.db import Database
from storage.importers import ImportFailed, import_bytes
from storage.importers.survey_reading import parse_definition
from storage.importers.surveys import load_sample_surveys
from storage.models import Survey, SurveyQuestion
from storage.survey_answers import record_answer, start_response
from storage.survey_defs import END, SAMPLE_DIR
from tests.storage.helpers import TZ, seed_comunas

SIMPLE = """
slug: prueba-simple
titulo: Prueba
abre: 2026-03-01 08:00
cierra: 2026-03-31
preguntas:
  - tipo: unica
    texto: ¿Asistió?
    opciones: [Sí, No]
    saltar: {No: fin}
  - tipo: escala
    texto: ¿Qué tal?
  - tipo: texto
    texto: Comentarios
"""


async def _questions(db: Database, slug: str) -> list[SurveyQuestion]:
    async with db.session() as s:
        survey = (await s.exec(select(Survey).where(Survey.slug == slug))).one()
        query = select(SurveyQuestion).where(SurveyQuestion.survey_id == survey.id)
        return list((await s.exec(query.order_by(col(SurveyQuestion.position)))).all())


def test_the_shipped_surveys_are_valid_and_the_diagnostic_is_anonymous_with_a_skip() -> None:
    parsed = {p.stem: parse_definition(p.read_bytes(), p.name, tz=TZ)
              for p in SAMPLE_DIR.glob("*.yaml")}
    assert set(parsed) == {"diagnostico-rendicion", "percepcion-gestion", "evaluacion-audiencia"}
    diagnostic = parsed["diagnostico-rendicion"]
    assert diagnostic.anonima is True
    assert any(q.skip_rules for q in diagnostic.questions)
    for definition in parsed.values():
        assert {q.kind for q in definition.questions} == {"unica", "multiple", "escala", "texto"}
    # The 2020 diagnostic's themes are the options citizens rank.
    topics = diagnostic.questions[4]
    assert topics.options[0] == "Cumplimiento de las metas del plan"


def test_yaml_no_and_si_stay_text_and_dates_are_local() -> None:
    definition = parse_definition(SIMPLE.encode(), "p.yaml", tz=TZ)
    first = definition.questions[0]
    assert first.options == ["Sí", "No"]
    assert first.skip_rules == {"No": END}
    assert definition.abre == datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
    # A closing date without a time includes that whole (local) day.
    assert definition.cierra == datetime(2026, 4, 1, 4, 59, 59, tzinfo=UTC)
    assert definition.questions[2].max_length == 500


def test_json_definitions_are_read_too() -> None:
    data = {"slug": "en-json", "titulo": "JSON", "anonima": True, "preguntas": [
        {"tipo": "multiple", "texto": "¿Cuáles?", "opciones": ["a", "b", "c"], "maximo": 2},
    ]}
    definition = parse_definition(json.dumps(data).encode(), "e.json", tz=TZ)
    assert definition.questions[0].max_choices == 2 and definition.anonima


def test_every_error_names_the_question_and_field() -> None:
    bad = """
slug: Mal Slug
titulo: ""
color: azul
preguntas:
  - tipo: unica
    texto: ¿Uno?
    opciones: [Solo una]
  - tipo: multiple
    texto: ¿Varias?
    opciones: [a, b]
    maximo: 5
  - tipo: escala
    texto: ¿Escala?
    saltar: {7: 1}
  - tipo: pregunta
    texto: ¿Otra?
  - tipo: texto
    texto: ¿Texto?
    opciones: [x, y]
"""
    with pytest.raises(ImportFailed) as caught:
        parse_definition(bad.encode(), "mal.yaml", tz=TZ)
    text = str(caught.value)
    assert text.startswith("La definición de la encuesta tiene 8 errores.")
    for expected in (
        "Campo «color»: no existe",
        "Campo «slug»: debe tener de 3 a 40 letras",
        "Campo «titulo»: está vacío",
        "Pregunta 1, campo «opciones»: hacen falta al menos 2 opciones",
        "Pregunta 2, campo «maximo»: debe estar entre 1 y 2.",
        "Pregunta 3, campo «saltar»: «7» no es una respuesta posible",
        "Pregunta 4, campo «tipo»: «pregunta» no es un tipo",
        "Pregunta 5, campo «opciones»: no existe para preguntas de tipo texto.",
    ):
        assert expected in text


def test_backward_skips_unreadable_files_and_huge_files_are_refused() -> None:
    backward = SIMPLE.replace("saltar: {No: fin}", "saltar: {No: 1}")
    with pytest.raises(ImportFailed, match="Pregunta 1, campo «saltar»: si responde «No» debe "
                       "saltar hacia adelante"):
        parse_definition(backward.encode(), "p.yaml", tz=TZ)
    with pytest.raises(ImportFailed, match=r"El YAML no se puede leer \(línea"):
        parse_definition(b"slug: [sin cerrar\n", "p.yaml", tz=TZ)
    with pytest.raises(ImportFailed, match="El JSON no se puede leer: línea 1"):
        parse_definition(b"{nope", "p.json", tz=TZ)
    with pytest.raises(ImportFailed, match="una encuesta puede pesar hasta 200 kB"):
        parse_definition(b"#" * 300_000, "p.yaml", tz=TZ)
    with pytest.raises(ImportFailed, match="Campo «cierra»: la fecha «31/03/2026»"):
        parse_definition(SIMPLE.replace("2026-03-31", "31/03/2026").encode(), "p.yaml", tz=TZ)


async def test_import_through_import_bytes_and_reimport_updates(db: Database) -> None:
    async with db.session() as s:
        result = await import_bytes(s, "encuesta", SIMPLE.encode(), "p.yaml", tz=TZ)
    assert (result.kind, result.created, result.created_keys) == ("encuesta", 1, ["prueba-simple"])
    async with db.session() as s:
        again = await import_bytes(s, "encuesta", SIMPLE.encode(), "p.yaml", tz=TZ)
    assert again.unchanged == 1
    changed = SIMPLE.replace("titulo: Prueba", "titulo: Prueba nueva").replace(
        "texto: Comentarios", "texto: Sus comentarios"
    )
    async with db.session() as s:
        updated = await import_bytes(s, "encuesta", changed.encode(), "p.yaml", tz=TZ)
    assert updated.updated == 1
    assert {c.field for c in updated.changes} == {"titulo", "preguntas"}
    questions = await _questions(db, "prueba-simple")
    assert [q.text for q in questions] == ["¿Asistió?", "¿Qué tal?", "Sus comentarios"]


async def test_questions_cannot_change_once_someone_answered(db: Database) -> None:
    async with db.session() as s:
        await import_bytes(s, "encuesta", SIMPLE.replace("abre: 2026-03-01 08:00\n", "")
                           .replace("cierra: 2026-03-31\n", "").encode(), "p.yaml", tz=TZ)
        survey = (await s.exec(select(Survey))).one()
        await start_response(s, survey=survey, telegram_id=5, chat_id=5)
        await record_answer(s, survey=survey, chat_id=5, position_number=1, raw=0)
    reworded = SIMPLE.replace("¿Asistió?", "¿Fue?")
    async with db.session() as s:
        with pytest.raises(ImportFailed, match="ya tiene 1 respuestas, así que sus preguntas no "
                           "se pueden cambiar"):
            await import_bytes(s, "encuesta", reworded.encode(), "p.yaml", tz=TZ)
    assert (await _questions(db, "prueba-simple"))[0].text == "¿Asistió?"
    # Title and dates may still change.
    async with db.session() as s:
        result = await import_bytes(
            s, "encuesta", SIMPLE.replace("titulo: Prueba", "titulo: Otra").encode(), "p.yaml",
            tz=TZ,
        )
    assert {c.field for c in result.changes} == {"titulo", "abre", "cierra"}


async def test_comuna_targeting_is_resolved_or_refused(db: Database) -> None:
    await seed_comunas(db)
    targeted = SIMPLE.replace("titulo: Prueba", "titulo: Prueba\ncomuna: Occidental")
    async with db.session() as s:
        await import_bytes(s, "encuesta", targeted.encode(), "p.yaml", tz=TZ)
        survey = (await s.exec(select(Survey))).one()
    assert survey.comuna_id is not None
    wrong = SIMPLE.replace("slug: prueba-simple", "slug: otra").replace(
        "titulo: Prueba", "titulo: Prueba\ncomuna: 99"
    )
    async with db.session() as s:
        with pytest.raises(ImportFailed, match="Campo «comuna»: no se encontró la comuna «99»"):
            await import_bytes(s, "encuesta", wrong.encode(), "p.yaml", tz=TZ)
        assert len((await s.exec(select(Survey))).all()) == 1


async def test_load_sample_surveys_is_repeatable(db: Database) -> None:
    async with db.session() as s:
        first = await load_sample_surveys(s, tz=TZ)
        second = await load_sample_surveys(s, tz=TZ)
    assert [r.created for r in first] == [1, 1, 1]
    assert [r.unchanged for r in second] == [1, 1, 1]
