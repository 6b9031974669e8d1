"""`/preguntas`: staff answer citizens' questions, group duplicates, give them to offices,
publish them, and hand the hearing's moderator the questions ranked by support.

The queue, its order, filters and the moderator's sheet are `handlers.question_queue`; this
module answers (`/responder`, or a button then the typed text), marks duplicates (likely
originals are suggested), gives a question to the office that answers it, and publishes or
withdraws it. Buttons are `handlers.callbacks`' `StaffQuestion…` actions (`staff:preg:`,
refused to others by `handlers.access`). Answering an already answered question updates the
answer, says so, and sends the asker the corrected answer (the same text twice sends
nothing). Notifications go through the outbox. The citizens' side is `handlers.questions`.
"""

from __future__ import annotations

from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler

from bot.context import CabildoContext
from bot.formatting import clip, plural
from handlers import question_notices as notices
from handlers.access import current_role
from handlers.callbacks import (
    StaffQuestionAnswer,
    StaffQuestionCsv,
    StaffQuestionDuplicate,
    StaffQuestionDuplicateOf,
    StaffQuestionOffice,
    StaffQuestionOffices,
    StaffQuestionOfficeSet,
    StaffQuestionPublish,
    StaffQuestionQueue,
    StaffQuestionTopics,
    StaffQuestionView,
    StaffQuestionXlsx,
    button,
    on_press,
    on_stale,
)
from handlers.flows import IDLE_NOTES, TEXT_STEPS
from handlers.index import forget_index, question_index
from handlers.question_common import (
    STAFF_FLOW,
    lapsed,
    now_text,
    save_flow,
    topic_label,
    tracking_number,
)
from handlers.question_notices import excerpt
from handlers.question_queue import (
    MAX_OFFICES,
    NO_OFFICE,
    STAFF_EXPIRED,
    back_to_queue,
    choose_filter,
    open_queue,
    open_view,
    send_export,
    show_queue,
)
from handlers.screens import show
from handlers.search import answer_question
from storage import questions as store
from storage.conversations import FlowState
from storage.models import CitizenQuestion
from storage.roles import RANK

__all__ = ["HANDLERS", "answer_command", "duplicate_command", "publish_command", "show_queue"]

CHOOSE_OFFICE_FOR = (
    "🏢 ¿Qué dependencia responde la pregunta <b>#{id}</b>?\n<i>«{text}»</i>\n\n"
    "Ahora: {office}. Los ciudadanos verán quién respondió."
)
OFFICE_SET = "🏢 La pregunta #{id} queda para: {office}."
OFFICE_NONE = "🏢 La pregunta #{id} queda sin dependencia."
NO_OFFICES = (
    "Todavía no hay dependencias: se toman del presupuesto y de las metas que se importan."
)
ASK_ANSWER = (
    "✍️ Escriba la respuesta a la pregunta <b>#{id}</b> ({topic}):\n<i>«{text}»</i>\n\n"
    "{who}"
)
REACHES_ASKER = "La recibirá quien preguntó, tal como la escriba."
REACHES_ASKER_AND = (
    "La recibirán quien preguntó y {others} que preguntaron lo mismo, tal como la escriba."
)
REACHES_OTHERS = (
    "Quien preguntó borró sus datos; la recibirán {others} que preguntaron lo mismo."
)
REACHES_NOBODY = "Quien preguntó borró sus datos: nadie recibirá la respuesta."
SEEN_PUBLISHED = " Como está publicada, cualquiera podrá leerla en «Preguntas respondidas»."
SEEN_IF_PUBLISHED = " Si la publica, cualquiera podrá leerla en «Preguntas respondidas»."
ASK_ORIGINAL = (
    "🔁 La pregunta <b>#{id}</b>:\n<i>«{text}»</i>\n\n"
    "¿De qué pregunta es duplicada? Escriba el número de la pregunta original."
)
LOOK_ALIKE = "\n\n🔎 <b>Se parecen</b> (toque una si es la misma pregunta):"
LOOK_ALIKE_ITEM = "\n<b>#{id}</b> · {status} · 👍 {support}\n«{text}»"
ANSWERED = "✅ Respondí la pregunta #{id}. {notified}"
UPDATED = "✏️ La pregunta #{id} ya estaba respondida: actualicé la respuesta. {notified}"
NOTIFIED_NONE = "No hay a quién enviarla: quien preguntó borró sus datos o ya la tenía."
NOTIFIED_GONE = "Nadie la recibirá: quien preguntó borró sus datos."
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
HIDDEN = "🙈 La pregunta #{id} ya no está a la vista de los ciudadanos; sigue pendiente."
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


