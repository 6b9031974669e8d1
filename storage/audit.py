"""The audit log: an append-only record of what staff and admins did.

There is deliberately no function to edit or delete an entry.
"""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.models import AuditEntry


def add_entry(
    session: AsyncSession, *, actor_id: int | None, action: str, detail: dict[str, Any]
) -> AuditEntry:
    """Stage an audit entry in the caller's transaction (committed with the action itself)."""
    entry = AuditEntry(actor_id=actor_id, action=action, detail=detail)
    session.add(entry)
    return entry


async def recent_entries(session: AsyncSession, *, limit: int = 50) -> list[AuditEntry]:
    """Return the newest audit entries first."""
    query = select(AuditEntry).order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
    return list((await session.exec(query.limit(limit))).all())
