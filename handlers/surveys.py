"""`/encuestas`: perception surveys answered one question at a time, with buttons.

Callback data (`enc:`): `enc:l:<page>` the open surveys · `enc:i:<id>` a survey's intro
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
from html import escape

from telegram import Chat, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.context import CabildoContext
from bot.formatting import clip, local_datetime, plural
from handlers import results
from handlers.flows import IDLE_NOTES, TEXT_STEPS
from handlers.paging import callback, nav_row, paginate
from handlers.photos import send_png
from handlers.privacy import ensure_consent
from handlers.screens import show
from storage.conversations import FlowState, clear_state, get_state, set_state, touch_state
from storage.models import Survey, SurveyQuestion
from storage.surveys import (
    AnswerRefused,
    Position,
    Recorded,
    event_to_wait_for,
    is_open,
    known_comunas,
    position,
    reaches,
    record_answer,
    save_ticks,
    start_response,
    survey_by_slug,
    survey_results,
    surveys_for,
)
from storage.text import fold_words
from storage.types import utcnow

FLOW = "encuesta"
PER_PAGE = 8
LIST = (
    "📝 <b>Encuestas abiertas</b>\nElija una para responderla. Al terminar verá los "
    "resultados, cuando haya al menos {minimum}."
)
NONE_OPEN = (
    "📝 No hay encuestas abiertas en este momento. Para saber cuándo abre una, active "
    "«📝 Encuestas» en /alertas."
)
STATE_ICON = {"nueva": "🆕", "en_curso": "▶️", "respondida": "✅"}
STATE_NOTE = {"nueva": "", "en_curso": " (continuar)", "respondida": " (ya respondida)"}
INTRO = "📝 <b>{title}</b>\n{description}\n{count} preguntas. {privacy}{closes}"
ANONYMOUS = "Es anónima: sus respuestas no quedan ligadas a su cuenta."
NAMED = (
    "Sus respuestas quedan ligadas a su cuenta de Telegram; puede verlas y borrar ese "
    "vínculo con /mis_datos y /borrar_datos."
)
CLOSES = "\nRecibe respuestas hasta el {when}"  # + a full stop: `_stop`
DONE_ALREADY = "\n\n✅ Ya respondió esta encuesta. ¡Gracias!"
IN_PROGRESS = "\n\n▶️ Ya empezó esta encuesta: puede continuar donde iba."
CLOSED = "Esta encuesta ya no recibe respuestas."
NOT_YET = "Esta encuesta empieza a recibir respuestas el {when}"  # + `_stop`
NOT_FOR_YOU = "Esta encuesta es para otra comuna."
AFTER_EVENT = "Esta encuesta se abre cuando termine «{title}»."
GONE = "Esa encuesta ya no está disponible."
STALE = "Esa pregunta ya quedó respondida."
CONSENT_ACTION = "responder esta encuesta"
QUESTION = "📝 <b>{title}</b> · pregunta {number} de {total}\n\n{text}"
HINT_SINGLE = "Toque una opción."
HINT_SCALE = "Toque un número de 1 a 5."
HINT_SCALE_ENDS = "Toque un número: 1 es «{low}» y 5 es «{high}»."
HINT_MULTI = "Marque hasta {max} y toque «Listo»."
HINT_TEXT = "Escriba su respuesta en un mensaje (máximo {max} caracteres)."
ANSWERED = "{question}\n\n✔️ <i>{answer}</i>"
MULTI_MAX = "Puede marcar hasta {max} opciones. Quite una para marcar otra."
MULTI_EMPTY = "Marque al menos una opción."
TICKS_ELSEWHERE = (
    "Marcó opciones en otro mensaje de esta pregunta. Aquí están todas: revíselas y toque "
    "«Listo» otra vez."
)
PAUSED = (
    "⏸️ Pausé la encuesta. Sus respuestas quedan guardadas: continúe cuando quiera desde "
    "/encuestas."
)
THANKS = "✅ <b>¡Gracias!</b> Su respuesta a «{title}» quedó guardada."
ONLY_AFTER = "Los resultados se ven al terminar la encuesta."
RESULTS_HEAD = "📊 <b>Resultados hasta ahora</b> — {title}\n{completed}."
CHART_CAPTION = "📊 Resultados hasta ahora: {completed}."
TOO_FEW = (
    "📊 <b>{title}</b>\nLos resultados se mostrarán cuando haya al menos {minimum}. "
    "Por ahora hay {completed}."
)
PRIVATE_ONLY = (
    "Las encuestas se responden en un chat privado con el bot, una respuesta por persona."
)
PRIVATE_BUTTON = "📝 Abrir las encuestas en privado"
LIST_BUTTON = "⬅️ Encuestas"
PAUSE_BUTTON = "⏸️ Pausar"
DONE_BUTTON = "Listo ▶️"
TAP_PLEASE = (
    "Está respondiendo una encuesta: toque una de las opciones, o «⏸️ Pausar» para hacer "
    "otra cosa."
)
BUTTON_KINDS = ("unica", "escala", "multiple")


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


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
    back = [_button("🏠 Menú", "menu:inicio")]
    if not statuses:
        await show(update, NONE_OPEN, InlineKeyboardMarkup([back]))
        return
    page = paginate(statuses, page_no, PER_PAGE)
    rows = [[_button(f"{STATE_ICON[s.state]} {clip(s.survey.titulo, 50)}{STATE_NOTE[s.state]}",
                     callback("enc", "i", s.survey.id))] for s in page.items]
    nav = nav_row(page, "enc", "l")  # type: ignore[arg-type]
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
        rows.append([_button("📊 Ver resultados", callback("enc", "r", survey.id))])
    elif not is_open(survey):
        text += "\n\n" + _not_open(context, survey)
    elif not reaches(survey, comunas):
        text += "\n\n" + NOT_FOR_YOU
    elif where.response is not None:
        text += IN_PROGRESS
        rows.append([_button("▶️ Continuar", callback("enc", "s", survey.id))])
    else:
        rows.append([_button("▶️ Empezar", callback("enc", "s", survey.id))])
    rows.append([_button(LIST_BUTTON, "enc:l:0")])
    return text, InlineKeyboardMarkup(rows)


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


# --- asking -----------------------------------------------------------------------


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
    sid, pos = survey.id, question.position
    rows: list[list[InlineKeyboardButton]] = []
    if question.kind == "unica":
        hint = HINT_SINGLE
        rows = [[_button(o, callback("enc", "a", sid, pos, i))] for i, o in enumerate(options)]
    elif question.kind == "escala":
        hint = (HINT_SCALE_ENDS.format(low=escape(options[0]), high=escape(options[1]))
                if len(options) == 2 else HINT_SCALE)
        rows = [[_button(str(v), callback("enc", "a", sid, pos, v)) for v in range(1, 6)]]
    elif question.kind == "multiple":
        hint = HINT_MULTI.format(max=question.max_choices or len(options))
        rows = [[_button(("✅ " if mask >> i & 1 else "▫️ ") + o,
                         callback("enc", "m", sid, pos, mask, i))]
                for i, o in enumerate(options)]
        chosen = bin(mask).count("1")
        rows.append([_button(f"{DONE_BUTTON} ({chosen}/{question.max_choices or len(options)})",
                             callback("enc", "m", sid, pos, mask, "ok"))])
    else:
        hint = HINT_TEXT.format(max=question.max_length or 500)
    rows.append([_button(PAUSE_BUTTON, callback("enc", "p", sid))])
    return f"{text}\n\n<i>{hint}</i>", InlineKeyboardMarkup(rows)


async def _ask(
    update: Update, context: CabildoContext, where: Position, *, edit: bool
) -> None:
    """Show the current question (or the end), keeping the text flow state in step."""
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
    back = InlineKeyboardMarkup([[_button(LIST_BUTTON, "enc:l:0"),
                                  _button("🏠 Menú", "menu:inicio")]])
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
    async with context.db.session() as session:
        await start_response(session, survey=survey, telegram_id=ids[0], chat_id=ids[1],
                             tz=context.settings.tz)
        where = await position(session, survey=survey, chat_id=ids[1])
    await _ask(update, context, where, edit=True)


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
    await query.answer()
    asked = _question_text(where.survey, question, where.total)
    answer = _shown(recorded.value)
    await show(update, ANSWERED.format(question=asked, answer=escape(answer)), None)
    await _ask(update, context, where, edit=False)


def _shown(value: object) -> str:
    """Return a stored answer as the person chose it."""
    if isinstance(value, list):
        return "; ".join(str(v) for v in value)
    return str(value)


async def _answer(
    update: Update, context: CabildoContext, survey: Survey, number: int, raw: object,
    kinds: tuple[str, ...],
) -> None:
    """Record a button answer to question `number` (one session) and show what follows."""
    query, ids = update.callback_query, _ids(update)
    if query is None or ids is None:
        return
    try:
        async with context.db.session() as session:
            recorded = await record_answer(session, survey=survey, chat_id=ids[1],
                                           position_number=number, raw=raw, kinds=kinds,
                                           tz=context.settings.tz)
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


async def _single(update: Update, context: CabildoContext, survey: Survey, args: list[str]) -> None:
    if len(args) != 2 or not all(a.isdigit() for a in args):
        raise LookupError(args)
    await _answer(update, context, survey, int(args[0]), int(args[1]), ("unica", "escala"))


async def _multiple(
    update: Update, context: CabildoContext, survey: Survey, args: list[str]
) -> None:
    query, ids = update.callback_query, _ids(update)
    if query is None or ids is None or len(args) != 3 or not all(a.isdigit() for a in args[:2]):
        raise LookupError(args)
    number, mask, action = int(args[0]), int(args[1]), args[2]
    where = await _current(context, survey, ids[1], number)
    question = where.question if where is not None else None
    if where is None or question is None or question.kind != "multiple":
        await query.answer(STALE)
        return
    options = list(question.options or [])
    limit = question.max_choices or len(options)
    if mask >= 1 << len(options) or bin(mask).count("1") > limit:
        raise LookupError(args)
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
        await _answer(update, context, survey, number, sorted(stored), ("multiple",))
        return
    if not action.isdigit() or int(action) >= len(options):
        raise LookupError(args)
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
                                 chosen=ticked)
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
    markup = InlineKeyboardMarkup([[_button("▶️ Continuar", callback("enc", "s", survey.id)),
                                    _button(LIST_BUTTON, "enc:l:0")]])
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


async def on_button(update: Update, context: CabildoContext) -> None:
    """Handle the survey buttons: list, intro, start, answers, pause, results."""
    query, ids = update.callback_query, _ids(update)
    if query is None or ids is None:
        return
    chat = update.effective_chat
    if chat is not None and chat.type != Chat.PRIVATE:
        await _private_only(update, context)
        return
    parts = (query.data or "").split(":")[1:]
    action, args = (parts[0], parts[1:]) if parts else ("", [])
    try:
        if action == "l" and len(args) == 1 and args[0].isdigit():
            await query.answer()
            await _show_list(update, context, int(args[0]))
            return
        if action == "o" and len(args) == 1:
            await query.answer()
            if not await open_survey(update, context, args[0]):
                await context.bot.send_message(ids[1], GONE)
            return
        if not args or not args[0].isdigit():
            raise LookupError(parts)
        async with context.db.session() as session:
            survey = await session.get(Survey, int(args[0]))
        if survey is None:
            raise LookupError(parts)
        rest = args[1:]
        if action == "i" and not rest:
            await query.answer()
            text, markup = await _intro(context, survey, ids)
            await show(update, text, markup)
        elif action == "s" and not rest:
            await _start(update, context, survey)
        elif action == "a":
            await _single(update, context, survey, rest)
        elif action == "m":
            await _multiple(update, context, survey, rest)
        elif action == "p" and not rest:
            await _pause(update, context, survey)
        elif action == "r" and not rest:
            await _results(update, context, survey)
        else:
            raise LookupError(parts)
    except (LookupError, ValueError):
        with contextlib.suppress(BadRequest):  # already answered: nothing more to say
            await query.answer(GONE)


async def receive_text(update: Update, context: CabildoContext, state: FlowState) -> None:
    """Take a typed answer to the open free-text question of a survey."""
    message, ids = update.effective_message, _ids(update)
    if message is None or message.text is None or ids is None:
        return
    survey_id, number = state.data.get("survey"), state.data.get("pos")
    async with context.db.session() as session:
        survey = await session.get(Survey, survey_id) if isinstance(survey_id, int) else None
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
                                           tz=context.settings.tz)
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


TEXT_STEPS[FLOW] = receive_text
IDLE_NOTES[FLOW] = (
    "⏸️ La encuesta que estaba respondiendo quedó en pausa, con lo que ya respondió. "
    "Para seguirla: /encuestas"
)

HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CommandHandler("encuestas", list_surveys),
    CallbackQueryHandler(list_surveys, pattern=r"^menu:encuestas$"),
    CallbackQueryHandler(on_button, pattern=r"^enc:"),
    *results.HANDLERS,
]