def _notified(count: int) -> str:
    """Say how many people the answer is on its way to."""
    if count == 0:
        return NOTIFIED_NONE
    return NOTIFIED_ONE if count == 1 else NOTIFIED_MANY.format(count=count)


def _answered_markup(question: CitizenQuestion) -> InlineKeyboardMarkup:
    """Return the publish (or withdraw) button of an answered question, and the queue's."""
    assert question.id is not None
    publish = (
        button("🙈 Retirar publicación", StaffQuestionPublish(question.id, 0))
        if question.published
        else button("📢 Publicar", StaffQuestionPublish(question.id, 1))
    )
    return InlineKeyboardMarkup([[publish, button("📥 Cola", StaffQuestionQueue(0))]])


async def _refuse(update: Update, exc: store.QuestionError, in_flow: bool) -> None:
    """Say why a staff action was refused; inside a flow, invite to try again."""
    message = update.effective_message
    assert message is not None
    await message.reply_text(
        escape(str(exc)) + (TRY_AGAIN if in_flow else ""),
        reply_markup=back_to_queue() if in_flow else None,
    )


async def _answer(
    update: Update, context: CabildoContext, question_id: int, text: str, *, in_flow: bool
) -> bool:
    """Answer a question and tell the staff member what happened; False if refused."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    try:
        async with context.db.session() as session:
            result = await notices.answer(session, question_id=question_id, text=text,
                                        actor_id=user.id)
    except store.QuestionError as exc:
        await _refuse(update, exc, in_flow)
        return False
    if result.question.published:
        forget_index(context)
    template = UPDATED if result.updated else ANSWERED
    notified = _notified(result.notified)
    if result.notified == 0 and result.question.chat_id is None:
        notified = NOTIFIED_GONE + (
            SEEN_PUBLISHED if result.question.published else SEEN_IF_PUBLISHED)
    await message.reply_text(
        template.format(id=question_id, notified=notified),
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
            result = await notices.mark_duplicate(
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
    await message.reply_text(text, reply_markup=back_to_queue())
    return True


async def answer_command(update: Update, context: CabildoContext) -> None:
    """Answer a question: `/responder <n> <texto>` (the text keeps its line breaks)."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    parts = message.text.split(maxsplit=2)
    question_id = tracking_number(parts[1]) if len(parts) > 1 else None
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
    numbers = [tracking_number(a) for a in args]
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
    question_id = tracking_number(args[0]) if len(args) in (1, 2) else None
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
    if question.status != store.ANSWERED:  # a pending question its asker had shown
        await message.reply_text(HIDDEN.format(id=question_id), reply_markup=back_to_queue())
        return
    text = (PUBLISHED if question.published else UNPUBLISHED).format(id=question_id)
    await message.reply_text(text, reply_markup=_answered_markup(question))


async def _who_receives(context: CabildoContext, question: CitizenQuestion) -> str:
    """Say who an answer to this question reaches (nobody, if its asker deleted their data)."""
    assert question.id is not None
    async with context.db.session() as session:
        reached = await store.reachable_askers(session, question_id=question.id)
    if question.chat_id is not None:
        if reached <= 1:
            return REACHES_ASKER
        return REACHES_ASKER_AND.format(others=plural(reached - 1, "persona", "personas"))
    if reached:
        return REACHES_OTHERS.format(others=plural(reached, "persona", "personas"))
    return REACHES_NOBODY + (SEEN_PUBLISHED if question.published else SEEN_IF_PUBLISHED)


