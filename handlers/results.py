"""`/resultados [encuesta]` (staff): survey results as text, a chart and CSV/XLSX files.

Buttons (`handlers.callbacks`, `staff:res:`, let through only for staff by
`handlers.access`): `ResultsList` the surveys · `ResultsOfSurvey` one survey's results and
CSV · `ResultsXlsx` the same export as XLSX.
The text and chart builders here are shared with `handlers.surveys`, which shows citizens
the results once they answer.
"""

from __future__ import annotations

import io
from datetime import datetime
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.ext import BaseHandler

from bot.charts import Panel, percent_panels
from bot.context import CabildoContext
from bot.formatting import clip, number, percent, plural
from handlers.callbacks import (
    ResultsList,
    ResultsOfSurvey,
    ResultsXlsx,
    on_press,
    on_stale,
)
from handlers.paging import page_row, paginate
from handlers.photos import send_png
from storage.exports import to_csv
from storage.models import Survey
from storage.survey_results import (
    SurveyResults,
    export_rows,
    export_xlsx,
    survey_results,
    surveys_with_counts,
)
from storage.surveys import survey_by_id, survey_by_slug

PER_PAGE = 8
MAX_PANELS = 10
CHUNK = 3800
LIST = "📊 <b>Resultados de encuestas</b>\nElija una encuesta. {page}"
NO_SURVEYS = "Todavía no hay encuestas. Cárguelas con <code>/importar encuesta</code>."
UNKNOWN = "No encontré la encuesta «{slug}». Escriba /resultados para ver la lista."
GONE = "Esa encuesta ya no existe."
HEADER = "📊 <b>{title}</b>\n{completed} · {in_progress} en curso{anon}"
ANON = " · anónima"
SCALE_LINE = "Promedio: <b>{average}</b> de 5"
TEXT_LINE = "{count} (están en el archivo)."
CHART_CAPTION = "📊 {title}: {completed}."
FILE_CAPTION = "Una fila por respuesta y una columna por pregunta."
XLSX_BUTTON = "📥 Descargar en Excel (XLSX)"
EMPTY = "Todavía nadie ha terminado esta encuesta."
HIDDEN_FROM_CITIZENS = (
    "👁️ Los ciudadanos aún no ven estos resultados: se muestran desde {minimum}."
)
QUESTION_WAITS = "<i>Se mostrará cuando la respondan al menos {people}.</i>"


def results_lines(
    results: SurveyResults, locale: str, *, counts: bool, minimum: int = 0
) -> list[str]:
    """Return one block of text per question: percentages, and counts when asked.

    A choice or scale question answered by fewer than `minimum` people shows no figures
    (citizens' view), so a question few reached cannot single anyone out.
    """
    blocks = []
    for result in results.questions:
        q = result.question
        lines = [f"<b>{q.position}. {escape(q.text)}</b>"]
        if q.kind != "texto" and result.answered < minimum:
            lines.append(QUESTION_WAITS.format(people=plural(minimum, "persona", "personas")))
        elif q.kind == "texto":
            written = plural(result.answered, "respuesta escrita", "respuestas escritas")
            lines.append(TEXT_LINE.format(count=written) if counts else f"{written}.")
        else:
            for label, count in result.counts:
                share = percent(result.percent(count), locale)
                shown = f"{count} ({share})" if counts else share
                lines.append(f"• {escape(label)}: {shown}")
            if q.kind == "escala" and result.average is not None:
                lines.append(SCALE_LINE.format(average=number(result.average, locale)))
            if q.kind == "multiple":
                people = plural(result.answered, "persona respondió", "personas respondieron")
                lines.append(f"<i>Se podían marcar varias; {people}.</i>")
            elif counts:
                lines.append(f"<i>{plural(result.answered, 'respondió', 'respondieron')}.</i>")
        blocks.append("\n".join(lines))
    return blocks


def chunks(head: str, blocks: list[str], limit: int = CHUNK) -> list[str]:
    """Join blocks into messages under Telegram's limit, never splitting a block."""
    messages, current = [], head
    for block in blocks:
        block = block[: limit - 10]
        if len(current) + len(block) + 2 > limit:
            messages.append(current)
            current = block
        else:
            current = f"{current}\n\n{block}" if current else block
    messages.append(current)
    return messages


async def send_chunks(
    context: CabildoContext, chat_id: int, messages: list[str],
    markup: InlineKeyboardMarkup | None,
) -> None:
    """Send messages from `chunks` in order, the buttons under the last one."""
    for index, text in enumerate(messages):
        last = index == len(messages) - 1
        await context.bot.send_message(chat_id, text, reply_markup=markup if last else None)


async def results_chart(results: SurveyResults, *, minimum: int = 1) -> bytes | None:
    """Return a PNG with one panel per choice or scale question answered by `minimum`
    people or more, or None."""
    panels: list[Panel] = []
    for result in results.questions:
        if result.question.kind == "texto" or result.answered < max(minimum, 1):
            continue
        labels = [label for label, _ in result.counts]
        if result.question.kind == "escala":
            ends = list(result.question.options or [])
            if len(ends) == 2:
                labels = [f"1 · {ends[0]}", "2", "3", "4", f"5 · {ends[1]}"]
        values = [result.percent(count) for _, count in result.counts]
        title = f"{result.question.position}. {result.question.text}"
        panels.append((title, labels, values))
    if not panels:
        return None
    return await percent_panels(panels[:MAX_PANELS], title=results.survey.titulo)


