"""Conversation state in the database, so any instance can continue a person's flow."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import ConversationState
from storage.types import utcnow


@dataclass(frozen=True)
class FlowState:
    """Where a person is: the flow, its step, and what it has gathered so far."""

    flow: str
    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = field(default=None, compare=False)  # when last stored


async def get_state(session: AsyncSession, *, chat_id: int, user_id: int) -> FlowState | None:
    """Return the person's current flow state in this chat, or None."""
    row = (
        await session.exec(
            select(ConversationState).where(
                ConversationState.chat_id == chat_id, ConversationState.user_id == user_id
            )
        )
    ).first()
    if row is None:
        return None
    return FlowState(flow=row.flow, step=row.step, data=dict(row.data or {}),
                     updated_at=row.updated_at)


async def set_state(
    session: AsyncSession, *, chat_id: int, user_id: int, state: FlowState
) -> None:
    """Store (replace) the person's flow state in this chat."""
    row = await session.get(ConversationState, (chat_id, user_id))
    if row is None:
        row = ConversationState(chat_id=chat_id, user_id=user_id, flow=state.flow)
    row.flow, row.step, row.data = state.flow, state.step, dict(state.data)
    row.updated_at = utcnow()
    session.add(row)
    await session.commit()


async def touch_state(
    session: AsyncSession, *, chat_id: int, user_id: int, flow: str
) -> None:
    """Mark the person's pending `flow` as just used (a button tap in it), without changing
    it, so its idle limit counts from now."""
    await session.exec(
        update(ConversationState)
        .where(ConversationState.chat_id == chat_id,  # type: ignore[arg-type]
               ConversationState.user_id == user_id,  # type: ignore[arg-type]
               ConversationState.flow == flow)  # type: ignore[arg-type]
        .values(updated_at=utcnow())
    )
    await session.commit()


async def clear_state(
    session: AsyncSession, *, chat_id: int, user_id: int, flows: Collection[str] | None = None
) -> bool:
    """Forget the person's flow in this chat (only if one of `flows`); say if there was one."""
    query = delete(ConversationState).where(
        ConversationState.chat_id == chat_id,  # type: ignore[arg-type]
        ConversationState.user_id == user_id,  # type: ignore[arg-type]
    )
    if flows is not None:
        query = query.where(col(ConversationState.flow).in_(list(flows)))
    result = await session.exec(query)
    await session.commit()
    return bool(result.rowcount)


async def prune_states(session: AsyncSession, *, flow: str, before: datetime) -> int:
    """Delete the states of `flow` last used before `before`; return how many went."""
    result = await session.exec(
        delete(ConversationState).where(
            ConversationState.flow == flow,  # type: ignore[arg-type]
            col(ConversationState.updated_at) < before,
        )
    )
    await session.commit()
    return int(result.rowcount or 0)
