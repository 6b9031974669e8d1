"""Compose answers: the sentence with the fact asked for first, then the buttons to go further.

`reply` is tried before the list of matches (`handlers.search`): it answers an attribute of
one item («¿cuánto avance tiene…?», «¿quién es el contratista…?», «¿cuándo es…?»), a
comparison («la obra más cara», «qué secretaría ha ejecutado menos»), a definition («qué
significa apropiación»), how to do something («cómo me inscribo a la audiencia»), and
follow-ups about the item just answered («¿y cuándo la terminan?», «¿y la de la comuna 5?»),
kept `TOPIC_TTL` in the conversation state (the database: any instance can take the next
message). It returns False when the question is none of these, or names nothing clearly.
"""

from __future__ import annotations

from dataclasses import replace
from html import escape

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler

from bot.context import CabildoContext
from handlers.answers.agenda import PERIOD_NAMES, _agenda, period_days
from handlers.answers.comparisons import _comparison, _kind_named
from handlers.answers.counts import (
    BUDGET_FIGURES,
    _asks_open_processes,
    _budget_total,
    _count,
    _open_processes,
    budget_line,
    invested,
    my_comunas,
    says_my_comuna,
    which_comuna,
)
from handlers.answers.items import (
    CHOICE_KINDS,
    THESE,
    WHICH,
    _choices,
    _item_reply,
    event_sentence,
    hit_line,
)
from handlers.answers.markup import _button, _markup
from handlers.callbacks import AnswerChoice, on_press
from handlers.events import event_card
from handlers.flows import TOPIC_FLOW, TOPIC_TTL
from handlers.screens import show
from storage.answers import facts
from storage.answers.ask import Ask, parse
from storage.answers.lexicon import load
from storage.conversations import FlowState, clear_state, get_state, set_state
from storage.search import TOPIC_WORDS, Hit, SearchIndex
from storage.types import utcnow

__all__ = [
    "HANDLERS", "NOT_IN_DATA", "PERIOD_NAMES", "SEND_AS_QUESTION", "TOPIC_TTL", "budget_line",
    "event_sentence", "forget", "hit_line", "outside_lines", "parse", "period_days", "remember",
    "reply",
]

PLURAL_RATIO = 0.5  # asked in plural: the items scoring at least this share of the best
GONE = "Esa opción ya no está disponible."
DEFINITION = "📘 <b>{term}</b>: {definition}"
HOWTO = {
    "votar": ("🗳️ Para votar en los <b>presupuestos participativos</b>, abra la votación de su "
              "comuna, elija los proyectos que prefiera y confirme su voto.",
              "🗳️ Presupuestos participativos", "menu:presupuestos"),
    "preguntar": ("❓ Para preguntar a la Alcaldía escriba <b>/preguntar</b> seguido de su "
                  "pregunta, o toque el botón. Le damos un número para seguirla y le avisamos "
                  "cuando la respondan.", "❓ Preguntar", "menu:preguntar"),
    "alertas": ("🔔 Con <b>/alertas</b> elige su comuna y los temas (obras, eventos, "
                "contratación, resumen semanal) y le avisamos con un mensaje.",
                "🔔 Alertas", "menu:alertas"),
    "encuesta": ("📝 En <b>/encuestas</b> están las encuestas abiertas; toque una para "
                 "responderla.", "📝 Encuestas", "menu:encuestas"),
    "inscribirse": ("📅 En la <b>/agenda</b> están los próximos eventos: abra uno y toque "
                    "«✅ Asistiré».", "📅 Agenda", "menu:agenda"),
}
OUTSIDE = {
    "emergencias": "🚨 Si es una emergencia, llame ya a la <b>línea {phone}</b>.",
    "tramites": "📋 Trámites, impuestos y certificados: {procedures}",
    "pqrsd": "✉️ Peticiones, quejas, reclamos y denuncias (PQRSD): {pqrsd}",
}
SEND_AS_QUESTION = "❓ Enviarla como pregunta a la Alcaldía"
NOT_IN_DATA = "No encontré información sobre «{text}» en los datos de la Alcaldía."
PQRSD_NO_URL = "por los canales de atención de la Alcaldía."


