"""`/preguntar`: citizens' questions for the hearing and the offices, and the staff's answers.

Citizens (`preg:` buttons): `preg:n` the topics · `preg:t:<topic>` start a question on a topic ·
`preg:tt:<topic>` file the text already given with `/preguntar <texto>` under a topic ·
`preg:c` offer the topics again for the text kept in the flow (what accepting the data notice
after `/preguntar <texto>` resumes) · `preg:x` cancel · `preg:m:<page>` my questions ·
`preg:b:<page>` published answers ·
`preg:v:<id>` one published answer. Asking needs the personal-data consent, because the
question is linked to the chat; the typed question goes through `handlers.flows` (flow
"preguntar"), so the state survives restarts. A flow started over `FLOW_TTL` ago lapses, and
any command or main-menu button leaves it (`handlers.flows`): the next text then gets the
ordinary free-text answer instead of becoming a question.

Staff (`staff:preg:` buttons, refused to others by `handlers.access`): `staff:preg:q:<page>`
the queue · `staff:preg:r:<id>` answer · `staff:preg:d:<id>` mark as duplicate ·
`staff:preg:p:<id>:<0|1>` withdraw / publish. Answering an already answered question updates
the answer, says so, and sends the asker the corrected answer (the same text twice sends
nothing). Notifications go through the outbox.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from urllib.parse import quote

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, filters

from bot.context import CabildoContext
from bot.formatting import local_date, local_datetime, number
from handlers.access import current_role
from handlers.flows import IDLE_NOTES, TEXT_STEPS, TOPIC_FLOW, flow_state
from handlers.index import forget_index
from handlers.paging import Page, callback, nav_row
from handlers.privacy import ensure_consent
from handlers.screens import show
from handlers.search import answer_question
from storage import questions as store
from storage.conversations import FlowState, clear_state, get_state, set_state
from storage.models import CitizenQuestion
from storage.roles import RANK
from storage.types import utcnow

# (key, label): the hearing first, then the usual subjects of the offices.
TOPICS: tuple[tuple[str, str], ...] = (
    ("audiencia", "🎤 Audiencia pública"),
    ("obras", "🏗️ Obras"),
    ("presupuesto", "💰 Presupuesto"),
    ("metas", "🎯 Metas del plan"),
    ("contratacion", "📑 Contratación"),
    ("otro", "💬 Otro tema"),
)
TOPIC_NAMES = dict(TOPICS)
FLOW = "preguntar"
STAFF_FLOW = "preguntas"
PER_PAGE = 5
# Text typed this long after a flow began goes to the free-text answers instead.
FLOW_TTL = timedelta(minutes=30)

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
GONE = "Esa opción ya no está disponible."
PRIVATE_ONLY = "Para enviar preguntas o ver las suyas, escríbame en privado."
MINE_TITLE = "📋 <b>Sus preguntas</b> ({total}) · {page}"
MINE_EMPTY = "Todavía no ha enviado preguntas. Envíe una con /preguntar."
STATUS = {
    store.PENDING: "🟡 Pendiente de respuesta",
    store.ANSWERED: "🟢 Respondida",
    store.DUPLICATE: "🔁 Otra persona preguntó lo mismo (#{original})",
}
BROWSE_TITLE = "📚 <b>Preguntas respondidas</b> · {page}"
BROWSE_EMPTY = "📚 Todavía no hay preguntas respondidas publicadas."
CARD = (
    "❓ <b>Pregunta #{id}</b> · {topic}\n<i>«{text}»</i>\n\n"
    "💬 <b>Respuesta</b> ({when}):\n{answer}"
)

QUEUE_TITLE = (
    "📥 <b>Preguntas pendientes: {total}</b> · {page}\n"
    "De la más antigua a la más reciente. Responda con los botones o con "
    "<code>/responder n texto</code>."
)
QUEUE_EMPTY = "📥 No hay preguntas pendientes."
QUEUE_ITEM = "\n<b>#{id}</b> · {topic} · {when}\n«{text}»"
ASK_ANSWER = (
    "✍️ Escriba la respuesta a la pregunta <b>#{id}</b> ({topic}):\n<i>«{text}»</i>\n\n"
    "La recibirá quien preguntó, tal como la escriba."
)
ASK_ORIGINAL = (
    "🔁 La pregunta <b>#{id}</b>:\n<i>«{text}»</i>\n\n"
    "¿De qué pregunta es duplicada? Escriba el número de la pregunta original."
)
ANSWERED = "✅ Respondí la pregunta #{id}. {notified}"
UPDATED = "✏️ La pregunta #{id} ya estaba respondida: actualicé la respuesta. {notified}"
NOTIFIED_NONE = "No hay a quién enviarla: quien preguntó borró sus datos o ya la tenía."
NOTIFIED_ONE = "La respuesta va en camino a 1 persona."
NOTIFIED_MANY = "La respuesta va en camino a {count} personas."
DUPLICATE_ANSWERED = (
    "🔁 La pregunta #{id} quedó como duplicada de la #{original}. {notified}"
)
DUPLICATE_PENDING = (
    "🔁 La pregunta #{id} quedó como duplicada de la #{original}. Quien preguntó recibirá la "
    "respuesta cuando se responda la #{original}."
)
PUBLISHED = (
    "📢 La pregunta #{id} está publicada: aparece en «Preguntas respondidas» y en las "
    "respuestas a las búsquedas."
)
UNPUBLISHED = "🙈 La pregunta #{id} ya no está publicada."
RESPONDER_USAGE = (
    "Escriba: <code>/responder n texto</code>, por ejemplo "
    "<code>/responder 12 La obra termina en marzo.</code>"
)
DUPLICADA_USAGE = "Escriba: <code>/duplicada n m</code> (la pregunta n es duplicada de la m)."
PUBLICAR_USAGE = (
    "Escriba: <code>/publicar n</code> para publicar la pregunta n, o "
    "<code>/publicar n retirar</code> para retirarla."
)
WITHDRAW_WORDS = {"retirar", "retira", "no", "quitar"}
NOT_A_NUMBER = "Escriba solo el número de la pregunta original, por ejemplo <code>12</code>."
TRY_AGAIN = "\nEscriba de nuevo, o toque «Volver a la cola»."
STAFF_EXPIRED = "Esa acción ya no está en curso. Vea la cola con /preguntas."


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text, callback_data=data)


def _number(text: str) -> int | None:
    """Read a tracking number as people write it: `12` or `#12`."""
    text = text.strip().lstrip("#")
    return int(text) if text.isdigit() and len(text) < 10 else None


def _now() -> str:
    return utcnow().isoformat()


def _stale(state: FlowState) -> bool:
    """Tell whether a question or answer flow was started more than `FLOW_TTL` ago."""
    try:
        since = datetime.fromisoformat(str(state.data.get("at")))
    except ValueError:
        return True
    return utcnow() - since > FLOW_TTL


def _topic(key: str) -> str:
    return TOPIC_NAMES.get(key, key)


def _notified(count: int) -> str:
    if count == 0:
        return NOTIFIED_NONE
    return NOTIFIED_ONE if count == 1 else NOTIFIED_MANY.format(count=count)


def _day(question: CitizenQuestion, context: CabildoContext) -> str:
    local = question.created_at.astimezone(context.settings.tz).date()
    return local_date(local, context.settings.locale)


async def _save(update: Update, context: CabildoContext, state: FlowState | None) -> None:
    """Store the person's flow state, or clear it when `state` is None."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    async with context.db.session() as session:
        if state is None:
            await clear_state(session, chat_id=chat.id, user_id=user.id)
        else:
            await set_state(session, chat_id=chat.id, user_id=user.id, state=state)


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


