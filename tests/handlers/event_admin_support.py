"""Helpers shared by the `/evento` tests (test_event_*.py): people, a running event, fixtures."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from bot.config import Settings
from bot.localapi import LocalBotAPI
from storage.db import Database
from storage.demo import SAMPLE_DIR
from storage.importers import import_file
from storage.models import Event, OutboxMessage, Registration
from storage.privacy import give_consent
from storage.reminders import signature

ADMIN, CITIZEN = 1000, 7401


@pytest.fixture
async def seed(settings: Settings, db: Database) -> None:
    async with db.session() as s:
        await import_file(s, "comunas", SAMPLE_DIR / "comunas.csv", tz=settings.tz)


async def _texts(api: LocalBotAPI, chat: int, count: int) -> list[str]:
    """Return the texts sent to `chat`, with Babel's narrow no-break spaces made plain."""
    calls = await api.wait_for("sendMessage", chat_id=chat, count=count)
    return [c.params["text"].replace("\u202f", " ") for c in calls]


REGISTERED, WAITING_ONE, TOLD, SUBSCRIBER = 7501, 7502, 7503, 7504


async def _running_event(
    db: Database, *, start: datetime, end: datetime | None = None
) -> Event:
    """An event with one confirmed registrant, one waiting and one person already told."""
    async with db.session() as s:
        event = Event(clave="RUN", titulo="Taller de cocreación del parque", tipo="taller",
                      inicio=start, fin=end, lugar="Salón comunal La Joya", capacidad=1)
        s.add(event)
        await s.commit()
        await s.refresh(event)
        s.add(Registration(event_id=event.id or 0, chat_id=REGISTERED))
        s.add(Registration(event_id=event.id or 0, chat_id=WAITING_ONE, status="espera"))
        s.add(OutboxMessage(chat_id=TOLD, status="enviado", payload={"text": "anuncio"},
                            dedupe_key=f"evento:{event.id}:{signature(event)}:anuncio:{TOLD}"))
        for chat in (REGISTERED, WAITING_ONE, TOLD, SUBSCRIBER):
            await give_consent(s, telegram_id=chat, chat_id=chat)
        await s.commit()
        return event


def _labels(params: dict[str, Any]) -> list[str]:
    markup = params.get("reply_markup") or {}
    return [b["text"] for row in markup.get("inline_keyboard", []) for b in row]