async def _ask_original(update: Update, context: CabildoContext, question: CitizenQuestion) -> None:
    """Ask for the original of a duplicate, suggesting the questions that look the same."""
    assert question.id is not None
    index = await question_index(context)
    async with context.db.session() as session:
        alike = await store.likely_duplicates(session, question_id=question.id, index=index)
        counts = await store.support_counts(session, [q.id for q in alike if q.id is not None])
    text = ASK_ORIGINAL.format(id=question.id, text=excerpt(question.text, 1200))
    rows = []
    if alike:
        text += LOOK_ALIKE
    for q in alike:
        assert q.id is not None
        text += LOOK_ALIKE_ITEM.format(id=q.id, status=q.status, support=counts.get(q.id, 0),
                                       text=excerpt(q.text, 300))
        rows.append([button(f"🔁 Es la misma que #{q.id}",
                             StaffQuestionDuplicateOf(question.id, q.id))])
    await show(update, text, InlineKeyboardMarkup([*rows, *back_to_queue().inline_keyboard]))


async def _choose_office(
    update: Update, context: CabildoContext, question: CitizenQuestion
) -> None:
    """Offer the offices that may answer a question (and none)."""
    assert question.id is not None
    async with context.db.session() as session:
        names = await store.offices(session)
    if not names:
        await show(update, NO_OFFICES, back_to_queue())
        return
    buttons = [button(clip(name, 40), StaffQuestionOfficeSet(question.id,
                                                              store.office_code(name)))
               for name in names[:MAX_OFFICES]]
    rows = [buttons[i:i + 2] for i in range(0, len(buttons), 2)]
    rows.append([button("➖ Ninguna", StaffQuestionOfficeSet(question.id, "-"))])
    await show(update, CHOOSE_OFFICE_FOR.format(
        id=question.id, text=excerpt(question.text, 600),
        office=escape(question.office) if question.office else NO_OFFICE,
    ), InlineKeyboardMarkup([*rows, *back_to_queue().inline_keyboard]))


async def set_office(update: Update, context: CabildoContext, tap: StaffQuestionOfficeSet) -> None:
    """Give a question to an office, or to none."""
    question_id, code = tap.question, tap.office
    user = update.effective_user
    assert user is not None
    async with context.db.session() as session:
        office = None if code == "-" else await store.office_named(session, code)
        if code != "-" and office is None:
            await show(update, STAFF_EXPIRED, back_to_queue())
            return
        await store.set_office(session, question_id=question_id, office=office,
                               actor_id=user.id)
    text = (OFFICE_SET.format(id=question_id, office=escape(office)) if office
            else OFFICE_NONE.format(id=question_id))
    await show(update, text, back_to_queue())


async def _publish_button(
    update: Update, context: CabildoContext, question_id: int, wanted: bool
) -> None:
    """Publish an answered question, or withdraw it, from its button."""
    user = update.effective_user
    assert user is not None
    try:
        async with context.db.session() as session:
            question = await store.set_published(
                session, question_id=question_id, actor_id=user.id, published=wanted
            )
    except store.QuestionError as exc:
        await show(update, escape(str(exc)), back_to_queue())
        return
    forget_index(context)
    text = (PUBLISHED if question.published else UNPUBLISHED).format(id=question_id)
    await show(update, text, _answered_markup(question))


async def receive_staff_text(update: Update, context: CabildoContext, state: FlowState) -> None:
    """Take the staff member's typed answer, or the number of the original question."""
    message = update.effective_message
    if message is None or message.text is None:
        return
    if lapsed(state):  # never send a citizen text typed long after "Responder" was tapped
        await save_flow(update, context, None)
        await answer_question(update, context)
        return
    question_id = state.data.get("id")
    if RANK[await current_role(update, context)] < RANK["staff"] or not isinstance(
        question_id, int
    ):
        await save_flow(update, context, None)
        await message.reply_text(STAFF_EXPIRED)
        return
    if state.step == "respuesta":
        done = await _answer(update, context, question_id, message.text, in_flow=True)
    elif state.step == "original":
        original = tracking_number(message.text)
        if original is None:
            await message.reply_text(NOT_A_NUMBER, reply_markup=back_to_queue())
            return
        done = await _duplicate(update, context, question_id, original, in_flow=True)
    else:
        done = True
        await message.reply_text(STAFF_EXPIRED)
    if done:
        await save_flow(update, context, None)