def _topics_markup(action: str) -> InlineKeyboardMarkup:
    """Return the topic buttons (`action` is `t` to start, `tt` to file a given text)."""
    first, *rest = TOPICS
    buttons = [_button(label, callback("preg", action, key)) for key, label in rest]
    rows = [
        [_button(first[1], callback("preg", action, first[0]))],
        *[buttons[i : i + 2] for i in range(0, len(buttons), 2)],
    ]
    if action == "t":
        rows.extend(list(row) for row in _elsewhere().inline_keyboard)
    else:
        rows.append([_button("❌ Cancelar", "preg:x")])
    return InlineKeyboardMarkup(rows)


def _elsewhere() -> InlineKeyboardMarkup:
    """Return the ways on from a question: answers already published, my questions, menu."""
    return InlineKeyboardMarkup([
        [_button("📚 Preguntas respondidas", "preg:b:0"), _button("📋 Mis preguntas", "preg:m:0")],
        [_button("🏠 Menú", "menu:inicio")],
    ])


# --- citizens -----------------------------------------------------------------------------


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
        await show(update, refusal or INTRO, _elsewhere() if refusal else _topics_markup("t"))
        return
    refusal = await _rate_message(update, context)
    if refusal is not None:
        await message.reply_text(refusal, reply_markup=_elsewhere())
        return
    if not await _keep_text(update, context, text):
        return
    # Consent first; accepting resumes with `preg:c` (declining forgets the text).
    if await ensure_consent(update, context, ASK_ACTION, resume="preg:c"):
        await _show_topics_for(update, context)


