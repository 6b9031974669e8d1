"""Claimed runs: of many claims of one job and period, exactly one wins."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlmodel import select

from storage.db import Database
from storage.jobs import claim_run, prune_runs, run_claimed_by
from storage.models import JobRun
from storage.types import utcnow


async def test_one_claim_per_job_and_period(db: Database) -> None:
    async with db.session() as s:
        assert await claim_run(s, job="resumen-semanal", key="2026-W48", by="a")
        assert not await claim_run(s, job="resumen-semanal", key="2026-W48", by="b")
        assert await claim_run(s, job="resumen-semanal", key="2026-W49", by="b")
        assert await claim_run(s, job="recordatorios", key="2026-W48", by="b")
        assert await run_claimed_by(s, job="resumen-semanal", key="2026-W48") == "a"
        assert await run_claimed_by(s, job="resumen-semanal", key="2026-W50") is None


async def test_concurrent_claims_from_separate_connections_have_one_winner(
    database_url: str,
) -> None:
    handles = [Database(database_url) for _ in range(4)]
    try:
        async def claim(handle: Database, who: int) -> bool:
            async with handle.session() as s:
                return await claim_run(s, job="recordatorios", key="2026-11-25T08:00",
                                       by=f"instancia-{who}")

        results = await asyncio.gather(*(claim(h, i) for i, h in enumerate(handles * 3)))
    finally:
        for handle in handles:
            await handle.dispose()
    assert sorted(results) == [False] * 11 + [True]


async def test_prune_forgets_only_old_claims_of_that_job(db: Database) -> None:
    now = utcnow()
    async with db.session() as s:
        s.add_all([
            JobRun(job="recordatorios", period_key="viejo", claimed_by="a",
                   claimed_at=now - timedelta(days=2)),
            JobRun(job="recordatorios", period_key="nuevo", claimed_by="a", claimed_at=now),
            JobRun(job="resumen-semanal", period_key="2026-W40", claimed_by="a",
                   claimed_at=now - timedelta(days=60)),
        ])
        await s.commit()
        assert await prune_runs(s, job="recordatorios", before=now - timedelta(days=1)) == 1
        left = sorted((await s.exec(select(JobRun.period_key))).all())
    assert left == ["2026-W40", "nuevo"]
