"""Announcements for the scheduler's sweep: a round opened, and a round closed."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from typing import Any

from telegram import (
    InlineKeyboardMarkup,
)

from bot.config import Settings
from bot.formatting import local_datetime, money
from handlers.callbacks import (
    RoundOpen,
    button,
)
from handlers.participation.common import comuna_name
from storage import outbox
from storage.db import Database
from storage.participation import RoundCard, closed_since, open_rounds, round_audience

CLOSED_WINDOW = timedelta(days=1)  # a round closed longer ago than this is not announced
OPENED_NOTICE = (
    "🗳️ <b>Presupuestos participativos {ronda}</b>\n"
    "Ya puede votar por los proyectos de la comuna {comuna}: hay {budget} para invertir "
    "y la comunidad decide en qué.{until}"
)
UNTIL = "\nLa votación cierra el {when}"
CLOSED_NOTICE = (
    "📊 <b>Presupuestos participativos {ronda}</b>\n"
    "Cerró la votación de la comuna {comuna}. Vea qué proyectos ganaron."
)


async def announce_rounds(db: Database, settings: Settings, now: datetime) -> int:
    """Queue, once per person, each round's opening and, when it closes, its results."""
    queued = 0
    async with db.session() as session:
        opened = await open_rounds(session, now=now)
        closed = await closed_since(session, since=now - CLOSED_WINDOW, now=now)
        for card in opened:
            if await outbox.queued_before(session, dedupe=f"pp-abre:{card.id}"):
                continue
            until = (UNTIL.format(when=local_datetime(card.round.cierra, settings.tz,
                                                      settings.locale))
                     if card.round.cierra else "")
            text = OPENED_NOTICE.format(
                ronda=escape(card.round.ronda), comuna=comuna_name(card),
                budget=money(card.round.presupuesto, settings.locale), until=until,
            )
            queued += await outbox.enqueue(
                session, chat_ids=await round_audience(session, card=card, with_voters=False),
                payload={"text": text, "reply_markup": _notice_markup(card, "🗳️ Votar")},
                kind="presupuestos", dedupe=f"pp-abre:{card.id}",
            )
        for card in closed:
            if await outbox.queued_before(session, dedupe=f"pp-cierra:{card.id}"):
                continue
            text = CLOSED_NOTICE.format(ronda=escape(card.round.ronda), comuna=comuna_name(card))
            queued += await outbox.enqueue(
                session, chat_ids=await round_audience(session, card=card, with_voters=True),
                payload={"text": text,
                         "reply_markup": _notice_markup(card, "📊 Ver resultados")},
                kind="presupuestos", dedupe=f"pp-cierra:{card.id}",
            )
    return queued


def _notice_markup(card: RoundCard, label: str) -> dict[str, Any]:
    return InlineKeyboardMarkup([[button(label, RoundOpen(card.id))]]).to_dict()
