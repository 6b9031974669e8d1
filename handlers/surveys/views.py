"""What a person sees of a survey: the list, the intro, each question with its buttons (the
typed step kept in step with it), and the results at the end."""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import CabildoContext
from bot.formatting import clip, local_datetime, plural
from handlers import results
from handlers.callbacks import (
    SurveyAnswer,
    SurveyIntro,
    SurveyList,
    SurveyPause,
    SurveyResultsShown,
    SurveyStart,
    SurveyTick,
    button,
)
from handlers.paging import page_row, paginate
from handlers.photos import send_png
from handlers.screens import show
from handlers.surveys.texts import (
    ANONYMOUS,
    CHART_CAPTION,
    CLOSED,
    CLOSES,
    DONE_ALREADY,
    DONE_BUTTON,
    FLOW,
    GONE,
    HINT_MULTI,
    HINT_SCALE,
    HINT_SCALE_ENDS,
    HINT_SINGLE,
    HINT_TEXT,
    IN_PROGRESS,
    INTRO,
    LIST,
    LIST_BUTTON,
    NAMED,
    NONE_OPEN,
    NOT_FOR_YOU,
    NOT_YET,
    PAUSE_BUTTON,
    PER_PAGE,
    PRIVATE_BUTTON,
    PRIVATE_ONLY,
    QUESTION,
    RESULTS_HEAD,
    STATE_ICON,
    STATE_NOTE,
    TAP_PLEASE,
    THANKS,
    TOO_FEW,
)
from storage.conversations import FlowState, clear_state, get_state, set_state
from storage.models import Survey, SurveyQuestion
from storage.survey_answers import Position, position
from storage.survey_results import survey_results
from storage.surveys import is_open, known_comunas, reaches, surveys_for
from storage.types import utcnow


def _ids(update: Update) -> tuple[int, int] | None:
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return None
    return user.id, chat.id


async def _leave_flow(context: CabildoContext, chat_id: int, user_id: int) -> None:
    """Forget a pending free-text question of a survey, leaving other flows alone."""
    async with context.db.session() as session:
        state = await get_state(session, chat_id=chat_id, user_id=user_id)
        if state is not None and state.flow == FLOW:
            await clear_state(session, chat_id=chat_id, user_id=user_id)


def _not_open(context: CabildoContext, survey: Survey) -> str:
    """Say why a survey takes no answers now: it opens later, or it closed."""
    if survey.abre is not None and utcnow() < survey.abre:
        when = local_datetime(survey.abre, context.settings.tz, context.settings.locale)
        return _stop(NOT_YET.format(when=when))
    return CLOSED


def _stop(sentence: str) -> str:
    """End a sentence with one full stop: a time may already end in «a. m.»."""
    return sentence if sentence.endswith(".") else f"{sentence}."


async def _private_only(update: Update, context: CabildoContext) -> None:
    """Send people in a group to their private chat: one response per person."""
    query, message = update.callback_query, update.effective_message
    if query is not None:
        await query.answer(PRIVATE_ONLY, show_alert=True)
    elif message is not None:
        link = f"https://t.me/{context.bot.username}"
        await message.reply_text(PRIVATE_ONLY, reply_markup=InlineKeyboardMarkup(
            [[InlineKeyboardButton(PRIVATE_BUTTON, url=link)]]
        ))


async def _show_list(update: Update, context: CabildoContext, page_no: int) -> None:
    ids = _ids(update)
    if ids is None:
        return
    async with context.db.session() as session:
        statuses = await surveys_for(session, telegram_id=ids[0], chat_id=ids[1])
    back = [button("🏠 Menú", "menu:inicio")]
    if not statuses:
        await show(update, NONE_OPEN, InlineKeyboardMarkup([back]))
        return
    page = paginate(statuses, page_no, PER_PAGE)
    rows = [[button(f"{STATE_ICON[s.state]} {clip(s.survey.titulo, 50)}{STATE_NOTE[s.state]}",
                     SurveyIntro(s.survey.id or 0))] for s in page.items]
    nav = page_row(page, SurveyList)
    minimum = plural(context.settings.survey_min_responses, "respuesta", "respuestas")
    text = LIST.format(minimum=minimum) + (f"\n{page.label}" if page.count > 1 else "")
    await show(update, text, InlineKeyboardMarkup([*rows, *([nav] if nav else []),
                                                            back]))


async def _intro(
    context: CabildoContext, survey: Survey, ids: tuple[int, int]
) -> tuple[str, InlineKeyboardMarkup]:
    async with context.db.session() as session:
        where = await position(session, survey=survey, chat_id=ids[1])
        comunas = await known_comunas(session, telegram_id=ids[0], chat_id=ids[1])
    closes = ""
    if survey.cierra is not None:
        closes = _stop(CLOSES.format(
            when=local_datetime(survey.cierra, context.settings.tz, context.settings.locale)
        ))
    text = INTRO.format(
        title=escape(survey.titulo),
        description=f"{escape(survey.descripcion)}\n" if survey.descripcion else "",
        count=where.total, privacy=ANONYMOUS if survey.anonima else NAMED, closes=closes,
    )
    rows: list[list[InlineKeyboardButton]] = []
    if where.done:
        text += DONE_ALREADY
        rows.append([button("📊 Ver resultados", SurveyResultsShown(survey.id or 0))])
    elif not is_open(survey):
        text += "\n\n" + _not_open(context, survey)
    elif not reaches(survey, comunas):
        text += "\n\n" + NOT_FOR_YOU
    elif where.response is not None:
        text += IN_PROGRESS
        rows.append([button("▶️ Continuar", SurveyStart(survey.id or 0))])
    else:
        rows.append([button("▶️ Empezar", SurveyStart(survey.id or 0))])
    rows.append([button(LIST_BUTTON, SurveyList(0))])
    return text, InlineKeyboardMarkup(rows)