def _stamp() -> str:
    return datetime.now().strftime("%Y%m%d-%H%M")


async def _send_results(update: Update, context: CabildoContext, survey: Survey) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    async with context.db.session() as session:
        results = await survey_results(session, survey=survey)
        header, rows = await export_rows(session, survey=survey, tz=context.settings.tz)
    locale = context.settings.locale
    completed = plural(results.completed, "respuesta completa", "respuestas completas")
    head = HEADER.format(title=escape(survey.titulo), completed=completed,
                         in_progress=results.in_progress, anon=ANON if survey.anonima else "")
    blocks = results_lines(results, locale, counts=True) if results.completed else [EMPTY]
    minimum = context.settings.survey_min_responses
    if results.completed < minimum:
        shown = plural(minimum, "respuesta completa", "respuestas completas")
        head += "\n" + HIDDEN_FROM_CITIZENS.format(minimum=shown)
    messages = chunks(head, blocks)
    xlsx = InlineKeyboardMarkup([[InlineKeyboardButton(
        XLSX_BUTTON, callback_data=ResultsXlsx(survey.id or 0).encode()
    )]])
    await send_chunks(context, chat.id, messages, None)
    chart = await results_chart(results) if results.completed else None
    if chart is not None:
        await send_png(
            context, chat.id, chart,
            caption=CHART_CAPTION.format(title=escape(survey.titulo[:200]), completed=completed),
        )
    # The Excel button offers the same file again: it goes under the file, last.
    await context.bot.send_document(
        chat.id,
        document=InputFile(io.BytesIO(to_csv(header, rows)),
                           filename=f"encuesta-{survey.slug}-{_stamp()}.csv"),
        caption=FILE_CAPTION, reply_markup=xlsx,
    )


async def _send_list(update: Update, context: CabildoContext, page_no: int) -> None:
    message = update.effective_message
    if message is None:
        return
    async with context.db.session() as session:
        surveys = await surveys_with_counts(session)
    if not surveys:
        await message.reply_text(NO_SURVEYS)
        return
    page = paginate(surveys, page_no, PER_PAGE)
    rows = [[InlineKeyboardButton(
        f"{clip(s.titulo, 48)} ({done})", callback_data=ResultsOfSurvey(s.id or 0).encode()
    )] for s, done, _ in page.items]
    nav = page_row(page, ResultsList)
    text = LIST.format(page=page.label if page.count > 1 else "")
    markup = InlineKeyboardMarkup([*rows, *([nav] if nav else [])])
    if update.callback_query is not None:
        await update.callback_query.edit_message_text(text, reply_markup=markup)
    else:
        await message.reply_text(text, reply_markup=markup)


async def show_results(update: Update, context: CabildoContext) -> None:
    """List the surveys, or send one survey's results, chart and CSV (`/resultados slug`)."""
    message = update.effective_message
    if message is None:
        return
    args = context.args or []
    if not args:
        await _send_list(update, context, 0)
        return
    slug = args[0][:60]
    async with context.db.session() as session:
        survey = await survey_by_slug(session, slug)
    if survey is None:
        await message.reply_text(UNKNOWN.format(slug=escape(slug)))
        return
    await _send_results(update, context, survey)


async def survey_named(context: CabildoContext, survey_id: int) -> Survey:
    """Return the survey a button names; LookupError when it no longer exists."""
    async with context.db.session() as session:
        survey = await survey_by_id(session, survey_id)
    if survey is None:
        raise LookupError(survey_id)
    return survey


async def show_survey_results(
    update: Update, context: CabildoContext, action: ResultsOfSurvey
) -> None:
    """Send one survey's results, chart and CSV."""
    await _send_results(update, context, await survey_named(context, action.survey))


async def send_xlsx(update: Update, context: CabildoContext, action: ResultsXlsx) -> None:
    """Send one survey's answers as an XLSX file."""
    chat = update.effective_chat
    survey = await survey_named(context, action.survey)
    if chat is None:
        return
    async with context.db.session() as session:
        header, rows = await export_rows(session, survey=survey, tz=context.settings.tz)
    await context.bot.send_document(
        chat.id,
        document=InputFile(io.BytesIO(export_xlsx(header, rows, title=survey.slug)),
                           filename=f"encuesta-{survey.slug}-{_stamp()}.xlsx"),
        caption=FILE_CAPTION,
    )


async def gone(update: Update, context: CabildoContext) -> None:
    """Say the survey a results button names no longer exists."""
    if update.effective_chat is not None:
        await context.bot.send_message(update.effective_chat.id, GONE)


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    on_press(ResultsList, lambda u, c, a: _send_list(u, c, a.page)),
    on_press(ResultsOfSurvey, show_survey_results, gone=gone),
    on_press(ResultsXlsx, send_xlsx, gone=gone),
    on_stale("staff:res", gone),
]