async def send_unanswered(update: Update, context: CabildoContext) -> None:
    """Take the text the bot could not answer (kept with the subject) as a question."""
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    if query is None or user is None or chat is None:
        return
    await query.answer()
    async with context.db.session() as session:
        state = await get_state(session, chat_id=chat.id, user_id=user.id)
    text = str(state.data.get("unanswered", "")) if state and state.flow == TOPIC_FLOW else ""
    if not text:
        await show(update, UNANSWERED_GONE, _topics_markup("t"))
        return
    refusal = await _rate_message(update, context)
    if refusal is not None:
        await show(update, refusal, _elsewhere())
        return
    if not await _keep_text(update, context, text):
        return
    if await ensure_consent(update, context, ASK_ACTION, resume="preg:c"):
        await _show_topics_for(update, context)


async def continue_question(update: Update, context: CabildoContext) -> None:
    """Offer the topics again for the question text kept in the flow."""
    if update.callback_query is None:
        return
    await update.callback_query.answer()
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
    await _save(update, context, FlowState(FLOW, "tema", {"text": text, "at": _now()}))
    return True


async def _show_topics_for(update: Update, context: CabildoContext) -> None:
    """Show the kept question text with the topics to file it under."""
    state = await flow_state(update, context, FLOW)
    if state is None or not state.data.get("text") or _stale(state):
        await show(update, EXPIRED, _elsewhere())
        return
    await show(update, INTRO_WITH_TEXT.format(text=store.excerpt(str(state.data["text"]), 1500)),
               _topics_markup("tt"))


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
        await _save(update, context, None)
        await show(update, _rate_text(exc, context), _elsewhere())
        return
    except store.QuestionError as exc:
        await show(update, escape(str(exc)))
        return
    await _save(update, context, None)
    await show(update, RECEIVED.format(
        id=question.id, topic=_topic(topic), text=store.excerpt(question.text, 1500)
    ), _elsewhere())


async def choose_topic(update: Update, context: CabildoContext) -> None:
    """Take the chosen topic: ask for the text, or file the text given with the command."""
    query = update.callback_query
    if query is None:
        return
    action, _, topic = (query.data or "").removeprefix("preg:").partition(":")
    state = await flow_state(update, context, FLOW)
    if topic not in TOPIC_NAMES:
        await query.answer(GONE)
        return
    if action == "tt" and (state is None or not state.data.get("text")):
        await query.answer(EXPIRED)  # filed already (a double tap) or cancelled
        return
    await query.answer()
    if not await ensure_consent(update, context, ASK_ACTION):
        return
    refusal = await _rate_message(update, context)
    if refusal is not None:
        await _save(update, context, None)
        await show(update, refusal, _elsewhere())
        return
    if action == "tt" and state is not None:
        await _file(update, context, topic, str(state.data["text"]))
        return
    await _save(update, context, FlowState(FLOW, "texto", {"topic": topic, "at": _now()}))
    await show(
        update,
        ASK_TEXT.format(topic=_topic(topic), min=store.MIN_LENGTH,
                        max=number(store.MAX_LENGTH, context.settings.locale)),
        InlineKeyboardMarkup([[_button("❌ Cancelar", "preg:x")]]),
    )