def outside_lines(pointer: str, context: CabildoContext) -> list[str]:
    """Return where to go for something outside accountability (from the settings)."""
    settings = context.settings
    if pointer not in OUTSIDE:
        return []
    pqrsd = (f'<a href="{escape(settings.pqrsd_url)}">{escape(settings.pqrsd_url)}</a>'
             if settings.pqrsd_url else PQRSD_NO_URL)
    url = escape(settings.procedures_url)
    procedures = f'<a href="{url}">{url}</a>'
    return [OUTSIDE[pointer].format(phone=escape(settings.emergency_line), pqrsd=pqrsd,
                                    procedures=procedures)]


# --- the entry point ----------------------------------------------------------------------


async def _topic(update: Update, context: CabildoContext) -> FlowState | None:
    """Return the subject of the last answer in this chat, if recent (read once per update)."""
    stashed = context.known_state
    if stashed is None:
        user, chat = update.effective_user, update.effective_chat
        if user is None or chat is None:
            return None
        async with context.db.session() as session:
            stashed = (await get_state(session, chat_id=chat.id, user_id=user.id),)
        context.known_state = stashed
    state = stashed[0]
    if state is None or state.flow != TOPIC_FLOW or state.updated_at is None:
        return None
    return state if utcnow() - state.updated_at <= TOPIC_TTL else None


async def remember(update: Update, context: CabildoContext, data: dict[str, str]) -> None:
    """Keep the subject of this answer for a follow-up, unless another flow is pending."""
    user, chat = update.effective_user, update.effective_chat
    if user is None or chat is None:
        return
    stashed = context.known_state
    if stashed is not None and stashed[0] is not None and stashed[0].flow != TOPIC_FLOW:
        return  # a survey or a basket in progress is not replaced by a subject
    async with context.db.session() as session:
        if stashed is None:
            current = await get_state(session, chat_id=chat.id, user_id=user.id)
            if current is not None and current.flow != TOPIC_FLOW:
                return
        await set_state(session, chat_id=chat.id, user_id=user.id,
                        state=FlowState(TOPIC_FLOW, "", data))


async def forget(update: Update, context: CabildoContext) -> None:
    """Drop the kept subject (a new subject that is not one item, or the menu)."""
    user, chat = update.effective_user, update.effective_chat
    stashed = context.known_state
    if user is None or chat is None or (stashed is not None and (
            stashed[0] is None or stashed[0].flow != TOPIC_FLOW)):
        return
    async with context.db.session() as session:
        await clear_state(session, chat_id=chat.id, user_id=user.id, flows=[TOPIC_FLOW])


# Kinds named in plural: how they go is a list, not one item's figure.
PLURAL_KINDS = frozenset({"metas", "obras", "eventos", "procesos", "contratos", "proyectos"})
# Attributes that belong to events before anything else («¿cuándo es…?», «¿a qué hora?»).
EVENT_FIRST = frozenset({"fecha", "hora", "cupos", "sitio"})


def _kinds_for(ask: Ask) -> tuple[str, ...]:
    """Return the kinds that have the attribute asked, the likeliest first."""
    kinds = tuple(k for k, attrs in load().kind_attributes.items() if ask.attribute in attrs)
    if ask.attribute in EVENT_FIRST and "evento" in kinds:
        kinds = ("evento", *(k for k in kinds if k != "evento"))
    if ask.attribute in BUDGET_FIGURES and "presupuesto" in kinds:
        kinds = ("presupuesto", *(k for k in kinds if k != "presupuesto"))
    if ask.kind and ask.kind in kinds:
        return (ask.kind,)
    return kinds


