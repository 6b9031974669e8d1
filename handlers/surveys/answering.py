"""Recording answers: a tapped option or scale value, the ticks of a multiple choice and its
«Listo», and a typed answer (text, or an option typed instead of tapped)."""

from __future__ import annotations

import contextlib
from html import escape

from telegram import Update
from telegram.error import BadRequest

from bot.context import CabildoContext
from handlers import results
from handlers.callbacks import SurveyAnswer, SurveyTick
from handlers.screens import show
from handlers.surveys.texts import (
    ANSWERED,
    BUTTON_KINDS,
    FLOW,
    GONE,
    MULTI_EMPTY,
    MULTI_MAX,
    STALE,
    TICKS_ELSEWHERE,
)
from handlers.surveys.views import (
    _ask,
    _ids,
    _keep_step,
    _not_open,
    _question_text,
    _question_view,
    _remind,
    _shown,
)
from storage.conversations import FlowState, clear_state, touch_state
from storage.models import Survey, SurveyQuestion
from storage.survey_answers import Position, Recorded, position, record_answer, save_ticks
from storage.survey_rules import AnswerRefused
from storage.surveys import is_open, survey_by_id
from storage.text import fold_words


async def _after_record(
    update: Update, context: CabildoContext, survey: Survey, recorded: Recorded
) -> None:
    """Answer the outcome of a button answer: confirm it and ask the next, or refuse."""
    query = update.callback_query
    if query is None:
        return
    if recorded.status == "closed":
        await query.answer(_not_open(context, survey), show_alert=True)
        return
    question, where = recorded.question, recorded.position
    if recorded.status != "ok" or where is None or question is None:
        await query.answer(STALE)
        return
    await _keep_step(update, context, where)  # committed with the answer, before any call
    await query.answer()
    asked = _question_text(where.survey, question, where.total)
    answer = _shown(recorded.value)
    await show(update, ANSWERED.format(question=asked, answer=escape(answer)), None)
    await _ask(update, context, where, edit=False, step_kept=True)


async def _answer(
    update: Update, context: CabildoContext, survey: Survey, number: int, raw: object,
    kinds: tuple[str, ...], where: Position | None = None,
) -> None:
    """Record a button answer to question `number` (one session) and show what follows;
    `where`: the person's position, if this update read it already."""
    query, ids = update.callback_query, _ids(update)
    if query is None or ids is None:
        return
    try:
        async with context.db.session() as session:
            recorded = await record_answer(session, survey=survey, chat_id=ids[1],
                                           position_number=number, raw=raw, kinds=kinds,
                                           tz=context.settings.tz, where=where)
    except AnswerRefused as exc:
        await query.answer(str(exc), show_alert=True)
        return
    await _after_record(update, context, survey, recorded)


async def _current(
    context: CabildoContext, survey: Survey, chat_id: int, number: int
) -> Position | None:
    """Return where the person is if question `number` is their current one."""
    async with context.db.session() as session:
        where = await position(session, survey=survey, chat_id=chat_id)
    if where.response is None or where.question is None or where.question.position != number:
        return None
    return where


async def _single(update: Update, context: CabildoContext, tap: SurveyAnswer) -> None:
    survey = await results.survey_named(context, tap.survey)
    await _answer(update, context, survey, tap.number, tap.value, ("unica", "escala"))


