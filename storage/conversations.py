"""Conversation state in the database, so any instance can continue a person's flow.

Read and written on every command, menu tap and typed text, so in plain SQL statements on
the session's connection (one SELECT; one upsert), not through the ORM's unit of work.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from storage import lean
from storage.db import dialect_of, flush_pending, per_dialect
from storage.models import ConversationState
from storage.types import utcnow

STATES: Table = ConversationState.__table__  # type: ignore[attr-defined]
_KEPT = ("flow", "step", "data", "updated_at")


@dataclass(frozen=True)
class FlowState:
    """Where a person is: the flow, its step, and what it has gathered so far."""

    flow: str
    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = field(default=None, compare=False)  # when last stored


# Built once, run with the person's ids: building a statement costs more than running it.
# (Not named after their columns: an UPDATE keeps those names for its SET clause.)
_PERSON = (STATES.c.chat_id == bindparam("chat")) & (STATES.c.user_id == bindparam("user"))
_GET = select(*(STATES.c[name] for name in _KEPT)).where(_PERSON)
_TOUCH = update(STATES).where(_PERSON, STATES.c.flow == bindparam("pending")).values(
    updated_at=bindparam("now"))
_CLEAR = delete(STATES).where(_PERSON)
_CLEAR_FLOWS = _CLEAR.where(STATES.c.flow.in_(bindparam("flows", expanding=True)))
_CLEAR_FLOW = _CLEAR.where(STATES.c.flow == bindparam("flow"))


def _upsert(insert: Any) -> Any:
    values = {name: bindparam(name, type_=STATES.c[name].type) for name in _KEPT}
    return insert(STATES).values(chat_id=bindparam("chat"), user_id=bindparam("user"),
                                 **values).on_conflict_do_update(
        index_elements=["chat_id", "user_id"],
        set_={name: getattr(insert(STATES).excluded, name) for name in _KEPT})


_SET = per_dialect(_upsert)


async def get_state(session: AsyncSession, *, chat_id: int, user_id: int) -> FlowState | None:
    """Return the person's current flow state in this chat, or None."""
    found = await lean.rows(session, _GET, {"chat": chat_id, "user": user_id})
    if not found:
        return None
    flow, step, data, updated_at = found[0]
    return FlowState(flow=flow, step=step, data=dict(data or {}), updated_at=updated_at)


async def set_state(
    session: AsyncSession, *, chat_id: int, user_id: int, state: FlowState
) -> None:
    """Store (replace) the person's flow state in this chat (one upsert, held back until the
    unit's transaction begins or commits: `storage.lean.defer`)."""
    await lean.defer(session, _SET[dialect_of(session)], {
        "chat": chat_id, "user": user_id, "flow": state.flow, "step": state.step,
        "data": dict(state.data), "updated_at": utcnow()})
    await flush_pending(session)


async def touch_state(
    session: AsyncSession, *, chat_id: int, user_id: int, flow: str
) -> None:
    """Mark the person's pending `flow` as just used (a button tap in it), without changing
    it, so its idle limit counts from now."""
    await lean.defer(session, _TOUCH, {"chat": chat_id, "user": user_id, "pending": flow,
                                       "now": utcnow()})
    await flush_pending(session)


async def clear_state(
    session: AsyncSession, *, chat_id: int, user_id: int, flows: Collection[str] | None = None
) -> bool:
    """Forget the person's flow in this chat (only if one of `flows`); say if there was one."""
    person = {"chat": chat_id, "user": user_id}
    if flows is None:
        changed = await lean.execute(session, _CLEAR, person)
    else:
        changed = await lean.execute(session, _CLEAR_FLOWS, {**person, "flows": list(flows)})
    await flush_pending(session)
    return bool(changed)


async def forget_state(
    session: AsyncSession, *, chat_id: int, user_id: int, flow: str
) -> None:
    """Forget the person's `flow` in this chat, if it is still theirs: `clear_state` without
    the answer, so held back like `set_state`."""
    await lean.defer(session, _CLEAR_FLOW, {"chat": chat_id, "user": user_id, "flow": flow})


async def prune_states(session: AsyncSession, *, flow: str, before: datetime) -> int:
    """Delete the states of `flow` last used before `before`; return how many went."""
    conn = await session.connection()
    result = await conn.execute(
        delete(STATES).where(STATES.c.flow == flow, STATES.c.updated_at < before))
    await session.flush()
    return int(result.rowcount or 0)
