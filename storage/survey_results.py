"""Survey results and exports: totals over completed responses, and the answers as a sheet.

Anonymous responses are exported with the local day only (`storage.survey_answers.shown_day`).
"""


from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.exports import column_title, to_xlsx
from storage.models import (
    Comuna,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
)
from storage.survey_answers import shown_day
from storage.survey_defs import SCALE
from storage.survey_rules import is_draft
from storage.surveys import questions_of

MULTI_SEPARATOR = "; "  # between the options of a multiple-choice answer in the export


async def _completed_answers(
    session: AsyncSession, survey_id: int
) -> list[tuple[int, int, Any]]:
    rows = (await session.exec(
        select(SurveyAnswer.response_id, SurveyAnswer.question_id, SurveyAnswer.value)
        .join(SurveyResponse, col(SurveyResponse.id) == col(SurveyAnswer.response_id))
        .where(SurveyResponse.survey_id == survey_id,
               col(SurveyResponse.completed_at).is_not(None))
    )).all()
    return [(r, q, v) for r, q, v in rows if not is_draft(v)]


async def response_counts(session: AsyncSession, *, survey_id: int) -> tuple[int, int]:
    """Return (completed, in progress) responses of a survey."""
    rows = (await session.exec(
        select(col(SurveyResponse.completed_at).is_not(None), func.count())
        .where(SurveyResponse.survey_id == survey_id)
        .group_by(col(SurveyResponse.completed_at).is_not(None))
    )).all()
    counts = {bool(done): int(n) for done, n in rows}
    return counts.get(True, 0), counts.get(False, 0)


@dataclass(frozen=True)
class QuestionResult:
    """Totals of one question over completed responses."""

    question: SurveyQuestion
    answered: int
    counts: list[tuple[str, int]]  # option (or scale value) → count; empty for text
    average: float | None = None  # scale questions

    def percent(self, count: int) -> float:
        """Return `count` as a percentage of the people who answered this question."""
        return 100.0 * count / self.answered if self.answered else 0.0


@dataclass(frozen=True)
class SurveyResults:
    """A survey's results: completed and in-progress responses and each question's totals."""

    survey: Survey
    completed: int
    in_progress: int
    questions: list[QuestionResult]


async def survey_results(session: AsyncSession, *, survey: Survey) -> SurveyResults:
    """Return counts and percentages per question over completed responses."""
    questions = await questions_of(session, survey_id=survey.id or 0)
    per_question: dict[int, list[Any]] = {q.id or 0: [] for q in questions}
    for _, question_id, value in await _completed_answers(session, survey.id or 0):
        per_question.setdefault(question_id, []).append(value)
    completed, in_progress = await response_counts(session, survey_id=survey.id or 0)
    results = []
    for question in questions:
        values = per_question.get(question.id or 0, [])
        tally: Counter[str] = Counter()
        average = None
        if question.kind == "unica":
            tally.update(str(v) for v in values)
            labels = list(question.options or [])
        elif question.kind == "multiple":
            for chosen in values:
                tally.update(str(v) for v in chosen or [])
            labels = list(question.options or [])
        elif question.kind == "escala":
            tally.update(str(v) for v in values)
            labels = [str(v) for v in SCALE]
            numbers = [int(v) for v in values]
            average = sum(numbers) / len(numbers) if numbers else None
        else:
            labels = []
        counts = [(label, tally.get(label, 0)) for label in labels]
        results.append(QuestionResult(question, len(values), counts, average))
    return SurveyResults(survey, completed, in_progress, results)


def _cell(value: Any) -> Any:
    if isinstance(value, list):
        return MULTI_SEPARATOR.join(str(v) for v in value)
    return value


async def export_rows(
    session: AsyncSession, *, survey: Survey, tz: ZoneInfo
) -> tuple[list[str], list[list[Any]]]:
    """Return a header and one row per response (one column per question), oldest first.

    Anonymous surveys get no chat column and dates only; multiple choices are joined
    with "; "; unanswered (skipped or pending) questions are empty.
    """
    questions = await questions_of(session, survey_id=survey.id or 0)
    responses = (await session.exec(
        select(SurveyResponse).where(SurveyResponse.survey_id == survey.id)
        .order_by(col(SurveyResponse.id))
    )).all()
    comunas = {c.id: c.codigo for c in (await session.exec(select(Comuna))).all()}
    answers: dict[int, dict[int, Any]] = {}
    for response_id, question_id, value in (await session.exec(
        select(SurveyAnswer.response_id, SurveyAnswer.question_id, SurveyAnswer.value)
        .join(SurveyResponse, col(SurveyResponse.id) == col(SurveyAnswer.response_id))
        .where(SurveyResponse.survey_id == survey.id)
    )).all():
        if not is_draft(value):
            answers.setdefault(response_id, {})[question_id] = value
    header = ["respuesta", "estado", "inicio", "fin"]
    if not survey.anonima:
        header.append("chat_id")
    header.append("comuna")
    header += [f"P{q.position}. {column_title(q.text)}" for q in questions]
    def when(moment: datetime | None) -> str:
        if moment is None:
            return ""
        if survey.anonima:
            return shown_day(moment, tz)
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")

    rows: list[list[Any]] = []
    for r in responses:
        row: list[Any] = [
            r.id, "completa" if r.completed_at else "en curso",
            when(r.started_at), when(r.completed_at),
        ]
        if not survey.anonima:
            row.append(r.chat_id)
        row.append(comunas.get(r.comuna_id, "") if r.comuna_id else "")
        given = answers.get(r.id or 0, {})
        row += [_cell(given.get(q.id or 0)) for q in questions]
        rows.append(row)
    return header, rows


async def surveys_with_counts(session: AsyncSession) -> list[tuple[Survey, int, int]]:
    """Return every survey with its completed and in-progress response counts, newest first."""
    surveys = (await session.exec(select(Survey).order_by(col(Survey.id).desc()))).all()
    result = []
    for survey in surveys:
        completed, in_progress = await response_counts(session, survey_id=survey.id or 0)
        result.append((survey, completed, in_progress))
    return result


def export_xlsx(header: list[str], rows: list[list[Any]], *, title: str) -> bytes:
    """Return the export as an XLSX workbook; text that looks like a formula stays text."""
    return to_xlsx(header, rows, title=title or "encuesta")
