"""Personal data: consent notice, `/mis_datos` and `/borrar_datos` (Ley 1581 de 2012).

Consent picks up where the person was: the notice's «✅ Acepto» carries what they asked for
(`ConsentResume`, `priv:ok:<message>:<callback data>`, within Telegram's 64 bytes), and
accepting replays it
through the whole handler chain as if they had tapped it again, on the message they tapped
(so the card above shows they are registered, following, answering the survey). A command
replays its main-menu button (`/alertas` → `menu:alertas`) on the notice itself. A few
buttons are not replayed but offered again (casting a ballot should be a tap of its own);
a notice asked from elsewhere, or whose button data is too long, says to tap again.
"""

from __future__ import annotations

import contextlib
import re
import time
from html import escape
from typing import Any

from telegram import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from telegram.error import BadRequest
from telegram.ext import BaseHandler

from bot.context import CabildoContext
from bot.formatting import local_datetime, plural
from handlers.callbacks import (
    ConsentAccept,
    ConsentDecline,
    ConsentResume,
    DataDelete,
    DataKeep,
    button,
    on_press,
)
from handlers.flows import TEXT_STEPS
from handlers.keyboards import MENU_ITEMS, main_menu
from storage.broadcasts import TOPICS
from storage.conversations import clear_state
from storage.privacy import (
    KeptMarks,
    delete_personal_data,
    give_consent,
    has_consent,
    kept_marks,
    personal_data,
)

# A second press of the same button this soon is a double tap: one notice is enough. The
# memory is this process's (PTB chat_data): behind several webhook instances two taps that
# land on different instances may still show two notices; nothing else is repeated.
DOUBLE_TAP_SECONDS = 5.0
NOTICE_SHOWN_FOR = "consent_notice_for"  # chat_data: (message id, button data), when
NOTICE = (
    "🔒 <b>Sus datos personales</b>\n\n"
    "Para {action}, la Alcaldía de {city} guarda su id de Telegram y lo que usted elija "
    "(comuna, temas, respuestas). Los usa solo para este servicio y no los comparte. "
    "Puede verlos con /mis_datos y borrarlos con /borrar_datos cuando quiera "
    "(Ley 1581 de 2012).{policy}\n\n¿Está de acuerdo?"
)
POLICY = '\n<a href="{url}">Política de tratamiento de datos</a>.'
ACCEPTED = "✅ Gracias. Ya puede {action}."
TAP_AGAIN = "✅ Gracias. Ya puede {action}. Toque otra vez el botón que había tocado."
OFFER_AGAIN = "✅ Gracias. Ya puede {action}. Para seguir, toque:"
DECLINED = "Entendido. Puede seguir consultando la información sin dar sus datos."
ALREADY_ACCEPTED = "Ya aceptó el tratamiento de sus datos. Véalos con /mis_datos."
NOTHING_KEPT = "No tengo ningún dato suyo guardado, aparte de esta conversación."
CONFIRM_DELETE = (
    "¿Quiere borrar sus datos? Se borran sus alertas, inscripciones a eventos y el "
    "vínculo con sus preguntas, respuestas a encuestas y votos. Estos siguen contando en los "
    "totales, sin su id de Telegram y con una marca cifrada para no contarlos dos veces: si "
    "vuelve a votar en la misma ronda, el voto nuevo reemplaza al anterior. Esto no se puede "
    "deshacer."
)
DELETED = (
    "Listo: borré sus datos. Sus votos y respuestas siguen contando una sola vez, sin su "
    "id de Telegram."
)
KEPT_DATA = "Sus datos no se borraron."
MARKS = (
    "🔐 {what} {verb} sin su id de Telegram, solo con una marca cifrada para que no se "
    "cuenten dos veces."
)
PHONE_MARKS = (
    "🔐 Su número de teléfono, verificado para votar en {rounds}, no lo guardo: queda sin el "
    "número ni su id de Telegram, solo con una marca cifrada para que no se use dos veces en "
    "la misma ronda."
)
DEFAULT_ACTION = "usar las funciones personales"
KINDS = {"comuna": "comuna", "tema": "tema", "obra": "obra", "meta": "meta"}
# Role codes as /mis_datos shows them: plain words, not the codes staff type in /rol.
ROLE_LABELS = {
    "ciudadano": "sin permisos especiales", "lider": "líder comunal",
    "staff": "equipo de la Alcaldía", "admin": "administración del bot",
}