async def receive_question(update: Update, context: CabildoContext, state: FlowState) -> None:
    """Take the typed question (or, while choosing a topic, a new wording of it)."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    if _stale(state):
        # Someone who tapped a topic and walked away long ago is asking something else now.
        await _save(update, context, None)
        await answer_question(update, context)
    elif state.step == "texto" and state.data.get("topic") in TOPIC_NAMES:
        await _file(update, context, str(state.data["topic"]), message.text)
    elif state.step == "tema":
        await _offer_topics_for(update, context, message.text)
    else:
        await _save(update, context, None)
        await message.reply_text(EXPIRED)


async def cancel_question(update: Update, context: CabildoContext) -> None:
    """Leave the question flow without sending anything."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    if await flow_state(update, context, FLOW) is not None:
        await _save(update, context, None)
    await show(update, CANCELLED, InlineKeyboardMarkup([[_button("🏠 Menú", "menu:inicio")]]))


async def my_questions(update: Update, context: CabildoContext) -> None:
    """List the person's questions with their status and answers, newest first."""
    query, chat = update.callback_query, update.effective_chat
    if query is not None:
        await query.answer()
    if chat is None:
        return
    page_no = 0
    if query is not None:
        page_no = _number((query.data or "").rsplit(":", 1)[-1]) or 0
    async with context.db.session() as session:
        page = await store.questions_of(session, chat_id=chat.id, page=page_no, per_page=PER_PAGE)
        originals = {
            q.duplicate_of: await store.get_question(session, question_id=q.duplicate_of)
            for q in page.items if q.duplicate_of is not None
        }
    if not page.total:
        await show(update, MINE_EMPTY, InlineKeyboardMarkup([
            [_button("❓ Hacer una pregunta", "preg:n"), _button("🏠 Menú", "menu:inicio")]
        ]))
        return
    view = Page(page.items, page.number, page.count)
    lines = [MINE_TITLE.format(total=page.total, page=view.label)]
    for q in page.items:
        lines.append(f"\n<b>#{q.id}</b> · {_topic(q.topic)} · {_day(q, context)}")
        lines.append(f"«{store.excerpt(q.text, 200)}»")
        lines.append(STATUS.get(q.status, q.status).format(original=q.duplicate_of))
        answered = originals.get(q.duplicate_of) if q.duplicate_of else q
        if answered is not None and answered.answer and answered.status == store.ANSWERED:
            lines.append(f"💬 {store.excerpt(answered.answer, 400)}")
    nav = nav_row(view, "preg", "m")  # type: ignore[arg-type]
    await show(update, "\n".join(lines), InlineKeyboardMarkup([
        *([nav] if nav else []),
        [_button("❓ Nueva pregunta", "preg:n"), _button("📚 Respondidas", "preg:b:0")],
    ]))


