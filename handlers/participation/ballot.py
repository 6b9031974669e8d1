"""Voting with the basket: consent, the phone check some rounds ask for (the contact
button; only a keyed hash of the number is kept) and the saved ballot."""

from __future__ import annotations

from html import escape

from telegram import (
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    Update,
)
from telegram.constants import ChatType

from bot.context import CabildoContext
from bot.formatting import local_datetime, money
from handlers.callbacks import (
    RoundOpen,
    VoteCast,
    button,
)
from handlers.participation.common import (
    CLOSED,
    FLOW,
    GONE,
    NAME_CHARS,
    NOT_OPEN,
    PRIVATE_ONLY,
    comuna_name,
    short,
)
from handlers.participation.rounds import basket, refuse_closed
from handlers.privacy import ensure_consent
from handlers.screens import show
from storage.conversations import FlowState, clear_state, get_state, set_state
from storage.participation import (
    BallotOutcome,
    RoundDetail,
    is_verified,
    remember_comuna,
    round_detail,
    save_ballot,
    verify_phone,
)
from storage.privacy import has_consent
from storage.types import utcnow

SAVED = (
    "✅ <b>Su voto quedó guardado</b>\nComuna {comuna} · ronda {ronda}\n{projects}\n"
    "Total: {total} de {budget}.{replaced}\n\n{change}"
)
REPLACED = "\nSu voto anterior, en la comuna {comuna}, quedó reemplazado."
CHANGE_UNTIL = "Puede cambiarlo con /presupuestos hasta el {when}"
CHANGE_ANYTIME = "Puede cambiarlo con /presupuestos mientras la votación esté abierta."
EMPTY = "Marque al menos un proyecto antes de votar."
OVER = "Su selección pasa el presupuesto de la comuna; quite algún proyecto."
MISMATCH = "Su selección tiene proyectos que no son de esta comuna; revísela."
CONSENT_ACTION = "votar en los presupuestos participativos"
CONSENT_FIRST = "Para votar, acepte el aviso de datos; su selección se conserva."
VERIFY_BUTTON = "📱 Compartir mi número"
VERIFY_ASK = (
    "📱 <b>Esta votación pide verificar su número de teléfono</b>\n"
    "Así cada número vota una sola vez. Toque «📱 Compartir mi número» abajo: Telegram envía "
    "el número de esta cuenta. No guardamos el número: solo una huella cifrada con una clave "
    "de la Alcaldía, que sirve para saber si ese número ya votó. Su selección se conserva."
)
VERIFY_ALERT = "Esta votación pide verificar su número: toque «📱 Compartir mi número» abajo."
NOT_YOURS = (
    "❌ Ese contacto no es el suyo. Para votar solo sirve el número de esta misma cuenta de "
    "Telegram: toque «📱 Compartir mi número» (no envíe el contacto de otra persona)."
)
NUMBER_USED = (
    "❌ Ese número de teléfono ya se usó para votar en esta ronda desde otra cuenta de "
    "Telegram. Es un voto por número, así que no se guardó este voto."
)
BAD_NUMBER = "❌ No pude leer ese número de teléfono. Toque «📱 Compartir mi número»."
VERIFIED = "✅ Número verificado. Guardo su voto…"
NO_PENDING_VOTE = (
    "Gracias. No tengo un voto pendiente de verificar: abra /presupuestos, marque sus "
    "proyectos y toque «Votar»."
)


async def cast_vote(update: Update, context: CabildoContext, tap: VoteCast) -> None:
    """Save the basket as the person's ballot, replacing an earlier one."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    if query is None or chat is None or user is None:
        return
    round_id = tap.round
    try:
        async with context.db.session() as session:
            detail = await round_detail(session, round_id=round_id, now=utcnow())
        if detail is None:
            raise LookupError(round_id)
    except (LookupError, ValueError):
        await query.answer(GONE)
        return
    if chat.type != ChatType.PRIVATE:
        await query.answer(PRIVATE_ONLY, show_alert=True)
        return
    if await refuse_closed(update, context, detail):
        return
    picked, _ = await basket(context, chat.id, user.id, detail)
    if not picked:
        await query.answer(EMPTY, show_alert=True)
        return
    async with context.db.session() as session:
        consented = await has_consent(session, telegram_id=user.id)
    if not consented:
        await query.answer(CONSENT_FIRST, show_alert=True)
        await ensure_consent(update, context, CONSENT_ACTION)
        return
    if detail.card.round.requiere_verificacion:
        async with context.db.session() as session:
            verified = await is_verified(session, ronda=detail.card.round.ronda,
                                         chat_id=chat.id)
        if not verified:
            await query.answer(VERIFY_ALERT)
            await _ask_number(update, context, round_id, picked)
            return
    outcome, text = await _cast(update, context, detail, picked)
    if not outcome.saved:
        await query.answer(text, show_alert=True)
        return
    await query.answer("Voto guardado.")
    await show(update, text, _saved_markup(round_id))


async def _ask_number(update: Update, context: CabildoContext, round_id: int,
                      picked: list[int]) -> None:
    """Keep the basket as the vote waiting for the number, and offer the contact button."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    async with context.db.session() as session:
        await set_state(session, chat_id=chat.id, user_id=user.id, state=FlowState(
            FLOW, str(round_id), {"round": round_id, "picked": picked, "verificar": True}))
    await context.bot.send_message(chat.id, VERIFY_ASK, reply_markup=_number_keyboard())