async def reply(update: Update, context: CabildoContext, text: str, index: SearchIndex) -> bool:
    """Answer with the fact asked for; False when the question is not one of these."""
    message, chat = update.effective_message, update.effective_chat
    if message is None or chat is None:
        return False
    ask = parse(text)
    answer: tuple[str, InlineKeyboardMarkup] | None = None
    subject: dict[str, str] | None = None
    if ask.intent == "fuera":
        lines = [NOT_IN_DATA.format(text=escape(text[:80])), *outside_lines(ask.pointer, context)]
        answer = "\n".join(lines), _markup(
            [_button(SEND_AS_QUESTION, "preg:e")])
        subject = {"unanswered": text[:2000]}
    elif ask.intent == "definir":
        lines = [DEFINITION.format(term=escape(e.term), definition=escape(e.definition))
                 for e in ask.terms[:4]]
        answer = "\n\n".join(lines), _markup()
    elif ask.intent == "como":
        answer = await _howto(update, context, index, ask)
    elif ask.intent == "comparar":
        topic = await _topic(update, context) if ask.starts_follow and not ask.content else None
        listed_before = str(topic.data.get("list", "")) if topic is not None else ""
        if listed_before:  # «obras en la comuna 4» … «¿y cuál es la más cara?»: among those
            ask = replace(ask, rest=f"{listed_before} {ask.rest}",
                          kind=ask.kind or _kind_named(listed_before))
        answer = await _comparison(context, index, ask)
    elif ask.intent == "contar":
        answer = await _count(context, index, ask)
    elif ask.intent == "agenda":
        answer = await _agenda(context, ask)
    elif _asks_open_processes(ask):
        answer = await _open_processes(context, index, ask)
    elif (places := await _invested_asked(update, context, index, ask)) is not None:
        answer = await invested(context, places) if places else which_comuna()
        subject = _invested_subject(places) if places else None
    elif ask.attribute in BUDGET_FIGURES and not ask.starts_follow and all(
            w in TOPIC_WORDS for w in ask.content):  # «¿cuánto se ha pagado del presupuesto?»
        answer = await _budget_total(context, ask.attribute)
    else:
        topic = await _topic(update, context)
        found = await _about(context, index, ask, topic)
        if found is not None:
            hits, attribute = found
            if len(hits) == 1:
                answer = await _item_reply(context, hits[0], attribute, chat.id)
                subject = {"kind": hits[0].kind, "key": hits[0].key, "ref": hits[0].ref,
                           "title": hits[0].title[:200], "attribute": attribute}
            else:
                answer = await _choices(context, hits, attribute,
                                        THESE.format(count=len(hits)) if ask.plural else WHICH)
    if answer is None:
        return False
    if subject is not None:  # kept first: a quick follow-up must find it
        await remember(update, context, subject)
    await message.reply_text(answer[0][:4000], reply_markup=answer[1])
    return True


async def _invested_asked(update: Update, context: CabildoContext, index: SearchIndex, ask: Ask
                          ) -> tuple[str, ...] | None:
    """The comunas a question asks what has been invested in («¿cuánto se invierte en la
    comuna 4?», «… en mi comuna?», and after one of those «¿y en la 5?»); () for «mi comuna»
    when the person's is not known; None when it asks something else."""
    if ask.attribute == "valor" and not ask.starts_follow:
        if says_my_comuna(ask):
            chat, user = update.effective_chat, update.effective_user
            chat_id = chat.id if chat else 0
            return await my_comunas(context, telegram_id=user.id if user else chat_id,
                                    chat_id=chat_id)
        return index.only_places(ask.rest) or None
    if ask.starts_follow and (places := index.only_places(ask.rest)):
        topic = await _topic(update, context)
        return places if topic is not None and topic.data.get("invested") else None
    return None


def _invested_subject(codes: tuple[str, ...]) -> dict[str, str]:
    """What an answer about comunas' investment leaves for a follow-up: the comunas («¿y en
    la 5?» asks the same of another) and their works as a list («¿y cuál es la más cara?»
    compares those)."""
    return {"invested": ",".join(codes), "list": f"obras en la comuna {' y '.join(codes)}"}