def _question_text(survey: Survey, question: SurveyQuestion, total: int) -> str:
    return QUESTION.format(title=escape(survey.titulo), number=question.position, total=total,
                           text=escape(question.text))


def _mask(ticked: tuple[int, ...]) -> int:
    """Return the bit mask of the ticked option indices."""
    return sum(1 << i for i in set(ticked))


def _question_view(
    survey: Survey, question: SurveyQuestion, total: int, mask: int = 0
) -> tuple[str, InlineKeyboardMarkup]:
    text = _question_text(survey, question, total)
    options = list(question.options or [])
    sid, pos = survey.id or 0, question.position
    rows: list[list[InlineKeyboardButton]] = []
    if question.kind == "unica":
        hint = HINT_SINGLE
        rows = [[button(o, SurveyAnswer(sid, pos, i))] for i, o in enumerate(options)]
    elif question.kind == "escala":
        hint = (HINT_SCALE_ENDS.format(low=escape(options[0]), high=escape(options[1]))
                if len(options) == 2 else HINT_SCALE)
        rows = [[button(str(v), SurveyAnswer(sid, pos, v)) for v in range(1, 6)]]
    elif question.kind == "multiple":
        hint = HINT_MULTI.format(max=question.max_choices or len(options))
        rows = [[button(("✅ " if mask >> i & 1 else "▫️ ") + o,
                         SurveyTick(sid, pos, mask, str(i)))]
                for i, o in enumerate(options)]
        chosen = bin(mask).count("1")
        rows.append([button(f"{DONE_BUTTON} ({chosen}/{question.max_choices or len(options)})",
                             SurveyTick(sid, pos, mask, "ok"))])
    else:
        hint = HINT_TEXT.format(max=question.max_length or 500)
    rows.append([button(PAUSE_BUTTON, SurveyPause(sid))])
    return f"{text}\n\n<i>{hint}</i>", InlineKeyboardMarkup(rows)


async def _keep_step(update: Update, context: CabildoContext, where: Position) -> None:
    """Keep the text flow state in step with the current question (none at the end)."""
    ids, chat = _ids(update), update.effective_chat
    if ids is None or chat is None:
        return
    question = where.question
    if question is not None:
        # Every question keeps the step (its kind), so typed text reaches the survey: the
        # answer to a text question, or an option typed instead of tapped.
        state = FlowState(FLOW, question.kind,
                          {"survey": where.survey.id, "pos": question.position})
        async with context.db.session() as session:
            await set_state(session, chat_id=chat.id, user_id=ids[0], state=state)
    else:
        await _leave_flow(context, chat.id, ids[0])


async def _ask(
    update: Update, context: CabildoContext, where: Position, *, edit: bool,
    step_kept: bool = False,
) -> None:
    """Show the current question (or the end), keeping the text flow state in step
    (`step_kept`: the caller did, in the transaction that recorded the answer)."""
    ids, chat = _ids(update), update.effective_chat
    if ids is None or chat is None:
        return
    question = where.question
    if not step_kept:
        await _keep_step(update, context, where)
    if question is None:
        await _finish(update, context, where.survey)
        return
    text, markup = _question_view(where.survey, question, where.total, _mask(where.ticked))
    if edit and update.callback_query is not None:
        await show(update, text, markup)
    else:
        await context.bot.send_message(chat.id, text, reply_markup=markup)


async def _finish(update: Update, context: CabildoContext, survey: Survey) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    await context.bot.send_message(chat.id, THANKS.format(title=escape(survey.titulo)))
    await _send_results(update, context, survey)


async def _send_results(update: Update, context: CabildoContext, survey: Survey) -> None:
    chat = update.effective_chat
    if chat is None:
        return
    async with context.db.session() as session:
        found = await survey_results(session, survey=survey)
    completed = plural(found.completed, "respuesta completa", "respuestas completas")
    back = InlineKeyboardMarkup([[button(LIST_BUTTON, SurveyList(0)),
                                  button("🏠 Menú", "menu:inicio")]])
    # Too few responses could single one person out: citizens see nothing until there are
    # enough (staff see everything in /resultados).
    minimum = context.settings.survey_min_responses
    if found.completed < minimum:
        await context.bot.send_message(chat.id, TOO_FEW.format(
            title=escape(survey.titulo), minimum=plural(minimum, "respuesta", "respuestas"),
            completed=completed,
        ), reply_markup=back)
        return
    head = RESULTS_HEAD.format(title=escape(survey.titulo), completed=completed)
    blocks = results.results_lines(found, context.settings.locale, counts=False,
                                   minimum=minimum)
    messages = results.chunks(head, blocks)
    chart = await results.results_chart(found, minimum=minimum)
    if chart is not None:
        await send_png(context, chat.id, chart,
                       caption=CHART_CAPTION.format(completed=completed))
    await results.send_chunks(context, chat.id, messages, back)


def _shown(value: object) -> str:
    """Return a stored answer as the person chose it."""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


async def _remind(update: Update, where: Position) -> None:
    """Say the survey is waiting for a tap, and show the question again with its buttons."""
    message, question = update.effective_message, where.question
    if message is None:
        return
    if question is None:
        await message.reply_text(GONE)
        return
    text, markup = _question_view(where.survey, question, where.total, _mask(where.ticked))
    await message.reply_text(f"{TAP_PLEASE}\n\n{text}", reply_markup=markup)