def _number_keyboard() -> ReplyKeyboardMarkup:
    return ReplyKeyboardMarkup([[KeyboardButton(VERIFY_BUTTON, request_contact=True)]],
                               resize_keyboard=True, one_time_keyboard=True)


def _saved_markup(round_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup([[
        button("✏️ Cambiar mi voto", RoundOpen(round_id)),
        button("🏠 Menú", "menu:inicio"),
    ]])


async def _cast(update: Update, context: CabildoContext, detail: RoundDetail,
                picked: list[int]) -> tuple[BallotOutcome, str]:
    """Save the ballot; return what happened and the text to show (or the refusal)."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    round_id = detail.card.id
    async with context.db.session() as session:
        outcome = await save_ballot(session, round_id=round_id, chat_id=chat.id,
                                    project_ids=picked, now=utcnow())
        replaced = None
        if outcome.replaced_round_id is not None:
            replaced = await round_detail(session, round_id=outcome.replaced_round_id,
                                          now=utcnow())
        if outcome.saved:
            await remember_comuna(session, telegram_id=user.id,
                                  comuna_id=detail.card.comuna.id or 0)
            await clear_state(session, chat_id=chat.id, user_id=user.id)
    if not outcome.saved:
        refusal = {"cerrada": CLOSED, "no_abierta": NOT_OPEN, "vacia": EMPTY, "excede": OVER,
                   "sin_verificar": VERIFY_ALERT}
        return outcome, refusal.get(outcome.status, MISMATCH)
    return outcome, _saved_text(context, detail, picked, replaced)


async def receive_contact(update: Update, context: CabildoContext) -> None:
    """Take the shared contact: the sender's own number verifies them and casts their vote."""
    message, chat, user = update.effective_message, update.effective_chat, update.effective_user
    if message is None or message.contact is None or chat is None or user is None:
        return
    if message.contact.user_id != user.id:
        # A forwarded or chosen contact of someone else (or one with no Telegram account).
        await message.reply_text(NOT_YOURS, reply_markup=_number_keyboard())
        return
    async with context.db.session() as session:
        state = await get_state(session, chat_id=chat.id, user_id=user.id)
        consented = await has_consent(session, telegram_id=user.id)
    data = state.data if state is not None and state.flow == FLOW else {}
    # Nothing is kept, not even a keyed mark of the number, without a vote waiting for it
    # (which needed the personal-data consent).
    round_id = data.get("round") if data.get("verificar") and consented else None
    async with context.db.session() as session:
        detail = await round_detail(session, round_id=int(round_id), now=utcnow()) \
            if round_id is not None else None
    if detail is None:
        await message.reply_text(NO_PENDING_VOTE, reply_markup=ReplyKeyboardRemove())
        return
    async with context.db.session() as session:
        status = await verify_phone(session, ronda=detail.card.round.ronda, chat_id=chat.id,
                                    phone=message.contact.phone_number, now=utcnow())
    if status == "numero_usado":
        await message.reply_text(NUMBER_USED, reply_markup=ReplyKeyboardRemove())
        return
    if status == "invalido":
        await message.reply_text(BAD_NUMBER, reply_markup=_number_keyboard())
        return
    await message.reply_text(VERIFIED, reply_markup=ReplyKeyboardRemove())
    picked = [int(p) for p in data.get("picked") or []]
    outcome, text = await _cast(update, context, detail, picked)
    await message.reply_text(text, reply_markup=_saved_markup(detail.card.id)
                             if outcome.saved else None)


def _saved_text(context: CabildoContext, detail: RoundDetail, picked: list[int],
                replaced: RoundDetail | None) -> str:
    locale, tz = context.settings.locale, context.settings.tz
    pb_round = detail.card.round
    projects = "\n".join(
        f"• {escape(short(p.nombre, NAME_CHARS))} — {money(p.costo, locale)}"
        for p in detail.projects if p.id in picked
    )
    change = (CHANGE_UNTIL.format(when=local_datetime(pb_round.cierra, tz, locale))
              if pb_round.cierra else CHANGE_ANYTIME)
    return SAVED.format(
        comuna=comuna_name(detail.card), ronda=escape(pb_round.ronda), projects=projects,
        total=money(detail.total(picked), locale), budget=money(pb_round.presupuesto, locale),
        replaced=REPLACED.format(comuna=comuna_name(replaced.card)) if replaced else "",
        change=change,
    )
