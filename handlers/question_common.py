"""What citizens' and staff's question screens share: topics, flow timing, small helpers."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update

from bot.context import CabildoContext
from bot.formatting import local_date
from handlers.callbacks import AnsweredQuestions, MyQuestions, QuestionNew, SupportRanking, button
from storage import questions as store
from storage.conversations import FlowState, clear_state, set_state
from storage.models import CitizenQuestion
from storage.types import utcnow

ICONS = {"audiencia": "🎤", "obras": "🏗️", "presupuesto": "💰", "metas": "🎯",
         "contratacion": "📑", "otro": "💬"}
# (key, label): the hearing first, then the usual subjects of the offices (`store.TOPICS`).
TOPICS: tuple[tuple[str, str], ...] = tuple(
    (key, f"{ICONS.get(key, '❓')} {name}") for key, name in store.TOPICS
)
TOPIC_NAMES = dict(TOPICS)
FLOW = "preguntar"
STAFF_FLOW = "preguntas"  # staff answering or marking a duplicate (`handlers.question_staff`)
PER_PAGE = 5
# Text typed this long after a flow began goes to the free-text answers instead.
FLOW_TTL = timedelta(minutes=30)
RANKED = "📋 Preguntas más apoyadas"
GONE = "Esa opción ya no está disponible."


def tracking_number(text: str) -> int | None:
    """Read a tracking number as people write it: `12` or `#12`."""
    text = text.strip().lstrip("#")
    return int(text) if text.isdigit() and len(text) < 10 else None


def now_text() -> str:
    """Return now (UTC) as flows store it: when a step began."""
    return utcnow().isoformat()


def lapsed(state: FlowState) -> bool:
    """Tell whether a question or answer flow was started more than `FLOW_TTL` ago."""
    try:
        since = datetime.fromisoformat(str(state.data.get("at")))
    except ValueError:
        return True
    return utcnow() - since > FLOW_TTL


def topic_label(key: str) -> str:
    """Return a topic as people read it («🏗️ Obras»)."""
    return TOPIC_NAMES.get(key, key)


def asked_on(question: CitizenQuestion, context: CabildoContext) -> str:
    """Return the local day a question was asked, in words."""
    local = question.created_at.astimezone(context.settings.tz).date()
    return local_date(local, context.settings.locale)


async def save_flow(update: Update, context: CabildoContext, state: FlowState | None) -> None:
    """Store the person's flow state, or clear it when `state` is None."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    async with context.db.session() as session:
        if state is None:
            await clear_state(session, chat_id=chat.id, user_id=user.id)
        else:
            await set_state(session, chat_id=chat.id, user_id=user.id, state=state)


def elsewhere() -> InlineKeyboardMarkup:
    """Return the ways on from a question: answers already published, my questions, menu."""
    return InlineKeyboardMarkup([
        [button("📚 Preguntas respondidas", AnsweredQuestions(0)),
         button("🙋 Mis preguntas", MyQuestions(0))],
        [button(RANKED, SupportRanking(0)), button("🏠 Menú", "menu:inicio")],
    ])


def office_of(question: CitizenQuestion, context: CabildoContext) -> str:
    """Return who answers a question: its office, or the municipality itself."""
    return escape(question.office or f"la Alcaldía de {context.settings.municipality_name}")


def answered_on(question: CitizenQuestion, context: CabildoContext) -> str:
    """Return the local day a question was answered, in words."""
    assert question.answered_at is not None
    return local_date(question.answered_at.astimezone(context.settings.tz).date(),
                      context.settings.locale)


def ask_row() -> list[InlineKeyboardButton]:
    """Return the «❓ Hacer una pregunta» and «🏠 Menú» buttons, under a list or alone."""
    return [button("❓ Hacer una pregunta", QuestionNew()), button("🏠 Menú", "menu:inicio")]
