"""Citizens: who has written to the bot, and their role."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import Citizen
from storage.types import utcnow

ROLES = ("ciudadano", "lider", "staff", "admin")


async def touch_citizen(session: AsyncSession, *, telegram_id: int, chat_id: int) -> Citizen:
    """Return the citizen with this Telegram id, creating it (ids only) on first contact."""
    citizen = (
        await session.exec(select(Citizen).where(Citizen.telegram_id == telegram_id))
    ).first()
    now = utcnow()
    if citizen is None:
        citizen = Citizen(
            telegram_id=telegram_id, chat_id=chat_id, created_at=now, last_seen_at=now
        )
        session.add(citizen)
        try:
            await session.commit()
        except IntegrityError:
            # Two updates of a brand-new person raced; the other one created the row.
            await session.rollback()
            citizen = (
                await session.exec(select(Citizen).where(Citizen.telegram_id == telegram_id))
            ).one()
        return citizen
    citizen.last_seen_at = now
    citizen.chat_id = chat_id
    citizen.blocked_at = None
    session.add(citizen)
    await session.commit()
    return citizen


async def get_citizen(session: AsyncSession, *, telegram_id: int) -> Citizen | None:
    """Return the citizen with this Telegram id, if any."""
    return (await session.exec(select(Citizen).where(Citizen.telegram_id == telegram_id))).first()
