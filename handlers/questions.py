"""`/preguntar`: citizens' questions for the hearing and the offices.

Buttons (`handlers.callbacks`, `preg:`): `QuestionNew` the topics · `QuestionTopic` start a
question on a topic · `QuestionTopicForText` file the text already given with
`/preguntar <texto>` under a topic · `QuestionContinue` offer the topics again for the text
kept in the flow (what accepting the data notice after `/preguntar <texto>` resumes) ·
`QuestionFromSearch` send the text the bot could not answer · `QuestionCancel` cancel. Asking
needs the personal-data consent, because the question is linked to the chat; the typed
question goes through `handlers.flows` (flow "preguntar"), so the state survives restarts.
A flow started over `FLOW_TTL` ago lapses, and any command or main-menu button leaves it
(`handlers.flows`): the next text then gets the ordinary free-text answer instead of
becoming a question.

One's questions and the published answers are `handlers.question_browse`; sharing and
supporting hearing questions, `handlers.question_support`; the staff's side (`/preguntas`),
`handlers.question_staff`.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import CabildoContext
from bot.formatting import local_datetime, number
from handlers.callbacks import (
    AnsweredQuestion,
    AnsweredQuestions,
    MyQuestions,
    QuestionCancel,
    QuestionContinue,
    QuestionFromSearch,
    QuestionNew,
    QuestionShare,
    QuestionSupport,
    QuestionTopic,
    QuestionTopicForText,
    SupportRanking,
    button,
    on_press,
    on_stale,
)
from handlers.flows import IDLE_NOTES, TEXT_STEPS, TOPIC_FLOW, flow_state
from handlers.privacy import ensure_consent
from handlers.question_browse import browse_answers, show_mine, view_answer
from handlers.question_common import (
    FLOW,
    GONE,
    TOPIC_NAMES,
    TOPICS,
    elsewhere,
    lapsed,
    now_text,
    save_flow,
    topic_label,
)
from handlers.question_notices import excerpt
from handlers.question_support import ranking, share_choice, support_question
from handlers.screens import show
from handlers.search import answer_question
from storage import questions as store
from storage.conversations import FlowState, get_state

INTRO = (
    "❓ <b>Preguntas a la Alcaldía</b>\n"
    "Envíe una pregunta para la audiencia pública o para una dependencia. Recibirá un número "
    "de seguimiento y le avisaré aquí cuando la respondan.\n\n¿Sobre qué tema es su pregunta?"
)
INTRO_WITH_TEXT = "❓ Su pregunta:\n<i>«{text}»</i>\n\n¿Sobre qué tema es?"
ASK_TEXT = (
    "Tema: <b>{topic}</b>.\nEscriba su pregunta en un solo mensaje "
    "(entre {min} y {max} caracteres)."
)
RECEIVED = (
    "✅ Recibimos su pregunta <b>#{id}</b> ({topic}):\n<i>«{text}»</i>\n\n"
    "Le avisaré aquí cuando la respondan. Vea sus preguntas con /mis_preguntas."
)
SHARE_ASK = (
    "\n\n¿La mostramos, sin su nombre, en «Preguntas más apoyadas», para que otras personas "
    "la apoyen y la audiencia responda primero lo que más gente quiere saber?"
)
SHARE_YES = "👍 Sí, que otros la apoyen"
SHARE_NO = "🙈 No, solo para la Alcaldía"
RATE_LIMITED = (
    "Ya envió {limit} preguntas en las últimas 24 horas, el máximo por persona. "
    "Podrá enviar otra desde el {when} Gracias por su paciencia."
)
ASK_ACTION = "enviar preguntas a la Alcaldía"
UNANSWERED_GONE = (
    "Ya no tengo el texto de esa pregunta. Elija el tema y escríbala de nuevo:"
)
EXPIRED = "Esta pregunta ya no está en curso. Empiece de nuevo con /preguntar."
CANCELLED = "Listo, no envié ninguna pregunta."
PRIVATE_ONLY = "Para enviar preguntas o ver las suyas, escríbame en privado."


async def _rate_message(update: Update, context: CabildoContext) -> str | None:
    """Return the polite refusal if the person reached the daily limit, else None."""
    chat = update.effective_chat
    if chat is None:
        return None
    try:
        async with context.db.session() as session:
            await store.check_rate(session, chat_id=chat.id)
    except store.RateLimited as exc:
        return _rate_text(exc, context)
    return None


def _rate_text(exc: store.RateLimited, context: CabildoContext) -> str:
    when = local_datetime(exc.retry_at, context.settings.tz, context.settings.locale)
    # The time may end in «a. m.»: that point also ends the sentence.
    return RATE_LIMITED.format(limit=store.DAILY_LIMIT,
                               when=when if when.endswith(".") else f"{when}.")


def _topics_markup(*, for_text: bool) -> InlineKeyboardMarkup:
    """Return the topic buttons: to start a question, or to file the text already given."""
    action = QuestionTopicForText if for_text else QuestionTopic
    first, *rest = TOPICS
    buttons = [button(label, action(key)) for key, label in rest]
    rows = [
        [button(first[1], action(first[0]))],
        *[buttons[i : i + 2] for i in range(0, len(buttons), 2)],
    ]
    if not for_text:
        rows.extend(list(row) for row in elsewhere().inline_keyboard)
    else:
        rows.append([button("❌ Cancelar", QuestionCancel())])
    return InlineKeyboardMarkup(rows)


async def start_question(update: Update, context: CabildoContext) -> None:
    """Offer the topics; with `/preguntar <texto>`, keep the text and ask only the topic."""
    if update.callback_query is not None:
        await update.callback_query.answer()
    message = update.effective_message
    if message is None:
        return
    text = ""
    if update.callback_query is None and message.text:
        parts = message.text.split(maxsplit=1)
        text = parts[1].strip() if len(parts) > 1 else ""
    if not text:
        refusal = await _rate_message(update, context)
        markup = elsewhere() if refusal else _topics_markup(for_text=False)
        await show(update, refusal or INTRO, markup)
        return
    refusal = await _rate_message(update, context)
    if refusal is not None:
        await message.reply_text(refusal, reply_markup=elsewhere())
        return
    if not await _keep_text(update, context, text):
        return
    # Consent first; accepting resumes with `QuestionContinue` (declining forgets the text).
    if await ensure_consent(update, context, ASK_ACTION, resume=QuestionContinue().encode()):
        await _show_topics_for(update, context)


async def send_unanswered(update: Update, context: CabildoContext, _: QuestionFromSearch) -> None:
    """Take the text the bot could not answer (kept with the subject) as a question."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    async with context.db.session() as session:
        state = await get_state(session, chat_id=chat.id, user_id=user.id)
    text = str(state.data.get("unanswered", "")) if state and state.flow == TOPIC_FLOW else ""
    if not text:
        await show(update, UNANSWERED_GONE, _topics_markup(for_text=False))
        return
    refusal = await _rate_message(update, context)
    if refusal is not None:
        await show(update, refusal, elsewhere())
        return
    if not await _keep_text(update, context, text):
        return
    if await ensure_consent(update, context, ASK_ACTION, resume=QuestionContinue().encode()):
        await _show_topics_for(update, context)