# Buttons offered again instead of replayed, with their label: a ballot is cast by a tap the
# person makes knowing it is their vote (the ballot screen tells them to tap again).
OFFERED_AGAIN = {"pp:v:": "✅ Votar"}
_MENU_AREAS = {area for _, area in MENU_ITEMS}
_ACTION = re.compile(r"Para (.{1,120}?), la Alcaldía de ")


def consent_keyboard(accept: ConsentAccept | ConsentResume) -> InlineKeyboardMarkup:
    """Return the accept/decline buttons of the consent notice."""
    return InlineKeyboardMarkup([[
        button("✅ Acepto", accept), button("No, gracias", ConsentDecline()),
    ]])


def _accept_data(update: Update, resume: str | None) -> ConsentAccept | ConsentResume:
    """Return the «Acepto» data: what to replay once the person accepts, if anything."""
    query, message = update.callback_query, update.effective_message
    if resume is not None:
        origin, target = "", resume
    elif query is not None and query.data and not query.data.startswith("priv:"):
        origin = str(query.message.message_id) if isinstance(query.message, Message) else ""
        target = query.data
    else:
        text = (message.text or "") if message is not None and query is None else ""
        command = text.split()[0].lstrip("/").split("@")[0].lower() if text.startswith("/") else ""
        if command not in _MENU_AREAS:
            return ConsentAccept()
        origin, target = "", f"menu:{command}"
    accept = ConsentResume(origin, target)
    try:
        accept.encode()  # refuses data over Telegram's 64 bytes
    except ValueError:
        return ConsentResume("", "")  # accepting it says to tap again
    return accept


async def ensure_consent(
    update: Update, context: CabildoContext, action: str, *, resume: str | None = None
) -> bool:
    """Return True if the person consented; otherwise show the notice and return False.

    Accepting the notice then replays what the person asked for: the tapped button, the
    main-menu button of the command, or `resume` (callback data run on the notice itself).
    """
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return False
    async with context.db.session() as session:
        if await has_consent(session, telegram_id=user.id):
            return True
    if _tapped_twice(update, context):
        return False  # the notice from the first tap is already on its way
    policy = context.settings.privacy_policy_url
    await message.reply_text(
        NOTICE.format(
            action=escape(action),
            city=escape(context.settings.municipality_name),
            policy=POLICY.format(url=escape(policy)) if policy else "",
        ),
        reply_markup=consent_keyboard(_accept_data(update, resume)),
    )
    return False


def _tapped_twice(update: Update, context: CabildoContext) -> bool:
    """Tell whether this button press repeats one that got the notice moments ago."""
    query = update.callback_query
    if query is None or query.message is None or context.chat_data is None:
        return False
    key = (query.message.message_id, query.data)
    now = time.monotonic()
    last = context.chat_data.get(NOTICE_SHOWN_FOR)
    context.chat_data[NOTICE_SHOWN_FOR] = (key, now)
    return last is not None and last[0] == key and now - last[1] < DOUBLE_TAP_SECONDS


class _ReplayedQuery(CallbackQuery):
    """A button press replayed after consent; its answers are kept for the real press."""

    __slots__ = ("_answers",)
    _answers: list[str]

    async def answer(
        self, text: str | None = None, show_alert: bool | None = None, *args: Any,
        **kwargs: Any,
    ) -> bool:
        """Keep the answer: the real button press (the «Acepto» tap) gives it."""
        self._answers.append(text or "")
        return True


