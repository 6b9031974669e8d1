"""Citizens' questions and the published answers: `/mis_preguntas`, «📚 Preguntas
respondidas», one answer's card (also the deep link `/start pregunta_<n>`)."""

from __future__ import annotations

from urllib.parse import quote

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import CabildoContext
from handlers.callbacks import (
    AnsweredQuestion,
    AnsweredQuestions,
    MyQuestions,
    QuestionNew,
    QuestionSupport,
    SupportRanking,
    button,
)
from handlers.paging import Page, page_row
from handlers.question_common import (
    GONE,
    PER_PAGE,
    RANKED,
    answered_on,
    ask_row,
    asked_on,
    office_of,
    topic_label,
    tracking_number,
)
from handlers.question_notices import excerpt
from handlers.screens import show
from storage import questions as store

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
    "💬 <b>Respuesta de {office}</b> ({when}):\n{answer}"
)
SUPPORT = "👍 Yo también quiero saber"
SUPPORTED = "✅ Usted la apoya"


async def my_questions(update: Update, context: CabildoContext) -> None:
    """List the person's questions with their status and answers (`/mis_preguntas`)."""
    await show_mine(update, context, 0)


async def show_mine(update: Update, context: CabildoContext, page_no: int) -> None:
    """Show a page of the person's questions with their status and answers, newest first."""
    chat = update.effective_chat
    if chat is None:
        return
    async with context.db.session() as session:
        page = await store.questions_of(session, chat_id=chat.id, page=page_no, per_page=PER_PAGE)
        originals = {
            q.duplicate_of: await store.get_question(session, question_id=q.duplicate_of)
            for q in page.items if q.duplicate_of is not None
        }
    if not page.total:
        await show(update, MINE_EMPTY, InlineKeyboardMarkup([ask_row()]))
        return
    view = Page(page.items, page.number, page.count)
    lines = [MINE_TITLE.format(total=page.total, page=view.label)]
    for q in page.items:
        lines.append(f"\n<b>#{q.id}</b> · {topic_label(q.topic)} · {asked_on(q, context)}")
        lines.append(f"«{excerpt(q.text, 200)}»")
        lines.append(STATUS.get(q.status, q.status).format(original=q.duplicate_of))
        answered = originals.get(q.duplicate_of) if q.duplicate_of else q
        if answered is not None and answered.answer and answered.status == store.ANSWERED:
            lines.append(f"💬 <i>{office_of(answered, context)}, {answered_on(answered, context)}:"
                         f"</i> {excerpt(answered.answer, 400)}")
    nav = page_row(view, MyQuestions)
    await show(update, "\n".join(lines), InlineKeyboardMarkup([
        *([nav] if nav else []),
        [button("❓ Nueva pregunta", QuestionNew()),
         button("📚 Respondidas", AnsweredQuestions(0))],
    ]))


async def browse_answers(update: Update, context: CabildoContext, tap: AnsweredQuestions) -> None:
    """Page through the published answered questions, newest first."""
    page_no = tap.page
    async with context.db.session() as session:
        page = await store.published_questions(session, page=page_no, per_page=PER_PAGE)
    back = ask_row()
    if not page.total:
        await show(update, BROWSE_EMPTY, InlineKeyboardMarkup([back]))
        return
    view = Page(page.items, page.number, page.count)
    lines = [BROWSE_TITLE.format(page=view.label)]
    rows = []
    for q in page.items:
        lines.append(f"\n<b>#{q.id}</b> · {topic_label(q.topic)}\n«{excerpt(q.text, 200)}»")
        lines.append(f"💬 <i>{office_of(q, context)}, {answered_on(q, context)}:</i> "
                     f"{excerpt(q.answer or '', 350)}")
        assert q.id is not None
        rows.append([button(f"#{q.id} · {q.text[:50]}", AnsweredQuestion(q.id))])
    nav = page_row(view, AnsweredQuestions)
    await show(update, "\n".join(lines), InlineKeyboardMarkup(
        [*rows, *([nav] if nav else []), [button(RANKED, SupportRanking(0))], back]))


async def show_published(update: Update, context: CabildoContext, question_id: int) -> bool:
    """Show one published answer with its support button; False if it is not published."""
    user = update.effective_user
    async with context.db.session() as session:
        question = await store.published_question(session, question_id=question_id)
        if question is None or question.answered_at is None:
            return False
        count = (await store.support_counts(session, [question_id])).get(question_id, 0)
        mine = user is not None and bool(await store.supported_by(
            session, chat_id=user.id, question_ids=[question_id]))
    link = f"https://t.me/{context.bot.username}?start=pregunta_{question.id}"
    share = InlineKeyboardButton(
        "📤 Compartir", url=f"https://t.me/share/url?url={quote(link)}"
    )
    text = CARD.format(
        id=question.id, topic=topic_label(question.topic), text=excerpt(question.text, 1200),
        office=office_of(question, context), when=answered_on(question, context),
        answer=excerpt(question.answer or "", 2500),
    )
    label = f"{SUPPORTED if mine else SUPPORT} ({count})"
    await show(update, text, InlineKeyboardMarkup([
        [button(label, QuestionSupport(question_id, "v"))],
        [share, button("📚 Más respuestas", AnsweredQuestions(0))],
        [button(RANKED, SupportRanking(0))],
    ]))
    return True


async def view_answer(update: Update, context: CabildoContext, tap: AnsweredQuestion) -> None:
    """Show one published question with its full answer."""
    if not await show_published(update, context, tap.question):
        await show(update, GONE, InlineKeyboardMarkup([
            [button("📚 Preguntas respondidas", AnsweredQuestions(0))]
        ]))


async def open_question(update: Update, context: CabildoContext, key: str) -> bool:
    """Show a published question (deep link `/start pregunta_<n>`); False if not available."""
    question_id = tracking_number(key)
    return question_id is not None and await show_published(update, context, question_id)