async def continue_question(update: Update, context: CabildoContext, _: QuestionContinue) -> None:
    """Offer the topics again for the question text kept in the flow."""
    await _show_topics_for(update, context)


async def _keep_text(update: Update, context: CabildoContext, text: str) -> bool:
    """Keep a well-formed question text in the flow; otherwise say what is wrong."""
    message = update.effective_message
    assert message is not None
    try:
        text = store.clean_text(text)
    except store.QuestionError as exc:
        await message.reply_text(escape(str(exc)))
        return False
    await save_flow(update, context, FlowState(FLOW, "tema", {"text": text, "at": now_text()}))
    return True


async def _show_topics_for(update: Update, context: CabildoContext) -> None:
    """Show the kept question text with the topics to file it under."""
    state = await flow_state(update, context, FLOW)
    if state is None or not state.data.get("text") or lapsed(state):
        await show(update, EXPIRED, elsewhere())
        return
    await show(update, INTRO_WITH_TEXT.format(text=excerpt(str(state.data["text"]), 1500)),
               _topics_markup(for_text=True))


async def _offer_topics_for(update: Update, context: CabildoContext, text: str) -> None:
    if await _keep_text(update, context, text):
        await _show_topics_for(update, context)


async def _file(update: Update, context: CabildoContext, topic: str, text: str) -> None:
    """Record the question and confirm it with its tracking number."""
    chat = update.effective_chat
    assert chat is not None
    try:
        async with context.db.session() as session:
            question = await store.ask(session, chat_id=chat.id, topic=topic, text=text)
    except store.RateLimited as exc:
        await save_flow(update, context, None)
        await show(update, _rate_text(exc, context), elsewhere())
        return
    except store.QuestionError as exc:
        await show(update, escape(str(exc)))
        return
    await save_flow(update, context, None)
    assert question.id is not None  # saved just now
    text = RECEIVED.format(id=question.id, topic=topic_label(topic),
                           text=excerpt(question.text, 1500))
    if topic != store.HEARING:
        await show(update, text, elsewhere())
        return
    # Only the asker may let others see a question not yet reviewed: ask now.
    await show(update, text + SHARE_ASK, InlineKeyboardMarkup([
        [button(SHARE_YES, QuestionShare(question.id, "1"))],
        [button(SHARE_NO, QuestionShare(question.id, "0"))],
        *elsewhere().inline_keyboard,
    ]))


