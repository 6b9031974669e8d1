"""What a survey answer may be and where it leads: no database here.

`answer_value` turns a raw answer into what is stored (or refuses it, in Spanish);
`next_question` follows the skip rules over the answers so far; a draft (`is_draft`) holds
the options ticked so far in a multiple-choice question, and is never an answer.
"""


from __future__ import annotations

from typing import Any

from storage.models import (
    SurveyAnswer,
    SurveyQuestion,
)
from storage.survey_defs import END, SCALE

DRAFT = "marcadas"  # key of a draft row: the ticks of a multiple-choice question, unconfirmed


class AnswerRefused(ValueError):
    """An answer that does not fit its question; the message is Spanish, for the person."""


def is_draft(value: Any) -> bool:
    """Tell whether a stored value is a draft (unconfirmed ticks), not an answer."""
    return isinstance(value, dict)


def final_answers(rows: list[SurveyAnswer]) -> dict[int, Any]:
    return {a.question_id: a.value for a in rows if not is_draft(a.value)}


def draft_ticks(rows: list[SurveyAnswer], question: SurveyQuestion | None) -> tuple[int, ...]:
    """Return the draft ticks of `question` among a response's rows (valid indices only)."""
    if question is None or question.kind != "multiple":
        return ()
    count = len(question.options or [])
    for row in rows:
        if row.question_id == question.id and is_draft(row.value):
            ticked = row.value.get(DRAFT)
            if isinstance(ticked, list):
                return tuple(sorted({i for i in ticked if isinstance(i, int) and 0 <= i < count}))
    return ()


def skip_target(question: SurveyQuestion, value: Any) -> int | None:
    """Return the position a skip rule sends this answer to (`END` = the end), or None."""
    if question.kind not in ("unica", "escala"):
        return None
    rules = question.skip_rules or {}
    target = rules.get(str(value))
    return None if target is None else int(target)


def next_question(
    questions: list[SurveyQuestion], answers: dict[int, Any]
) -> SurveyQuestion | None:
    """Return the first unanswered question on the path the answers take, or None when done."""
    by_position = {q.position: q for q in questions}
    ordered = sorted(by_position)
    index = 0
    while index < len(ordered):
        question = by_position[ordered[index]]
        if question.id not in answers:
            return question
        target = skip_target(question, answers[question.id])
        if target == END:
            return None
        if target is not None and target in by_position:
            index = ordered.index(target)
        else:
            index += 1
    return None


def answer_value(question: SurveyQuestion, raw: Any) -> Any:
    """Turn a raw answer (option index, indices, 1–5, text) into what is stored, or refuse."""
    options = list(question.options or [])
    if question.kind == "unica":
        if not isinstance(raw, int) or not 0 <= raw < len(options):
            raise AnswerRefused("Esa opción no existe.")
        return options[raw]
    if question.kind == "multiple":
        if not isinstance(raw, list | tuple) or not all(isinstance(i, int) for i in raw):
            raise AnswerRefused("Esa selección no es válida.")
        chosen = sorted(set(raw))
        if not chosen:
            raise AnswerRefused("Marque al menos una opción.")
        if any(not 0 <= i < len(options) for i in chosen):
            raise AnswerRefused("Esa opción no existe.")
        if len(chosen) > (question.max_choices or len(options)):
            raise AnswerRefused(f"Puede marcar hasta {question.max_choices} opciones.")
        return [options[i] for i in chosen]
    if question.kind == "escala":
        if not isinstance(raw, int) or raw not in SCALE:
            raise AnswerRefused("Elija un valor de 1 a 5.")
        return raw
    text = str(raw).strip() if isinstance(raw, str) else ""
    if not text:
        raise AnswerRefused("Escriba su respuesta en un mensaje de texto.")
    limit = question.max_length or 500
    if len(text) > limit:
        raise AnswerRefused(
            f"Su respuesta tiene {len(text)} caracteres; el máximo es {limit}. "
            "Escríbala más corta, por favor."
        )
    return text


def valid_ticks(question: SurveyQuestion, chosen: list[int]) -> list[int]:
    """Return valid ticks of a multiple-choice question (sorted), or refuse them."""
    options = list(question.options or [])
    ticked = sorted(set(chosen))
    if any(not isinstance(i, int) or not 0 <= i < len(options) for i in ticked):
        raise AnswerRefused("Esa opción no existe.")
    limit = question.max_choices or len(options)
    if len(ticked) > limit:
        raise AnswerRefused(f"Puede marcar hasta {limit} opciones.")
    return ticked
