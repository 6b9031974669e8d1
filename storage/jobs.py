"""Scheduled work done once across instances: a run is a row claimed in the database.

Every instance runs the same JobQueue, so every instance wakes up for the weekly summary
and for the minute sweep. Before acting, a job claims its period (`claim_run`): the row
`(job, period_key)` is UNIQUE, so exactly one instance's insert succeeds, on SQLite and on
PostgreSQL alike, and the others skip that period. A run that was claimed but died halfway
is not retried by another instance (at most once); the jobs' own dedupe keys stay as a
second line of defence against anything sent twice.
"""

from __future__ import annotations

import os
import socket
import uuid
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from storage.db import insert_if_absent
from storage.models import JobRun
from storage.types import utcnow


def instance_name() -> str:
    """Return a name for this process that differs between instances: host, pid, random."""
    return f"{socket.gethostname()[:80]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


async def claim_run(
    session: AsyncSession, *, job: str, key: str, by: str | None = None
) -> bool:
    """Claim the run of `job` for the period `key`; return False if someone already has it."""
    return await insert_if_absent(
        session, JobRun.__table__,  # type: ignore[attr-defined]
        job=job, period_key=key, claimed_by=(by or instance_name())[:120],
        claimed_at=utcnow(),
    )


async def run_claimed_by(session: AsyncSession, *, job: str, key: str) -> str | None:
    """Return who claimed the run of `job` for `key`, or None if nobody has."""
    run = (
        await session.exec(select(JobRun).where(JobRun.job == job, JobRun.period_key == key))
    ).first()
    return run.claimed_by if run else None


async def prune_runs(session: AsyncSession, *, job: str, before: datetime) -> int:
    """Delete the claims of `job` older than `before` (they only guard the present)."""
    conn = await session.connection()
    result = await conn.execute(
        delete(JobRun).where(col(JobRun.job) == job, col(JobRun.claimed_at) < before)
    )
    await session.flush()
    return int(result.rowcount or 0)

