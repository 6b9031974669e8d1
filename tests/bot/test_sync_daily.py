"""The daily SECOP sync: once across instances, its failures audited, none without a NIT."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import datetime

from sqlmodel import select

from bot.config import Settings
from bot.context import CabildoContext
from bot.localapi import LocalBotAPI
from bot.scheduler import SECOP_JOB, run_secop_sync
from storage.db import Database
from storage.models import AuditEntry, JobRun, Subscription
from storage.privacy import give_consent
from tests.bot.sync_support import DATASET, NIT, PARK, row, sync, works
from tests.bot.sync_support import datos as datos  # a fixture: pytest looks for it here
from tests.utils.datos import CUT_PAGE, FakeDatosGov
from tests.utils.webhook import instances


async def test_the_daily_sync_runs_once_across_instances_and_alerts_followers(
    settings: Settings, api: LocalBotAPI, db: Database, datos: FakeDatosGov
) -> None:
    await sync(db, settings, datos)
    async with db.session() as s:
        await give_consent(s, telegram_id=7201, chat_id=7201)
        s.add(Subscription(chat_id=7201, kind="obra", value=PARK))
        await s.commit()
    row(datos.datasets[DATASET], PARK)["estado_contrato"] = "Suspendido"
    asked_before = len(datos.requests)
    config = dataclasses.replace(settings, secop_nit=NIT, datos_gov_url=datos.url)
    async with instances(config, api) as [one, two]:
        assert [j.name for j in one.app.job_queue.get_jobs_by_name(SECOP_JOB)] == [SECOP_JOB]
        contexts = [CabildoContext(application=i.app) for i in (one, two, two, one)]
        await asyncio.gather(*(run_secop_sync(c) for c in contexts))
        [alert] = await api.wait_for("sendMessage", chat_id=7201)
    assert "estado En ejecución → Suspendida" in alert.params["text"]
    # One run: one page of up to 1,000 rows of each dataset.
    assert len(datos.requests) == asked_before + 2
    async with db.session() as s:
        runs = (await s.exec(select(JobRun).where(JobRun.job == SECOP_JOB))).all()
        entries = (await s.exec(select(AuditEntry))).all()
    assert [r.period_key for r in runs] == [datetime.now(settings.tz).date().isoformat()]
    # The operator's run, then the scheduler's: one entry per dataset.
    assert [e.actor_id for e in entries] == [None, None, 0, 0]
    assert len(api.calls_to(7201, ["sendMessage"])) == 1


async def test_a_failed_daily_sync_imports_nothing_and_leaves_the_reason_in_the_audit_log(
    settings: Settings, api: LocalBotAPI, db: Database, datos: FakeDatosGov
) -> None:
    datos.fault_on_offset[0] = CUT_PAGE
    config = dataclasses.replace(settings, secop_nit=NIT, datos_gov_url=datos.url)
    async with instances(config, api, count=1) as [one]:
        await run_secop_sync(CabildoContext(application=one.app))
    assert await works(db) == {}
    async with db.session() as s:
        [entry] = (await s.exec(select(AuditEntry))).all()
    assert (entry.action, entry.actor_id) == ("sincronizar_fallida", 0)
    assert entry.detail["error"].startswith(
        f"La página 1 del conjunto {DATASET} en {datos.url} llegó dañada: no es JSON")


async def test_no_daily_sync_without_a_nit(
    settings: Settings, api: LocalBotAPI
) -> None:
    async with instances(settings, api, count=1) as [one]:
        assert one.app.job_queue.get_jobs_by_name(SECOP_JOB) == ()