async def choose_topic(
    update: Update, context: CabildoContext, topic: str, *, for_text: bool
) -> None:
    """Take the chosen topic: ask for the text, or file the text given with the command."""
    query = update.callback_query
    if query is None:
        return
    state = await flow_state(update, context, FLOW)
    if topic not in TOPIC_NAMES:
        await query.answer(GONE)
        return
    if for_text and (state is None or not state.data.get("text")):
        await query.answer(EXPIRED)  # filed already (a double tap) or cancelled
        return
    await query.answer()
    if not await ensure_consent(update, context, ASK_ACTION):
        return
    refusal = await _rate_message(update, context)
    if refusal is not None:
        await save_flow(update, context, None)
        await show(update, refusal, elsewhere())
        return
    if for_text and state is not None:
        await _file(update, context, topic, str(state.data["text"]))
        return
    await save_flow(update, context, FlowState(FLOW, "texto", {"topic": topic, "at": now_text()}))
    await show(
        update,
        ASK_TEXT.format(topic=topic_label(topic), min=store.MIN_LENGTH,
                        max=number(store.MAX_LENGTH, context.settings.locale)),
        InlineKeyboardMarkup([[button("❌ Cancelar", QuestionCancel())]]),
    )


async def receive_question(update: Update, context: CabildoContext, state: FlowState) -> None:
    """Take the typed question (or, while choosing a topic, a new wording of it)."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    if lapsed(state):
        # Someone who tapped a topic and walked away long ago is asking something else now.
        await save_flow(update, context, None)
        await answer_question(update, context)
    elif state.step == "texto" and state.data.get("topic") in TOPIC_NAMES:
        await _file(update, context, str(state.data["topic"]), message.text)
    elif state.step == "tema":
        await _offer_topics_for(update, context, message.text)
    else:
        await save_flow(update, context, None)
        await message.reply_text(EXPIRED)


async def cancel_question(update: Update, context: CabildoContext, _: QuestionCancel) -> None:
    """Leave the question flow without sending anything."""
    if await flow_state(update, context, FLOW) is not None:
        await save_flow(update, context, None)
    await show(update, CANCELLED, InlineKeyboardMarkup([[button("🏠 Menú", "menu:inicio")]]))


async def private_only(update: Update, context: CabildoContext) -> None:
    """Ask people who use the citizen commands in a group to write in private."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(PRIVATE_ONLY)


TEXT_STEPS[FLOW] = receive_question
IDLE_NOTES[FLOW] = (
    "⌛ Pasaron más de 30 minutos, así que no tomé este mensaje como su pregunta. "
    "Para enviar una pregunta: /preguntar"
)
_PRIVATE = filters.ChatType.PRIVATE
async def gone(update: Update, context: CabildoContext) -> None:
    """Say, as a short notice, that a question button no longer leads anywhere."""
    if update.callback_query is not None:
        await update.callback_query.answer(GONE)


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CommandHandler(["preguntar", "mis_preguntas"], private_only, filters=~_PRIVATE),
    CallbackQueryHandler(start_question, pattern=r"^menu:preguntar$"),
    on_press(QuestionNew, lambda u, c, _: start_question(u, c), answer=False),
    # Choosing a topic, sharing and supporting answer the tap themselves, with a notice.
    on_press(QuestionTopic, lambda u, c, a: choose_topic(u, c, a.topic, for_text=False),
             answer=False),
    on_press(QuestionTopicForText, lambda u, c, a: choose_topic(u, c, a.topic, for_text=True),
             answer=False),
    on_press(QuestionContinue, continue_question),
    on_press(QuestionFromSearch, send_unanswered),
    on_press(QuestionCancel, cancel_question),
    on_press(MyQuestions, lambda u, c, a: show_mine(u, c, a.page)),
    on_press(AnsweredQuestions, browse_answers),
    on_press(AnsweredQuestion, view_answer),
    on_press(QuestionShare, share_choice, answer=False),
    on_press(SupportRanking, lambda u, c, a: ranking(u, c, a.page)),
    on_press(QuestionSupport, support_question, answer=False),
    on_stale("preg", gone, answer=False),
]