async def _replay(
    update: Update, context: CabildoContext, origin: str, target: str, notice: Message
) -> str:
    """Run `target` as if tapped on message `origin` (or the notice); return its answer."""
    query = update.callback_query
    assert query is not None
    message = notice
    if origin:
        message = Message(message_id=int(origin), date=notice.date, chat=notice.chat)
        message.set_bot(context.bot)
    replayed = _ReplayedQuery(
        id=query.id, from_user=query.from_user, chat_instance=query.chat_instance,
        message=message, data=target,
    )
    replayed._answers = []
    replayed.set_bot(context.bot)
    again = Update(update_id=update.update_id, callback_query=replayed)
    again.set_bot(context.bot)
    await context.application.process_update(again)
    return next((text for text in reversed(replayed._answers) if text), "")


def _action(notice: Message) -> str:
    """Return what the notice asked consent for, as written in it."""
    found = _ACTION.search(notice.text or "")
    return escape(found.group(1)) if found else DEFAULT_ACTION


async def decline(update: Update, context: CabildoContext, _: ConsentDecline) -> None:
    """Record that the person declined the consent notice; a question typed before is lost."""
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    if query is None or user is None or chat is None:
        return
    if context.chat_data is not None:  # answered: the next tap may show the notice again
        context.chat_data.pop(NOTICE_SHOWN_FOR, None)
    async with context.db.session() as session:  # a question typed before is not kept
        await clear_state(session, chat_id=chat.id, user_id=user.id, flows=list(TEXT_STEPS))
    with contextlib.suppress(BadRequest):  # a double tap: the notice already shows it
        await query.edit_message_text(DECLINED)


async def consent_answer(
    update: Update, context: CabildoContext, tap: ConsentAccept | ConsentResume
) -> None:
    """Record the consent, then do what the person had asked for."""
    query, user, chat = update.callback_query, update.effective_user, update.effective_chat
    if query is None or user is None or chat is None:
        return
    if context.chat_data is not None:  # answered: the next tap may show the notice again
        context.chat_data.pop(NOTICE_SHOWN_FOR, None)
    async with context.db.session() as session:
        fresh = not await has_consent(session, telegram_id=user.id)
        await give_consent(session, telegram_id=user.id, chat_id=chat.id)
    origin, target = (tap.origin, tap.target) if isinstance(tap, ConsentResume) else ("", "")
    resumable = isinstance(tap, ConsentResume) and (origin.isdigit() or origin == "")
    notice = query.message if isinstance(query.message, Message) else None
    if not fresh or notice is None:
        # A double tap, or an old notice: the first tap did (or the person already did) it.
        await query.answer(ALREADY_ACCEPTED)
        return
    action = _action(notice)
    again = next((label for prefix, label in OFFERED_AGAIN.items()
                  if target.startswith(prefix)), None)
    if not resumable:
        text, markup = ACCEPTED.format(action=action), None
    elif not target or target.startswith("priv:"):
        text, markup = TAP_AGAIN.format(action=action), None
    elif again is not None:
        text = OFFER_AGAIN.format(action=action)
        markup = InlineKeyboardMarkup([[InlineKeyboardButton(again, callback_data=target)]])
    else:
        edited: Message | bool = notice
        with contextlib.suppress(BadRequest):
            edited = await query.edit_message_text(ACCEPTED.format(action=action))
        answer = await _replay(update, context, origin, target,
                               edited if isinstance(edited, Message) else notice)
        await query.answer(answer or None, show_alert=bool(answer))
        return
    await query.answer()
    with contextlib.suppress(BadRequest):
        await query.edit_message_text(text, reply_markup=markup)