async def browse_answers(update: Update, context: CabildoContext) -> None:
    """Page through the published answered questions, newest first."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    page_no = _number((query.data or "").rsplit(":", 1)[-1]) or 0
    async with context.db.session() as session:
        page = await store.published_questions(session, page=page_no, per_page=PER_PAGE)
    back = [_button("❓ Hacer una pregunta", "preg:n"), _button("🏠 Menú", "menu:inicio")]
    if not page.total:
        await show(update, BROWSE_EMPTY, InlineKeyboardMarkup([back]))
        return
    view = Page(page.items, page.number, page.count)
    lines = [BROWSE_TITLE.format(page=view.label)]
    rows = []
    for q in page.items:
        lines.append(f"\n<b>#{q.id}</b> · {_topic(q.topic)}\n«{store.excerpt(q.text, 200)}»")
        lines.append(f"💬 {store.excerpt(q.answer or '', 350)}")
        rows.append([_button(f"#{q.id} · {q.text[:50]}", callback("preg", "v", q.id))])
    nav = nav_row(view, "preg", "b")  # type: ignore[arg-type]
    await show(update, "\n".join(lines),
                 InlineKeyboardMarkup([*rows, *([nav] if nav else []), back]))


async def _show_published(update: Update, context: CabildoContext, question_id: int) -> bool:
    async with context.db.session() as session:
        question = await store.published_question(session, question_id=question_id)
    if question is None or question.answered_at is None:
        return False
    link = f"https://t.me/{context.bot.username}?start=pregunta_{question.id}"
    share = InlineKeyboardButton(
        "📤 Compartir", url=f"https://t.me/share/url?url={quote(link)}"
    )
    text = CARD.format(
        id=question.id, topic=_topic(question.topic), text=store.excerpt(question.text, 1200),
        when=local_date(question.answered_at.astimezone(context.settings.tz).date(),
                        context.settings.locale),
        answer=store.excerpt(question.answer or "", 2500),
    )
    await show(update, text, InlineKeyboardMarkup([
        [share, _button("📚 Más respuestas", "preg:b:0")],
    ]))
    return True


async def view_answer(update: Update, context: CabildoContext) -> None:
    """Show one published question with its full answer."""
    query = update.callback_query
    if query is None:
        return
    await query.answer()
    question_id = _number((query.data or "").rsplit(":", 1)[-1])
    if question_id is None or not await _show_published(update, context, question_id):
        await show(update, GONE, InlineKeyboardMarkup([
            [_button("📚 Preguntas respondidas", "preg:b:0")]
        ]))


async def open_question(update: Update, context: CabildoContext, key: str) -> bool:
    """Show a published question (deep link `/start pregunta_<n>`); False if not available."""
    question_id = _number(key)
    return question_id is not None and await _show_published(update, context, question_id)


async def private_only(update: Update, context: CabildoContext) -> None:
    """Ask people who use the citizen commands in a group to write in private."""
    if update.effective_message is not None:
        await update.effective_message.reply_text(PRIVATE_ONLY)


# --- staff --------------------------------------------------------------------------------


async def _queue(update: Update, context: CabildoContext, page_no: int) -> None:
    async with context.db.session() as session:
        page = await store.pending_queue(session, page=page_no, per_page=PER_PAGE)
    if not page.total:
        await show(update, QUEUE_EMPTY)
        return
    view = Page(page.items, page.number, page.count)
    lines = [QUEUE_TITLE.format(total=page.total, page=view.label)]
    rows = []
    for q in page.items:
        lines.append(QUEUE_ITEM.format(id=q.id, topic=_topic(q.topic), when=_day(q, context),
                                       text=store.excerpt(q.text, 400)))
        rows.append([_button(f"✍️ Responder #{q.id}", callback("staff", "preg", "r", q.id)),
                     _button(f"🔁 Duplicada #{q.id}", callback("staff", "preg", "d", q.id))])
    nav = nav_row(view, "staff", "preg", "q")  # type: ignore[arg-type]
    await show(update, "\n".join(lines), InlineKeyboardMarkup([*rows, *([nav] if nav else [])]))


async def show_queue(update: Update, context: CabildoContext) -> None:
    """Show the pending questions, oldest first, with answer and duplicate buttons."""
    await _queue(update, context, 0)


def _back_to_queue() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[_button("⬅️ Volver a la cola", "staff:preg:q:0")]])


def _answered_markup(question: CitizenQuestion) -> InlineKeyboardMarkup:
    publish = (
        _button("🙈 Retirar publicación", callback("staff", "preg", "p", question.id, 0))
        if question.published
        else _button("📢 Publicar", callback("staff", "preg", "p", question.id, 1))
    )
    return InlineKeyboardMarkup([[publish, _button("📥 Cola", "staff:preg:q:0")]])


async def _refuse(update: Update, exc: store.QuestionError, in_flow: bool) -> None:
    """Say why a staff action was refused; inside a flow, invite to try again."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(
        escape(str(exc)) + (TRY_AGAIN if in_flow else ""),
        reply_markup=_back_to_queue() if in_flow else None,
    )


