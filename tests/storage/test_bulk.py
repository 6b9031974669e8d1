"""Bulk work pauses the cyclic garbage collector while it lasts, and lets go of its rows a
slice at a time."""

from __future__ import annotations

import asyncio
import gc
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from storage import outbox
from storage.broadcasts import Audience, create_broadcast
from storage.bulk import SLICE, collector_paused, let_go
from storage.citizens import touch_citizen
from storage.db import Database
from storage.importers import files


def test_overlapping_bulk_works_resume_the_collector_when_the_last_one_ends() -> None:
    assert gc.isenabled()
    first, second = collector_paused(), collector_paused()
    first.__enter__()
    second.__enter__()
    assert not gc.isenabled()
    first.__exit__(None, None, None)  # an import ends while a broadcast still runs
    assert not gc.isenabled()
    second.__exit__(None, None, None)
    assert gc.isenabled()


def test_a_failing_bulk_work_resumes_the_collector() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("la importación falló")
    assert gc.isenabled()


def test_a_collector_someone_else_turned_off_stays_off() -> None:
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()


async def test_a_broadcast_queues_its_messages_with_the_collector_paused(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with db.session() as session:
        for person in range(1, 4):
            await touch_citizen(session, telegram_id=person, chat_id=person)
    collector_on_while_queueing: list[bool] = []
    enqueue = outbox.enqueue

    async def watched(*args: Any, **kwargs: Any) -> int:
        collector_on_while_queueing.append(gc.isenabled())
        return await enqueue(*args, **kwargs)

    monkeypatch.setattr(outbox, "enqueue", watched)
    async with db.session() as session:
        _, queued = await create_broadcast(session, created_by=1, audience=Audience("todos", ()),
                                           text="Audiencia pública el jueves")
    assert queued == 3
    assert collector_on_while_queueing == [False]
    assert gc.isenabled()


async def test_every_kind_of_import_runs_with_the_collector_paused(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Survey definitions, participatory budgets and the bundles (CUIPO, the plan
    indicativo) too, not only the one-table kinds."""
    survey = sorted((Path(__file__).parents[2] / "storage/sample/encuestas").glob("*.yaml"))[0]
    collector_on_while_importing: list[bool] = []
    real = files.OTHER["encuesta"]

    async def watched(*args: Any, **kwargs: Any) -> Any:
        collector_on_while_importing.append(gc.isenabled())
        return await real(*args, **kwargs)

    monkeypatch.setitem(files.OTHER, "encuesta", watched)
    async with db.session() as session:
        result = await files.import_bytes(session, "encuesta", survey.read_bytes(), survey.name,
                                          tz=ZoneInfo("America/Bogota"))
    assert result.created == 1
    assert collector_on_while_importing == [False]
    assert gc.isenabled()


async def test_big_lists_are_let_go_a_slice_at_a_time_while_others_are_served() -> None:
    rows = [{"fila": i} for i in range(5 * SLICE + 1)]
    cells = [[i] for i in range(SLICE)]
    served = 0

    async def someone_else() -> None:
        nonlocal served
        while True:
            served += 1
            await asyncio.sleep(0)

    other = asyncio.create_task(someone_else())
    await asyncio.sleep(0)
    before = served
    await let_go(rows, cells)
    other.cancel()
    assert rows == [] and cells == []
    assert served - before >= 6  # a turn of the loop after each slice
