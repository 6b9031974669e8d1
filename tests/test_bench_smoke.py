"""The throughput benchmark keeps working: a tiny run, no timing assertions."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from bench import faults, roundtrips, session, throughput

PG_URL = os.environ.get("CABILDO_TEST_DATABASE_URL", "")


@pytest.mark.database
async def test_mixed_load_runs_through_the_real_application(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # where its folders go
    figures = await throughput.run_mixed(updates=50, concurrency=1, server_url=PG_URL or None)

    assert list(tmp_path.glob("cabildo-bench-files-*")) == []  # it leaves nothing behind

    assert figures.updates == 50
    assert len(figures.latencies_ms) == 50
    assert {"comando", "toque", "pregunta"} <= set(figures.kinds)
    assert figures.kinds["toque"] >= 15  # the scripts found the buttons they tap
    assert figures.missed_taps == 0
    assert figures.errors == 0, figures.error_samples
    assert figures.connections_opened == 0  # the warm-up opened what one person needs


async def test_echo_baseline_answers_every_text() -> None:
    figures = await throughput.run_echo(updates=20, concurrency=2)

    assert figures.updates == 20
    assert figures.kinds == {"texto": 20}
    assert figures.errors == 0


async def test_the_no_database_floor_taps_the_menu_button_it_is_given() -> None:
    figures = await throughput.run_mixed(updates=20, concurrency=2, menu_only=True)

    assert figures.kinds == {"comando": 10, "toque": 10}
    assert figures.missed_taps == 0
    assert figures.errors == 0, figures.error_samples


async def test_each_run_is_compared_with_the_echo_runs_made_beside_it() -> None:
    said: list[str] = []
    runs = await throughput.run_all(10, 2, None, said.append)

    # echo, echo + DB write, echo, menu, echo, SQLite, echo, aiosqlite, echo
    assert len(runs.echoes) == 5 and runs.postgres is None
    assert [s.split(",")[0] for s in said[1::2]] == [
        "echo bot recording each person in SQLite", "Cabildo answering only /ayuda and «Menú "
        "principal»", "Cabildo on SQLite", "Cabildo on SQLite through aiosqlite's threads "
        "(SQLITE_ON_LOOP=0)"]
    paired = [runs.echo_db, runs.menu, *runs.mixed]
    for i, run in enumerate(paired):
        assert (run.before, run.after) == (runs.echoes[i], runs.echoes[i + 1])
        assert run.run.errors == 0, run.run.error_samples
    assert all(echo.updates == throughput.ECHO_LENGTH * 10 for echo in runs.echoes)
    mean_echo_cost = (1 / runs.echoes[2].per_second + 1 / runs.echoes[3].per_second) / 2
    assert runs.sqlite.ratio == pytest.approx(1 / runs.sqlite.run.per_second / mean_echo_cost)


@pytest.mark.database
async def test_the_session_cost_is_measured() -> None:
    cost = await session.session_cost(sessions=20, server_url=PG_URL or None)

    assert cost.backend == ("PostgreSQL" if PG_URL else "SQLite")
    assert cost.cpu_ms > 0 and cost.wall_ms > 0


@pytest.mark.slow
@pytest.mark.database
async def test_the_fault_runner_drives_a_real_bot_process() -> None:
    async with faults.bench(PG_URL or None, rate=40, people=20) as bench:
        figures = await faults.rate_run(bench, recipients=20, instances=1)

        assert figures.sent == 20  # each of them once, through a real `cabildo run`
        assert 0 < figures.busiest_left <= 20  # counted from the rows' sent_at
        assert 0 < figures.busiest_arrived <= 20
        assert bench.running == []  # the process was stopped


@pytest.mark.skipif(not PG_URL, reason="round trips are counted on PostgreSQL")
@pytest.mark.database
async def test_round_trips_are_counted_by_kind_in_the_updates_own_task() -> None:
    per_kind = await roundtrips.measure(40, PG_URL)

    assert sum(map(len, per_kind.values())) == 40
    assert per_kind["/start"] and per_kind["pregunta"]
    assert min(per_kind["/start"]) >= 1  # the pending step is read
    assert roundtrips.describe(per_kind)[-1].split()[:2] == ["all", "40"]
