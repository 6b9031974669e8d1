"""Support for hearing questions: the asker lets others see a pending question
(`QuestionShare`), «📋 Preguntas más apoyadas» (`SupportRanking`) and «👍 Yo también quiero
saber» (`QuestionSupport`), from a card or a ranking page. A support needs no consent: it is
kept under the person's pseudonym only (`storage.questions`)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update

from bot.context import CabildoContext
from handlers.callbacks import (
    AnsweredQuestion,
    QuestionShare,
    QuestionSupport,
    SupportRanking,
    button,
)
from handlers.paging import Page, page_row
from handlers.question_browse import show_published
from handlers.question_common import (
    PER_PAGE,
    answered_on,
    ask_row,
    elsewhere,
    office_of,
    topic_label,
)
from handlers.question_notices import excerpt
from handlers.screens import show
from storage import questions as store

SHARED = (
    "👍 Listo: su pregunta <b>#{id}</b> aparece en «Preguntas más apoyadas», sin su nombre. "
    "Le avisaré aquí cuando la respondan."
)
NOT_SHARED = (
    "Listo: su pregunta <b>#{id}</b> solo la verá la Alcaldía. Le avisaré aquí cuando la "
    "respondan."
)
SUPPORT_ADDED = "👍 Gracias: su apoyo quedó contado."
SUPPORT_AGAIN = "Ya había apoyado esta pregunta: cada persona cuenta una sola vez. ¡Gracias!"
RANKED_TITLE = (
    "📋 <b>Preguntas más apoyadas</b> · {page}\n"
    "Toque «👍» en las que usted también quiere que respondan: cada persona cuenta una vez."
)
RANKED_EMPTY = (
    "📋 Todavía no hay preguntas para apoyar. Envíe la suya con «❓ Hacer una pregunta»."
)
RANKED_PENDING = "🟡 Sin responder todavía"
RANKED_ANSWERED = "🟢 Respondió {office} el {when}"


async def share_choice(update: Update, context: CabildoContext, tap: QuestionShare) -> None:
    """Record whether the asker lets others see and support their pending hearing question."""
    query, chat = update.callback_query, update.effective_chat
    if query is None or chat is None:
        return
    question_id = tap.question
    try:
        async with context.db.session() as session:
            await store.set_shared(session, question_id=question_id, chat_id=chat.id,
                                   shared=tap.shared == "1")
    except store.QuestionError as exc:
        await query.answer(str(exc), show_alert=True)
        return
    await query.answer()
    await show(update, (SHARED if tap.shared == "1" else NOT_SHARED).format(id=question_id),
               elsewhere())


async def ranking(update: Update, context: CabildoContext, page_no: int) -> None:
    """Show one page of the questions people may support, most supported first."""
    user = update.effective_user
    async with context.db.session() as session:
        page = await store.most_supported(session, page=page_no, per_page=PER_PAGE)
        ids = [q.id for q in page.items if q.id is not None]
        mine = (await store.supported_by(session, chat_id=user.id, question_ids=ids)
                if user is not None else set())
    back = ask_row()
    if not page.total:
        await show(update, RANKED_EMPTY, InlineKeyboardMarkup([back]))
        return
    view = Page(page.items, page.number, page.count)
    lines = [RANKED_TITLE.format(page=view.label)]
    rows = []
    for q in page.items:
        assert q.id is not None
        count = page.support.get(q.id, 0)
        lines.append(f"\n<b>#{q.id}</b> · 👍 {count} · {topic_label(q.topic)}\n"
                     f"«{excerpt(q.text, 250)}»")
        buttons = [button(f"{'✅' if q.id in mine else '👍'} #{q.id} ({count})",
                           QuestionSupport(q.id, f"r{page.number}"))]
        if q.status == store.ANSWERED and q.answered_at is not None:
            lines.append(RANKED_ANSWERED.format(office=office_of(q, context),
                                                when=answered_on(q, context)))
            buttons.append(button(f"💬 Respuesta #{q.id}", AnsweredQuestion(q.id)))
        else:
            lines.append(RANKED_PENDING)
        rows.append(buttons)
    nav = page_row(view, SupportRanking)
    await show(update, "\n".join(lines),
               InlineKeyboardMarkup([*rows, *([nav] if nav else []), back]))


async def support_question(update: Update, context: CabildoContext, tap: QuestionSupport) -> None:
    """Count «Yo también quiero saber» once per person, then show the screen it came from."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    question_id, where = tap.question, tap.back
    try:
        async with context.db.session() as session:
            result = await store.support(session, question_id=question_id, chat_id=user.id)
    except store.QuestionError as exc:
        await query.answer(str(exc), show_alert=True)
        return
    await query.answer(SUPPORT_ADDED if result.added else SUPPORT_AGAIN,
                       show_alert=not result.added)
    if where.startswith("r") and where[1:].isdigit():
        await ranking(update, context, int(where[1:]))
    elif not await show_published(update, context, question_id):
        await ranking(update, context, 0)