async def _about(context: CabildoContext, index: SearchIndex, ask: Ask, topic: FlowState | None
                 ) -> tuple[list[Hit], str] | None:
    """Return the item(s) an attribute question or a follow-up is about, and the attribute."""
    today = context.settings.today()
    previous = topic.data if topic is not None else {}
    # «¿y cuánto tiene de presupuesto?»: words that only name a section say nothing new.
    said = [w for w in ask.content if w not in TOPIC_WORDS]
    if previous.get("kind") and ask.starts_follow and said and not ask.frame_only and (
            len(said) <= 3):
        # «¿y la de Guarín?», «¿y el de salud?»: the same question about another one of the
        # same kind of thing (what the last one's title shares with others: «plaza de mercado»)
        kind = str(previous["kind"])
        attribute = ask.attribute or str(previous.get("attribute") or "resumen")
        found = facts.match(index, ask.rest, (kind,), today=today)
        if found.clear is None:
            words = index.shared_words(str(previous.get("title", "")), kind)
            found = facts.match(index, " ".join([*words, ask.rest]), (kind,), today=today)
        if found.hits:
            return found.hits, attribute
    if previous.get("kind") and (ask.follow or ask.starts_follow) and (
            not said or ask.frame_only):
        kind = str(previous["kind"])
        attribute = ask.attribute if ask.attribute in load().kind_attributes.get(kind, ()) else (
            str(previous.get("attribute") or "resumen") if not ask.attribute else "resumen")
        if ask.frame_only:  # «¿y la de la comuna 5?»: the same kind of thing there
            words = index.shared_words(str(previous.get("title", "")), kind)
            found = facts.match(index, " ".join([*words, ask.rest]), (kind,), today=today)
            return (found.hits, attribute) if found.hits else None
        hit = Hit(kind, str(previous["key"]), str(previous.get("title", "")), 1.0,
                  str(previous.get("ref", "")))
        return [hit], attribute
    if ask.intent != "atributo" or not ask.content:
        return None
    if ask.attribute in ("resumen", "avance", "estado") and PLURAL_KINDS & set(ask.words):
        return None  # «¿cómo van las metas de salud?»: the list, each with its figure
    kinds = _kinds_for(ask)
    found = facts.Match()
    if ask.attribute == "sitio":  # «¿dónde es la visita de obra…?»: an event, if one is named
        found = facts.match(index, ask.rest, ("evento",), today=today)
    if not found.hits or found.relaxed:
        found = facts.match(index, ask.rest, kinds, today=today)
    if not found.hits or (found.relaxed and ask.pointer):
        return None  # «dónde saco el pasaporte»: a trámite, not the place of some work
    places = index.comunas_named(ask.rest)
    if places and all(index.elsewhere(hit, places) for hit in found.hits):
        return None  # another comuna's: the list says there is none in the one asked about
    if ask.plural and found.clear is not None:  # «¿cuándo son los facebook live?»: all of them
        same = [h for h in index.ranked(ask.rest, today=today) if h.kind == found.clear.kind]
        return [h for h in same if h.score >= PLURAL_RATIO * same[0].score][:5], ask.attribute
    return found.hits, ask.attribute


async def _howto(update: Update, context: CabildoContext, index: SearchIndex, ask: Ask
                 ) -> tuple[str, InlineKeyboardMarkup] | None:
    """Answer «cómo me inscribo…», «cómo voto», «cómo pregunto» with the action itself."""
    chat = update.effective_chat
    text, label, data = HOWTO[ask.action]
    if ask.action == "inscribirse" and ask.content and chat is not None:
        today = context.settings.today()
        found = facts.match(index, ask.rest, ("evento",), today=today)
        known = [w for w in ask.content if index.knows(w)]
        if found.clear is None and known:  # «¿cuándo abren las inscripciones para la
            # audiencia?»: the words the events hold name the event; the others ask about it
            found = facts.match(index, " ".join(known), ("evento",), today=today)
        if found.clear is not None and found.clear.ref.isdigit():
            async with context.db.session() as session:
                event = await facts.event(session, int(found.clear.ref))
            if event is not None:
                card, markup = await event_card(context, event, chat.id)
                intro = ("Para inscribirse toque «✅ Asistiré» en la ficha del evento:\n\n"
                         if any("Asistiré" in b.text for row in markup.inline_keyboard
                                for b in row) else "")
                return intro + card, markup
    return text, _markup([_button(label, data)])


async def chosen(update: Update, context: CabildoContext, choice: AnswerChoice) -> None:
    """Answer the question asked about the item picked from «¿Se refiere a…?»."""
    chat = update.effective_chat
    if chat is None:
        return
    attribute, key = choice.attribute, choice.key
    kind = next((k for k, v in CHOICE_KINDS.items() if v == choice.kind), "")
    hit = Hit(kind, key, "", 1.0, key if kind == "evento" else "")
    if kind == "presupuesto":
        async with context.db.session() as session:
            _, per_office = await facts.offices(session)
        if not key.isdigit() or int(key) >= len(per_office):
            await show(update, GONE)
            return
        hit = Hit(kind, per_office[int(key)].name, per_office[int(key)].name, 1.0)
    found = await _item_reply(context, hit, attribute, chat.id) if kind else None
    if found is None:
        await show(update, GONE)
        return
    await remember(update, context, {"kind": hit.kind, "key": hit.key, "ref": hit.ref,
                                     "title": "", "attribute": attribute})
    await show(update, found[0][:4000], found[1])


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    on_press(AnswerChoice, chosen),
]