async def privacy(update: Update, context: CabildoContext) -> None:
    """Show the personal-data notice, or when the person already accepted it."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    if await ensure_consent(update, context, DEFAULT_ACTION):
        await message.reply_text(ALREADY_ACCEPTED)


def _marks_line(marks: KeptMarks) -> str:
    """Say which past answers, votes and verified numbers only a keyed mark keeps, or ""."""
    parts = []
    if marks.survey_responses:
        parts.append(plural(marks.survey_responses, "respuesta a una encuesta",
                            "respuestas a encuestas"))
    if marks.ballots:
        parts.append(plural(marks.ballots, "voto en presupuesto participativo",
                            "votos en presupuestos participativos"))
    if marks.question_supports:
        parts.append(plural(marks.question_supports, "apoyo a una pregunta",
                            "apoyos a preguntas"))
    lines = []
    if parts:
        total = marks.survey_responses + marks.ballots + marks.question_supports
        lines.append(MARKS.format(what=" y ".join(parts),
                                  verb="queda" if total == 1 else "quedan"))
    if marks.verified_phones:
        lines.append(PHONE_MARKS.format(rounds=plural(
            marks.verified_phones, "ronda de presupuesto participativo",
            "rondas de presupuestos participativos")))
    return "\n".join(lines)


async def my_data(update: Update, context: CabildoContext) -> None:
    """Show everything the bot keeps about the person."""
    user, message = update.effective_user, update.effective_message
    if user is None or message is None:
        return
    async with context.db.session() as session:
        data = await personal_data(session, telegram_id=user.id)
        marks = _marks_line(await kept_marks(session, chat_id=user.id))
    if data is None:
        await message.reply_text(NOTHING_KEPT + (f"\n\n{marks}" if marks else ""))
        return
    tz, locale = context.settings.tz, context.settings.locale
    role = "admin" if user.id in context.settings.admin_ids else data.role  # ADMIN_IDS rule
    consent = local_datetime(data.consent_at, tz, locale) if data.consent_at else "no ha aceptado"
    subs = ", ".join(  # topics by name («Contratación»), not by code
        f"{KINDS.get(k, k)} {escape(TOPICS.get(v, v) if k == 'tema' else v)}"
        for k, v in data.subscriptions
    ) or "ninguna"
    lines = [
        "🔒 <b>Lo que guardo sobre usted</b>",
        f"Id de Telegram: {data.telegram_id}",
        f"Rol: {ROLE_LABELS.get(role, role)}",
        f"Nombre: {escape(data.first_name)}" if data.first_name else "Nombre: no lo guardo",
        # Written `1 · Norte`, as everywhere else in the bot.
        f"Comuna: {escape(data.comuna.replace(' - ', ' · ', 1))}" if data.comuna
        else "Comuna: no la ha indicado",
        f"Primer contacto: {local_datetime(data.created_at, tz, locale)}",
        f"Aceptó el tratamiento de datos: {consent}",
        f"Alertas: {subs}",
        f"Inscripciones a eventos: {data.registrations}"
        + (f" ({plural(data.registrations_cancelled, 'cancelada', 'canceladas')})"
           if data.registrations_cancelled else ""),
        f"Preguntas enviadas: {data.questions}",
        f"Encuestas respondidas (no anónimas): {data.survey_responses}",
        f"Votos en presupuestos participativos: {data.ballots}",
        *([marks] if marks else []),
        "",
        "Para borrarlo todo: /borrar_datos",
    ]
    await message.reply_text("\n".join(lines))


async def delete_data(update: Update, context: CabildoContext) -> None:
    """Ask for confirmation before deleting the person's data."""
    if update.effective_message is None:
        return
    keyboard = InlineKeyboardMarkup([[
        button("🗑️ Sí, borrar", DataDelete()), button("Cancelar", DataKeep()),
    ]])
    await update.effective_message.reply_text(CONFIRM_DELETE, reply_markup=keyboard)


async def delete_confirmed(
    update: Update, context: CabildoContext, tap: DataDelete | DataKeep
) -> None:
    """Delete the person's data after they confirmed, or keep it if they cancelled."""
    query, user = update.callback_query, update.effective_user
    if query is None or user is None:
        return
    text = KEPT_DATA
    if isinstance(tap, DataDelete):
        async with context.db.session() as session:
            await delete_personal_data(session, telegram_id=user.id)
        text = DELETED
    with contextlib.suppress(BadRequest):  # a double tap: done already, and harmless
        await query.edit_message_text(text, reply_markup=main_menu())


HANDLERS: list[BaseHandler[Update, CabildoContext, None]] = [
    # Answering the notice answers the tap itself: with what the replayed button said.
    on_press(ConsentAccept, consent_answer, answer=False),
    on_press(ConsentResume, consent_answer, answer=False),
    on_press(ConsentDecline, decline),
    on_press(DataDelete, delete_confirmed),
    on_press(DataKeep, delete_confirmed),
]