# --- buttons -------------------------------------------------------------------------------


async def _question(
    update: Update, context: CabildoContext, question_id: int
) -> CitizenQuestion | None:
    """Return the question a button names, or say it does not exist."""
    async with context.db.session() as session:
        question = await store.get_question(session, question_id=question_id)
    if question is None:
        await show(update, store.NOT_FOUND.format(id=question_id), back_to_queue())
    return question


async def ask_answer(update: Update, context: CabildoContext, tap: StaffQuestionAnswer) -> None:
    """Ask for the answer's text, saying who will receive it."""
    question = await _question(update, context, tap.question)
    if question is None:
        return
    await save_flow(update, context,
                    FlowState(STAFF_FLOW, "respuesta", {"id": tap.question, "at": now_text()}))
    await show(update, ASK_ANSWER.format(
        id=tap.question, topic=topic_label(question.topic),
        text=excerpt(question.text, 1500), who=await _who_receives(context, question),
    ), back_to_queue())


async def ask_duplicate(
    update: Update, context: CabildoContext, tap: StaffQuestionDuplicate
) -> None:
    """Ask for the original of a duplicate, suggesting look-alikes."""
    question = await _question(update, context, tap.question)
    if question is None:
        return
    await save_flow(update, context,
                    FlowState(STAFF_FLOW, "original", {"id": tap.question, "at": now_text()}))
    await _ask_original(update, context, question)


async def take_duplicate(
    update: Update, context: CabildoContext, tap: StaffQuestionDuplicateOf
) -> None:
    """Mark a question as a duplicate of the look-alike tapped."""
    if await _question(update, context, tap.question) is None:
        return
    if await _duplicate(update, context, tap.question, tap.original, in_flow=True):
        await save_flow(update, context, None)


async def offer_offices(update: Update, context: CabildoContext, tap: StaffQuestionOffice) -> None:
    """Offer the offices that may answer a question."""
    question = await _question(update, context, tap.question)
    if question is not None:
        await _choose_office(update, context, question)


async def publish(update: Update, context: CabildoContext, tap: StaffQuestionPublish) -> None:
    """Publish or withdraw an answered question."""
    if await _question(update, context, tap.question) is None:
        return
    if tap.published not in (0, 1):
        await show(update, STAFF_EXPIRED)
        return
    await _publish_button(update, context, tap.question, tap.published == 1)


async def expired(update: Update, context: CabildoContext) -> None:
    """Say a stale or unknown staff questions button no longer does anything."""
    await show(update, STAFF_EXPIRED)


TEXT_STEPS[STAFF_FLOW] = receive_staff_text
IDLE_NOTES[STAFF_FLOW] = (
    "⌛ Pasaron más de 30 minutos desde que tocó el botón, así que no envié este texto a "
    "nadie. Vuelva a /preguntas y toque la pregunta otra vez."
)


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    on_press(StaffQuestionQueue, open_queue),
    on_press(StaffQuestionView, open_view),
    on_press(StaffQuestionTopics, choose_filter),
    on_press(StaffQuestionOffices, choose_filter),
    on_press(StaffQuestionCsv, send_export),
    on_press(StaffQuestionXlsx, send_export),
    on_press(StaffQuestionAnswer, ask_answer),
    on_press(StaffQuestionDuplicate, ask_duplicate),
    on_press(StaffQuestionDuplicateOf, take_duplicate),
    on_press(StaffQuestionOffice, offer_offices),
    on_press(StaffQuestionOfficeSet, set_office),
    on_press(StaffQuestionPublish, publish),
    on_stale("staff:preg", expired),
]
