"""Citizens: who has written to the bot, and their role."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lean
from storage.db import dialect_of, flush_pending, insert_if_absent, per_dialect
from storage.models import Citizen
from storage.types import utcnow

ROLES = ("ciudadano", "lider", "staff", "admin")
_CITIZENS: Table = Citizen.__table__  # type: ignore[attr-defined]


def _touch(insert: Any) -> Any:
    now = bindparam("now", type_=_CITIZENS.c.last_seen_at.type)
    chat = bindparam("chat", type_=_CITIZENS.c.chat_id.type)
    return insert(_CITIZENS).values(
        telegram_id=bindparam("person", type_=_CITIZENS.c.telegram_id.type), chat_id=chat,
        created_at=now, last_seen_at=now, role=ROLES[0],
    ).on_conflict_do_update(
        index_elements=[_CITIZENS.c.telegram_id],
        set_={"last_seen_at": now, "chat_id": chat, "blocked_at": None},
    )


# Built once: building the statement cost more than running it.
_TOUCH = per_dialect(_touch)


async def touch_citizen(session: AsyncSession, *, telegram_id: int, chat_id: int) -> None:
    """Record that the person wrote: create the row (ids only) on first contact, otherwise
    note when and from which chat, and that they are reachable. One statement, held back
    until the unit's transaction begins or commits (`storage.lean.defer`)."""
    await flush_pending(session)
    await lean.defer(session, _TOUCH[dialect_of(session)],
                     {"person": telegram_id, "chat": chat_id, "now": utcnow()})


async def get_citizen(session: AsyncSession, *, telegram_id: int) -> Citizen | None:
    """Return the citizen with this Telegram id, if any."""
    return (await session.exec(select(Citizen).where(Citizen.telegram_id == telegram_id))).first()


def _to_second(moment: datetime) -> datetime:
    """Drop the sub-second part: Telegram dates are whole seconds."""
    return moment.replace(microsecond=0)


async def _citizen_for_update(session: AsyncSession, *, telegram_id: int) -> Citizen | None:
    """Return the citizen's row, locked until commit on PostgreSQL."""
    query = select(Citizen).where(Citizen.telegram_id == telegram_id).with_for_update()
    return (await session.exec(query)).first()


async def mark_bot_blocked(
    session: AsyncSession, *, telegram_id: int, chat_id: int, at: datetime
) -> bool:
    """Record that the person blocked the bot at `at` (Telegram's date).

    Return whether the mark is set now. A block dated before the last time the person was
    seen (an unblock or /start that Telegram sent later but that was handled first) is
    stale and changes nothing: when in doubt the person stays reachable, and the outbox
    marks them on the next refused message. Repeating a block keeps its first date.
    """
    citizen = await _citizen_for_update(session, telegram_id=telegram_id)
    if citizen is None:
        # Blocked before we kept any row (e.g. a database restored from an older backup).
        if await insert_if_absent(
            session, Citizen.__table__,  # type: ignore[attr-defined]
            telegram_id=telegram_id, chat_id=chat_id, created_at=at, last_seen_at=at,
            blocked_at=at, role=ROLES[0],
        ):
            return True
        # a concurrent update created the row: decide again on it
        return await mark_bot_blocked(session, telegram_id=telegram_id, chat_id=chat_id, at=at)
    if _to_second(citizen.last_seen_at) > at:
        await session.flush()
        return citizen.blocked_at is not None
    if citizen.blocked_at is None:
        citizen.blocked_at = at
        session.add(citizen)
    await session.flush()
    return True


async def mark_bot_unblocked(
    session: AsyncSession, *, telegram_id: int, chat_id: int, at: datetime
) -> bool:
    """Record that the person unblocked the bot at `at`, creating the row if needed.

    Return whether the person is reachable now. An unblock dated before the current block
    (a later block handled first, or a refused message after it) is stale and changes
    nothing. Otherwise the mark is cleared at once, so audiences count the person again.
    """
    citizen = await _citizen_for_update(session, telegram_id=telegram_id)
    if citizen is None:
        if await insert_if_absent(
            session, Citizen.__table__,  # type: ignore[attr-defined]
            telegram_id=telegram_id, chat_id=chat_id, created_at=utcnow(), last_seen_at=at,
            role=ROLES[0],
        ):
            return True
        return await mark_bot_unblocked(
            session, telegram_id=telegram_id, chat_id=chat_id, at=at
        )
    if citizen.blocked_at is not None and _to_second(citizen.blocked_at) > at:
        await session.flush()
        return False
    citizen.blocked_at = None
    citizen.chat_id = chat_id
    citizen.last_seen_at = max(citizen.last_seen_at, at)
    session.add(citizen)
    await session.flush()
    return True