async def _multiple(update: Update, context: CabildoContext, tap: SurveyTick) -> None:
    query, ids = update.callback_query, _ids(update)
    if query is None or ids is None:
        return
    survey = await results.survey_named(context, tap.survey)
    number, mask, action = tap.number, tap.mask, tap.option
    where = await _current(context, survey, ids[1], number)
    question = where.question if where is not None else None
    if where is None or question is None or question.kind != "multiple":
        await query.answer(STALE)
        return
    options = list(question.options or [])
    limit = question.max_choices or len(options)
    if mask >= 1 << len(options) or bin(mask).count("1") > limit:
        raise LookupError(tap)
    shown = [i for i in range(len(options)) if mask >> i & 1]
    # The stored draft is the truth: the question may be on screen twice (the bot repeats it
    # when the person types), and a tap on the older copy must not undo the newer one's
    # ticks. The tapped copy says what the person wants for that one option, so a double
    # tap on the same copy still changes it once.
    stored = [i for i in where.ticked if i < len(options)] or shown
    if action == "ok":
        if not stored:
            await query.answer(MULTI_EMPTY, show_alert=True)
            return
        if sorted(stored) != shown:  # this copy shows other ticks: show them, don't record
            await query.answer(TICKS_ELSEWHERE, show_alert=True)
            _, markup = _question_view(survey, question, where.total,
                                       sum(1 << i for i in stored))
            with contextlib.suppress(BadRequest):
                await query.edit_message_reply_markup(markup)
            return
        await _answer(update, context, survey, number, sorted(stored), ("multiple",), where)
        return
    if not action.isdigit() or int(action) >= len(options):
        raise LookupError(tap)
    if not is_open(survey):
        await query.answer(_not_open(context, survey), show_alert=True)
        return
    option = int(action)
    wanted = not mask >> option & 1
    ticked = sorted({*stored, option} if wanted else set(stored) - {option})
    if len(ticked) > limit:
        await query.answer(MULTI_MAX.format(max=limit), show_alert=True)
        return
    new_mask = sum(1 << i for i in ticked)
    async with context.db.session() as session:
        saved = await save_ticks(session, survey=survey, chat_id=ids[1], position_number=number,
                                 chosen=ticked, where=where)
        if saved == "ok":  # ticking is answering: the typed step's idle clock starts again
            await touch_state(session, chat_id=ids[1], user_id=ids[0], flow=FLOW)
    if saved == "closed":
        await query.answer(_not_open(context, survey), show_alert=True)
        return
    if saved != "ok":
        await query.answer(STALE)
        return
    await query.answer()
    _, markup = _question_view(survey, question, where.total, new_mask)
    with contextlib.suppress(BadRequest):  # a double tap: the keyboard already shows it
        await query.edit_message_reply_markup(markup)


async def receive_text(update: Update, context: CabildoContext, state: FlowState) -> None:
    """Take a typed answer to the open free-text question of a survey."""
    message, ids = update.effective_message, _ids(update)
    if message is None or message.text is None or ids is None:
        return
    survey_id, number = state.data.get("survey"), state.data.get("pos")
    async with context.db.session() as session:
        survey = await survey_by_id(session, survey_id) if isinstance(survey_id, int) else None
    if survey is None or not isinstance(number, int):
        async with context.db.session() as session:
            await clear_state(session, chat_id=ids[1], user_id=ids[0])
        await message.reply_text(GONE)
        return
    if not is_open(survey):  # closed while the person was answering
        async with context.db.session() as session:
            await clear_state(session, chat_id=ids[1], user_id=ids[0])
        await message.reply_text(_not_open(context, survey))
        return
    raw: object = message.text
    kinds: tuple[str, ...] = ("texto",)
    where: Position | None = None
    if state.step in BUTTON_KINDS:
        async with context.db.session() as session:
            where = await position(session, survey=survey, chat_id=ids[1])
        question = where.question
        typed = _typed_option(question, message.text) if question is not None else None
        if question is None or question.position != number or typed is None:
            await _remind(update, where)
            return
        raw, kinds = typed, (question.kind,)
    try:
        async with context.db.session() as session:
            recorded = await record_answer(session, survey=survey, chat_id=ids[1],
                                           position_number=number, raw=raw, kinds=kinds,
                                           tz=context.settings.tz, where=where)
    except AnswerRefused as exc:
        await message.reply_text(escape(str(exc)))
        return
    if recorded.status == "closed":
        async with context.db.session() as session:
            await clear_state(session, chat_id=ids[1], user_id=ids[0])
        await message.reply_text(_not_open(context, survey))
        return
    if recorded.status != "ok" or recorded.position is None:
        await message.reply_text(STALE)
        async with context.db.session() as session:
            where = await position(session, survey=survey, chat_id=ids[1])
        if where.response is not None and not where.done:
            await _ask(update, context, where, edit=False)
        else:
            async with context.db.session() as session:
                await clear_state(session, chat_id=ids[1], user_id=ids[0])
        return
    await _ask(update, context, recorded.position, edit=False)


def _typed_option(question: SurveyQuestion, text: str) -> int | None:
    """Return the answer a typed text gives to a single-choice or scale question, or None.

    «Sí», «si», «SÍ.» pick the option of that name; «4» a scale's value. Multiple choice
    needs the buttons (several options and «Listo»).
    """
    typed = fold_words(text)  # case, accents and punctuation aside: «Sí.» is «si»
    if question.kind == "escala":
        return int(typed) if typed.isdigit() and int(typed) in range(1, 6) else None
    if question.kind == "unica":
        options = [fold_words(o) for o in question.options or []]
        return options.index(typed) if typed in options else None
    return None