async def _answer(
    update: Update, context: CabildoContext, question_id: int, text: str, *, in_flow: bool
) -> bool:
    """Answer a question and tell the staff member what happened; False if refused."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    try:
        async with context.db.session() as session:
            result = await store.answer(session, question_id=question_id, text=text,
                                        actor_id=user.id)
    except store.QuestionError as exc:
        await _refuse(update, exc, in_flow)
        return False
    if result.question.published:
        forget_index(context)
    template = UPDATED if result.updated else ANSWERED
    await message.reply_text(
        template.format(id=question_id, notified=_notified(result.notified)),
        reply_markup=_answered_markup(result.question),
    )
    return True


async def _duplicate(
    update: Update, context: CabildoContext, question_id: int, original_id: int, *, in_flow: bool
) -> bool:
    """Mark a duplicate and tell the staff member what happened; False if refused."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    try:
        async with context.db.session() as session:
            result = await store.mark_duplicate(
                session, question_id=question_id, original_id=original_id, actor_id=user.id
            )
    except store.QuestionError as exc:
        await _refuse(update, exc, in_flow)
        return False
    if result.original.status == store.ANSWERED:
        text = DUPLICATE_ANSWERED.format(id=question_id, original=result.original.id,
                                         notified=_notified(result.notified))
    else:
        text = DUPLICATE_PENDING.format(id=question_id, original=result.original.id)
    await message.reply_text(text, reply_markup=_back_to_queue())
    return True


async def answer_command(update: Update, context: CabildoContext) -> None:
    """Answer a question: `/responder <n> <texto>` (the text keeps its line breaks)."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    parts = message.text.split(maxsplit=2)
    question_id = _number(parts[1]) if len(parts) > 1 else None
    if question_id is None or len(parts) < 3:
        await message.reply_text(RESPONDER_USAGE)
        return
    await _answer(update, context, question_id, parts[2], in_flow=False)


async def duplicate_command(update: Update, context: CabildoContext) -> None:
    """Mark question n as a duplicate of question m: `/duplicada <n> <m>`."""
    message = update.effective_message
    if message is None:
        return
    args = context.args or []
    numbers = [_number(a) for a in args]
    if len(numbers) != 2 or numbers[0] is None or numbers[1] is None:
        await message.reply_text(DUPLICADA_USAGE)
        return
    await _duplicate(update, context, numbers[0], numbers[1], in_flow=False)


async def publish_command(update: Update, context: CabildoContext) -> None:
    """Publish an answered question (`/publicar <n>`), or withdraw it (`/publicar <n> retirar`).

    Sending the command twice publishes once: withdrawing takes its own word.
    """
    message, user = update.effective_message, update.effective_user
    if message is None or user is None:
        return
    args = context.args or []
    question_id = _number(args[0]) if len(args) in (1, 2) else None
    withdraw = len(args) == 2 and args[1].lower() in WITHDRAW_WORDS
    if question_id is None or (len(args) == 2 and not withdraw):
        await message.reply_text(PUBLICAR_USAGE)
        return
    try:
        async with context.db.session() as session:
            question = await store.set_published(session, question_id=question_id,
                                                 actor_id=user.id, published=not withdraw)
    except store.QuestionError as exc:
        await message.reply_text(escape(str(exc)))
        return
    forget_index(context)
    text = (PUBLISHED if question.published else UNPUBLISHED).format(id=question_id)
    await message.reply_text(text, reply_markup=_answered_markup(question))


async def staff_button(update: Update, context: CabildoContext) -> None:
    """Handle the staff buttons: queue pages, answer, duplicate, publish or withdraw."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    await query.answer()
    parts = (query.data or "").split(":")[2:]
    action = parts[0] if parts else ""
    numbers = [_number(p) for p in parts[1:]]
    if not numbers or None in numbers:
        await show(update, STAFF_EXPIRED)
        return
    target = numbers[0]
    assert target is not None
    if action == "q" and len(numbers) == 1:
        if await flow_state(update, context, STAFF_FLOW) is not None:
            await _save(update, context, None)
        await _queue(update, context, target)
        return
    async with context.db.session() as session:
        question = await store.get_question(session, question_id=target)
    if question is None:
        await show(update, store.NOT_FOUND.format(id=target), _back_to_queue())
    elif action == "r" and len(numbers) == 1:
        await _save(update, context,
                    FlowState(STAFF_FLOW, "respuesta", {"id": target, "at": _now()}))
        await show(update, ASK_ANSWER.format(
            id=target, topic=_topic(question.topic), text=store.excerpt(question.text, 1500)
        ), _back_to_queue())
    elif action == "d" and len(numbers) == 1:
        await _save(update, context,
                    FlowState(STAFF_FLOW, "original", {"id": target, "at": _now()}))
        await show(update, ASK_ORIGINAL.format(
            id=target, text=store.excerpt(question.text, 1500)
        ), _back_to_queue())
    elif action == "p" and len(numbers) == 2 and numbers[1] in (0, 1):
        await _publish_button(update, context, target, numbers[1] == 1)
    else:
        await show(update, STAFF_EXPIRED)


