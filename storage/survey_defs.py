"""Survey definitions: their format, limits and checked form (`SurveyDef`).

A definition (see `storage/sample/encuestas/*.yaml`) has `slug`, `titulo`, optional
`descripcion`, `anonima`, `abre`, `cierra` (local `YYYY-MM-DD` or `YYYY-MM-DD HH:MM`; a
closing date without a time means the end of that day) and `comuna`, and a list
`preguntas`. Each question has `tipo` (`unica`, `multiple`, `escala`, `texto`), `texto`, and
by type `opciones`, `maximo` (multiple), `etiquetas` (escala: the words for 1 and 5),
`max_caracteres` (texto) and `saltar` (unica, escala: `{answer: question number | fin}`).
Questions are numbered by their order, from 1; skips only go forward.

A file is read and checked by `storage.importers.survey_reading` and stored all-or-nothing
by `storage.importers.surveys`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

SAMPLE_DIR = Path(__file__).parent / "sample" / "encuestas"

MAX_QUESTIONS = 40
MAX_OPTIONS = 12
MAX_OPTION_CHARS = 60
MAX_QUESTION_CHARS = 800
MAX_TITLE_CHARS = 200
MAX_DESCRIPTION_CHARS = 1500
DEFAULT_TEXT_CHARS = 500
MAX_TEXT_CHARS = 1000
SCALE = (1, 2, 3, 4, 5)
END = 0  # skip target meaning "end of the survey" (`fin` in a definition)
KINDS = ("unica", "multiple", "escala", "texto")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{2,39}$")  # fits `enc:o:<slug>` and `/start encuesta_…`
TOP_FIELDS = {"slug", "titulo", "descripcion", "anonima", "abre", "cierra", "comuna", "preguntas"}
QUESTION_FIELDS = {
    "unica": {"tipo", "texto", "opciones", "saltar"},
    "multiple": {"tipo", "texto", "opciones", "maximo"},
    "escala": {"tipo", "texto", "etiquetas", "saltar"},
    "texto": {"tipo", "texto", "max_caracteres"},
}
TRUE_WORDS = {"si", "sí", "true", "verdadero"}
FALSE_WORDS = {"no", "false", "falso"}


@dataclass(frozen=True)
class QuestionDef:
    """One checked question, ready to store."""

    position: int
    kind: str
    text: str
    options: list[str] = field(default_factory=list)
    max_choices: int | None = None
    max_length: int | None = None
    skip_rules: dict[str, int] = field(default_factory=dict)

    def as_tuple(self) -> tuple[Any, ...]:
        """Return what makes two versions of a question the same question."""
        return (self.position, self.kind, self.text, list(self.options), self.max_choices,
                self.max_length, dict(self.skip_rules))


@dataclass(frozen=True)
class SurveyDef:
    """A checked survey definition (times in UTC)."""

    slug: str
    titulo: str
    descripcion: str | None
    anonima: bool
    abre: datetime | None
    cierra: datetime | None
    comuna: str | None  # as written; resolved against the database when stored
    questions: list[QuestionDef]
