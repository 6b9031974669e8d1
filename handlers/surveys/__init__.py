"""`/encuestas`: perception surveys answered one question at a time, with buttons.

Buttons are the `Survey…` actions of `handlers.callbacks`; their data (`enc:`):
`enc:l:<page>` the open surveys · `enc:i:<id>` a survey's intro
(in place) · `enc:o:<slug>` the intro as a new message (for messages sent by others, e.g.
the hearing evaluation) · `enc:s:<id>` start or continue · `enc:a:<id>:<n>:<k>` answer
question n with option k (single choice) or value k (scale) · `enc:m:<id>:<n>:<mask>:<k|ok>`
toggle option k of a multiple-choice question, or confirm it; the selection on the tapped
message travels in `mask` (so a double tap ticks once), and each tick is also kept with the
person's response as a draft (`storage.surveys.save_ticks`), so pausing, a command or coming
back later shows the question with the same ticks; «Listo» records what the tapped message
shows · `enc:p:<id>` pause · `enc:r:<id>` results.

Every answer button carries its question number; an answer for a question that is not the
current one (a double tap, an old message) is refused and changes nothing. Free-text answers
are typed: while a text question is open the flow "encuesta" (survey id and question number)
is kept in the conversation state, and `handlers.flows` hands the text here.

Consent: a named survey keeps the chat id with the answers, so it asks for the personal-data
consent before starting; an anonymous survey stores no id with the answers and starts
without it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from typing import TypeVar

from telegram import Chat, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.context import CabildoContext
from bot.formatting import clip
from handlers import results
from handlers.callbacks import (
    CallbackData,
    SurveyAnswer,
    SurveyIntro,
    SurveyList,
    SurveyOpen,
    SurveyPause,
    SurveyResultsShown,
    SurveyStart,
    SurveyTick,
    button,
    on_press,
    on_stale,
)
from handlers.flows import IDLE_NOTES, TEXT_STEPS
from handlers.privacy import ensure_consent
from handlers.screens import show
from handlers.surveys.answering import _multiple, _single, receive_text
from handlers.surveys.texts import (
    AFTER_EVENT,
    CONSENT_ACTION,
    DONE_ALREADY,
    FLOW,
    GONE,
    LIST_BUTTON,
    NOT_FOR_YOU,
    ONLY_AFTER,
    PAUSED,
)
from handlers.surveys.views import (
    _ask,
    _ids,
    _intro,
    _leave_flow,
    _not_open,
    _private_only,
    _send_results,
    _show_list,
)
from storage.models import Survey
from storage.survey_answers import position, start
from storage.surveys import event_to_wait_for, is_open, known_comunas, reaches, survey_by_slug

A = TypeVar("A", bound=CallbackData)


# --- the list and the intro -------------------------------------------------------


async def list_surveys(update: Update, context: CabildoContext) -> None:
    """List the open surveys for the person, with what they already did in each."""
    query, chat = update.callback_query, update.effective_chat
    if chat is not None and chat.type != Chat.PRIVATE:
        await _private_only(update, context)
        return
    if query is not None:
        await query.answer()
    await _show_list(update, context, 0)


async def open_survey(update: Update, context: CabildoContext, slug: str) -> bool:
    """Open a survey (deep link `/start encuesta_<slug>`); False if unknown."""
    ids, message = _ids(update), update.effective_message
    if ids is None or message is None:
        return False
    async with context.db.session() as session:
        survey = await survey_by_slug(session, slug)
    if survey is None:
        return False
    text, markup = await _intro(context, survey, ids)
    await message.reply_text(text, reply_markup=markup)
    return True


# --- starting, pausing, the results ---------------------------------------------


async def _start(update: Update, context: CabildoContext, survey: Survey) -> None:
    query, ids = update.callback_query, _ids(update)
    if query is None or ids is None:
        return
    async with context.db.session() as session:
        comunas = await known_comunas(session, telegram_id=ids[0], chat_id=ids[1])
        where = await position(session, survey=survey, chat_id=ids[1])
        event = await event_to_wait_for(session, survey=survey)
    if where.done:
        await query.answer(DONE_ALREADY.strip())
        return
    if not is_open(survey):
        await query.answer(_not_open(context, survey), show_alert=True)
        return
    if event is not None:
        await query.answer(AFTER_EVENT.format(title=clip(event.titulo, 150)), show_alert=True)
        return
    if not reaches(survey, comunas):
        await query.answer(NOT_FOR_YOU, show_alert=True)
        return
    if not survey.anonima and not await ensure_consent(update, context, CONSENT_ACTION):
        await query.answer()
        return
    await query.answer()
    if where.response is None:  # else it resumes where `where` read it
        async with context.db.session() as session:
            where = await start(session, survey=survey, telegram_id=ids[0], chat_id=ids[1],
                                tz=context.settings.tz)
    await _ask(update, context, where, edit=True)


async def _pause(update: Update, context: CabildoContext, survey: Survey) -> None:
    """Pause the survey: forget the typed step; answers and ticks stay stored."""
    query, ids = update.callback_query, _ids(update)
    if query is None or ids is None:
        return
    async with context.db.session() as session:
        where = await position(session, survey=survey, chat_id=ids[1])
    if where.done or not is_open(survey):
        # An old question's button: nothing is left to pause, so no «Continuar» either.
        await query.answer(DONE_ALREADY.strip() if where.done else _not_open(context, survey),
                           show_alert=True)
        await _leave_flow(context, ids[1], ids[0])
        with contextlib.suppress(BadRequest):  # already without buttons
            await query.edit_message_reply_markup(None)
        return
    await query.answer()
    await _leave_flow(context, ids[1], ids[0])
    markup = InlineKeyboardMarkup([[button("▶️ Continuar", SurveyStart(survey.id or 0)),
                                    button(LIST_BUTTON, SurveyList(0))]])
    await show(update, PAUSED, markup)


async def _results(update: Update, context: CabildoContext, survey: Survey) -> None:
    query, ids = update.callback_query, _ids(update)
    if query is None or ids is None:
        return
    async with context.db.session() as session:
        where = await position(session, survey=survey, chat_id=ids[1])
    if not where.done:
        await query.answer(ONLY_AFTER, show_alert=True)
        return
    await query.answer()
    await _send_results(update, context, survey)


async def _with_survey(
    update: Update, context: CabildoContext, survey_id: int,
    act: Callable[[Update, CabildoContext, Survey], Awaitable[None]],
) -> None:
    await act(update, context, await results.survey_named(context, survey_id))


def _in_private(
    act: Callable[[Update, CabildoContext, A], Awaitable[None]],
) -> Callable[[Update, CabildoContext, A], Awaitable[None]]:
    """Run a survey button in a private chat (in a group, send the person there); a survey
    or question that no longer exists gets a short notice."""

    async def run(update: Update, context: CabildoContext, action: A) -> None:
        query, chat = update.callback_query, update.effective_chat
        if query is None or _ids(update) is None:
            return
        if chat is not None and chat.type != Chat.PRIVATE:
            await _private_only(update, context)
            return
        try:
            await act(update, context, action)
        except (LookupError, ValueError):
            await gone(update, context)

    return run


async def gone(update: Update, context: CabildoContext) -> None:
    """Say, as a short notice, that the survey or question is no longer there."""
    if update.callback_query is not None:
        with contextlib.suppress(BadRequest):  # already answered: nothing more to say
            await update.callback_query.answer(GONE)


async def _list_page(update: Update, context: CabildoContext, tap: SurveyList) -> None:
    assert update.callback_query is not None
    await update.callback_query.answer()
    await _show_list(update, context, tap.page)


async def _open(update: Update, context: CabildoContext, tap: SurveyOpen) -> None:
    assert update.callback_query is not None and update.effective_chat is not None
    await update.callback_query.answer()
    if not await open_survey(update, context, tap.slug):
        await context.bot.send_message(update.effective_chat.id, GONE)


async def _show_intro(update: Update, context: CabildoContext, tap: SurveyIntro) -> None:
    survey, ids = await results.survey_named(context, tap.survey), _ids(update)
    assert update.callback_query is not None and ids is not None
    await update.callback_query.answer()
    await show(update, *await _intro(context, survey, ids))


TEXT_STEPS[FLOW] = receive_text
IDLE_NOTES[FLOW] = (
    "⏸️ La encuesta que estaba respondiendo quedó en pausa, con lo que ya respondió. "
    "Para seguirla: /encuestas"
)

HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CallbackQueryHandler(list_surveys, pattern=r"^menu:encuestas$"),
    # Every survey button answers the tap itself (a notice, or an alert in a group).
    on_press(SurveyList, _in_private(_list_page), answer=False),
    on_press(SurveyOpen, _in_private(_open), answer=False),
    on_press(SurveyIntro, _in_private(_show_intro), answer=False),
    on_press(SurveyStart, _in_private(
        lambda u, c, a: _with_survey(u, c, a.survey, _start)), answer=False),
    on_press(SurveyAnswer, _in_private(_single), answer=False),
    on_press(SurveyTick, _in_private(_multiple), answer=False),
    on_press(SurveyPause, _in_private(
        lambda u, c, a: _with_survey(u, c, a.survey, _pause)), answer=False),
    on_press(SurveyResultsShown, _in_private(
        lambda u, c, a: _with_survey(u, c, a.survey, _results)), answer=False),
    on_stale("enc", gone, answer=False),
    *results.HANDLERS,
]