async def _publish_button(
    update: Update, context: CabildoContext, question_id: int, wanted: bool
) -> None:
    user = update.effective_user
    assert user is not None
    try:
        async with context.db.session() as session:
            question = await store.set_published(
                session, question_id=question_id, actor_id=user.id, published=wanted
            )
    except store.QuestionError as exc:
        await show(update, escape(str(exc)), _back_to_queue())
        return
    forget_index(context)
    text = (PUBLISHED if question.published else UNPUBLISHED).format(id=question_id)
    await show(update, text, _answered_markup(question))


async def receive_staff_text(update: Update, context: CabildoContext, state: FlowState) -> None:
    """Take the staff member's typed answer, or the number of the original question."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    if _stale(state):  # never send a citizen text typed long after "Responder" was tapped
        await _save(update, context, None)
        await answer_question(update, context)
        return
    question_id = state.data.get("id")
    if RANK[await current_role(update, context)] < RANK["staff"] or not isinstance(
        question_id, int
    ):
        await _save(update, context, None)
        await message.reply_text(STAFF_EXPIRED)
        return
    if state.step == "respuesta":
        done = await _answer(update, context, question_id, message.text, in_flow=True)
    elif state.step == "original":
        original = _number(message.text)
        if original is None:
            await message.reply_text(NOT_A_NUMBER, reply_markup=_back_to_queue())
            return
        done = await _duplicate(update, context, question_id, original, in_flow=True)
    else:
        done = True
        await message.reply_text(STAFF_EXPIRED)
    if done:
        await _save(update, context, None)


TEXT_STEPS[FLOW] = receive_question
TEXT_STEPS[STAFF_FLOW] = receive_staff_text
IDLE_NOTES[FLOW] = (
    "⌛ Pasaron más de 30 minutos, así que no tomé este mensaje como su pregunta. "
    "Para enviar una pregunta: /preguntar"
)
IDLE_NOTES[STAFF_FLOW] = (
    "⌛ Pasaron más de 30 minutos desde que tocó el botón, así que no envié este texto a "
    "nadie. Vuelva a /preguntas y toque la pregunta otra vez."
)

_PRIVATE = filters.ChatType.PRIVATE
HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    CommandHandler("preguntar", start_question, filters=_PRIVATE),
    CommandHandler("mis_preguntas", my_questions, filters=_PRIVATE),
    CommandHandler(["preguntar", "mis_preguntas"], private_only, filters=~_PRIVATE),
    CallbackQueryHandler(start_question, pattern=r"^(menu:preguntar|preg:n)$"),
    CallbackQueryHandler(choose_topic, pattern=r"^preg:tt?:"),
    CallbackQueryHandler(continue_question, pattern=r"^preg:c$"),
    CallbackQueryHandler(send_unanswered, pattern=r"^preg:e$"),
    CallbackQueryHandler(cancel_question, pattern=r"^preg:x$"),
    CallbackQueryHandler(my_questions, pattern=r"^preg:m:\d{1,6}$"),
    CallbackQueryHandler(browse_answers, pattern=r"^preg:b:\d{1,6}$"),
    CallbackQueryHandler(view_answer, pattern=r"^preg:v:"),
    CommandHandler("preguntas", show_queue),
    CommandHandler("responder", answer_command),
    CommandHandler("duplicada", duplicate_command),
    CommandHandler("publicar", publish_command),
    CallbackQueryHandler(staff_button, pattern=r"^staff:preg:"),
]
