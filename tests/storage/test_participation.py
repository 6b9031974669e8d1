"""Participatory budgeting storage: import, ballots, results, forgetting a voter."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from sqlmodel import col, select

from storage.db import Database
from storage.demo import SAMPLE_DIR, shift_round_dates
from storage.importers import ImportFailed, RowError
from storage.models import Comuna, PBProject, PBRound, PBVote
from storage.participation import (
    comuna_round,
    current_rounds,
    forget_voter,
    open_rounds,
    save_ballot,
)
from storage.participation_results import pick_winners, round_results
from tests.storage.helpers import (
    csv_bytes,
    local,
    run_import,
    seed_comunas,
    table_contents,
    xlsx_bytes,
)

HEADER = ["ronda", "comuna", "presupuesto_comuna", "codigo", "proyecto", "costo",
          "descripcion", "abre", "cierra"]
OPENS, CLOSES = "2026-01-05 08:00", "2099-12-31 18:00"
ROWS = [
    ["2027", "4", "1.000.000", "P4-1", "Parque La Joya", "600.000", "Juegos", OPENS, CLOSES],
    ["2027", "Occidental", "1.000.000", "P4-2", "Cámaras", "300.000", "", OPENS, CLOSES],
    ["2027", "Comuna 4 - Occidental", "1.000.000", "P4-3", "Huertas", "200.000", "", OPENS,
     CLOSES],
    ["2027", "12", "500.000", "P12-1", "Ciclorruta", "400.000", "", OPENS, CLOSES],
    ["2027", "12", "500.000", "P12-2", "Andenes", "100.000", "", OPENS, CLOSES],
]
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def pb_csv(*rows: list[Any]) -> bytes:
    return csv_bytes([HEADER, *rows])


async def _load(db: Database, rows: list[list[Any]] = ROWS) -> None:
    await seed_comunas(db)
    result = await run_import(db, "presupuesto_participativo", pb_csv(*rows), "pp.csv")
    assert (result.created, result.updated) == (len(rows), 0)


async def _projects(db: Database) -> dict[str, PBProject]:
    return {p["codigo"]: PBProject(**p) for p in await table_contents(db, PBProject)}


async def _failure(db: Database, data: bytes) -> list[RowError]:
    with pytest.raises(ImportFailed) as caught:
        await run_import(db, "presupuesto_participativo", data, "pp.csv")
    return caught.value.errors


async def _vote(db: Database, round_id: int, chat: int, *codes: str) -> str:
    projects = await _projects(db)
    async with db.session() as s:
        outcome = await save_ballot(
            s, round_id=round_id, chat_id=chat,
            project_ids=[projects[c].id or 0 for c in codes], now=NOW,
        )
    return outcome.status


async def _round_id(db: Database, code: str) -> int:
    return (await _projects(db))[code].round_id


async def test_a_good_file_creates_rounds_per_comuna_with_their_projects(db: Database) -> None:
    await _load(db)
    rounds = await table_contents(db, PBRound)
    assert [(r["ronda"], r["presupuesto"]) for r in rounds] == [
        ("2027", Decimal("1000000.00")), ("2027", Decimal("500000.00"))
    ]
    assert rounds[0]["abre"] == local(OPENS)
    projects = await _projects(db)
    assert {c: p.round_id for c, p in projects.items()} == {
        "P4-1": rounds[0]["id"], "P4-2": rounds[0]["id"], "P4-3": rounds[0]["id"],
        "P12-1": rounds[1]["id"], "P12-2": rounds[1]["id"],
    }
    assert projects["P4-1"].descripcion == "Juegos" and projects["P4-2"].descripcion is None
    async with db.session() as s:
        opened = await open_rounds(s, now=NOW)
        comuna = (await s.exec(select(Comuna).where(Comuna.codigo == "12"))).one()
        detail = await comuna_round(s, comuna_id=comuna.id or 0, ronda="2027", now=NOW)
    assert [c.comuna.codigo for c in opened] == ["4", "12"]
    assert detail is not None and [p.codigo for p in detail.projects] == ["P12-1", "P12-2"]


async def test_the_sample_file_imports_and_its_dates_shift_to_open_now(db: Database) -> None:
    await seed_comunas(db)
    data = (SAMPLE_DIR / "presupuesto_participativo.csv").read_bytes()
    today = date(2026, 11, 25)
    shifted = shift_round_dates(data, today)
    result = await run_import(db, "presupuesto_participativo", shifted, "pp.csv")
    assert result.created >= 12
    now = datetime(2026, 11, 25, 15, 0, tzinfo=UTC)
    async with db.session() as s:
        cards = await open_rounds(s, now=now)
    assert len(cards) >= 4
    async with db.session() as s:
        projects = (await s.exec(select(PBProject))).all()
        for card in cards:
            costs = [p.costo for p in projects if p.round_id == card.id]
            assert sum(costs) > card.round.presupuesto  # the budget forces choices


async def test_xlsx_with_dates_without_time_means_the_whole_day(db: Database) -> None:
    await seed_comunas(db)
    rows = [["2028", 1, 5_000_000, "X-1", "Parque", 1_000_000, None,
             datetime(2028, 2, 1), date(2028, 2, 28)]]
    await run_import(db, "presupuesto_participativo", xlsx_bytes([HEADER, *rows]), "pp.xlsx")
    [pb_round] = await table_contents(db, PBRound)
    assert pb_round["abre"] == local("2028-02-01 00:00")
    assert pb_round["cierra"] == local("2028-02-28 23:59")


async def test_a_bad_row_imports_nothing_and_names_row_and_column(db: Database) -> None:
    await seed_comunas(db)
    bad = [*ROWS[:2], ["2027", "4", "1.000.000", "P4-3", "Huertas", "mucho", "", OPENS, CLOSES],
           ["2027", "99", "1.000.000", "P4-4", "Otra", "1", "", OPENS, CLOSES]]
    errors = await _failure(db, pb_csv(*bad))
    assert [(e.row, e.column) for e in errors] == [(4, "costo"), (5, "comuna")]
    assert "no es un número" in errors[0].message
    assert await table_contents(db, PBProject) == []
    assert await table_contents(db, PBRound) == []


async def test_a_project_over_its_comuna_budget_is_an_error(db: Database) -> None:
    await seed_comunas(db)
    rows = [*ROWS[:1], ["2027", "4", "1.000.000", "P4-9", "Coliseo", "1.500.000", "", OPENS,
                        CLOSES]]
    [error] = await _failure(db, pb_csv(*rows))
    assert (error.row, error.column) == (3, "costo")
    assert "$ 1.500.000, más que todo el presupuesto de la comuna ($ 1.000.000)" in error.message


async def test_rows_of_one_round_must_agree_and_close_after_opening(db: Database) -> None:
    await seed_comunas(db)
    rows = [
        ROWS[0],
        ["2027", "4", "900.000", "P4-2", "Cámaras", "300.000", "", OPENS, CLOSES],
        ["2027", "12", "500.000", "P12-1", "Ciclorruta", "400.000", "", "2027-03-01 08:00",
         "2027-02-01 08:00"],
        ["2027", "4", "1.000.000", "P4-1", "Repetido", "1", "", OPENS, CLOSES],
    ]
    errors = await _failure(db, pb_csv(*rows))
    assert [(e.row, e.column) for e in errors] == [
        (3, "presupuesto_comuna"), (4, "cierra"), (5, "codigo")
    ]
    assert "no coincide con la fila 2" in errors[0].message


async def test_reimport_updates_by_code_and_keeps_costs_of_voted_projects(db: Database) -> None:
    await _load(db)
    rid = await _round_id(db, "P4-1")
    changed = [["2027", "4", "1.000.000", "P4-2", "Cámaras de seguridad", "350.000", "", OPENS,
                CLOSES]]
    result = await run_import(db, "presupuesto_participativo", pb_csv(*changed), "pp.csv")
    assert (result.created, result.updated) == (0, 1)
    assert {(c.field, c.new) for c in result.changes} == {
        ("nombre", "Cámaras de seguridad"), ("costo", Decimal("350000.00"))
    }
    assert await _vote(db, rid, 501, "P4-2") == "guardado"
    changed[0][5] = "360.000"
    [error] = await _failure(db, pb_csv(*changed))
    assert (error.row, error.column) == (2, "costo")
    assert "ya tiene votos" in error.message
    lower = [["2027", "4", "900.000", "P4-2", "Cámaras de seguridad", "350.000", "", OPENS,
              CLOSES]]
    [error] = await _failure(db, pb_csv(*lower))
    assert (error.row, error.column) == (2, "presupuesto_comuna")
    assert (await _projects(db))["P4-2"].costo == Decimal("350000.00")


async def test_ballots_refuse_over_budget_other_comunas_unknown_and_closed(
    db: Database,
) -> None:
    await _load(db)
    rid = await _round_id(db, "P4-1")
    assert await _vote(db, rid, 501, "P4-1", "P4-2", "P4-3") == "excede"
    assert await _vote(db, rid, 501, "P4-1", "P12-1") == "otra_comuna"
    assert await _vote(db, rid, 501) == "vacia"
    async with db.session() as s:
        unknown = await save_ballot(s, round_id=rid, chat_id=501, project_ids=[9999], now=NOW)
        missing = await save_ballot(s, round_id=9999, chat_id=501, project_ids=[1], now=NOW)
    assert (unknown.status, missing.status) == ("desconocido", "sin_ronda")
    assert await table_contents(db, PBVote) == []
    assert await _vote(db, rid, 501, "P4-1", "P4-2") == "guardado"
    async with db.session() as s:
        pb_round = await s.get(PBRound, rid)
        assert pb_round is not None
        pb_round.cierra = NOW - timedelta(minutes=1)
        s.add(pb_round)
        await s.commit()
    assert await _vote(db, rid, 501, "P4-3") == "cerrada"
    [ballot] = await table_contents(db, PBVote)
    projects = await _projects(db)
    assert ballot["project_ids"] == sorted([projects["P4-1"].id, projects["P4-2"].id])


async def test_changing_a_vote_replaces_it_even_in_another_comuna(db: Database) -> None:
    await _load(db)
    rid4, rid12 = await _round_id(db, "P4-1"), await _round_id(db, "P12-1")
    assert await _vote(db, rid4, 501, "P4-1") == "guardado"
    assert await _vote(db, rid4, 501, "P4-2", "P4-3") == "guardado"
    projects = await _projects(db)
    [ballot] = await table_contents(db, PBVote)
    assert ballot["project_ids"] == sorted([projects["P4-2"].id, projects["P4-3"].id])
    async with db.session() as s:
        moved = await save_ballot(s, round_id=rid12, chat_id=501,
                                  project_ids=[projects["P12-2"].id or 0], now=NOW)
    assert moved.replaced_round_id == rid4
    [ballot] = await table_contents(db, PBVote)
    assert (ballot["round_id"], ballot["project_ids"]) == (rid12, [projects["P12-2"].id])


def test_winners_are_greedy_by_votes_within_the_budget() -> None:
    items = [("A", 10, Decimal(600)), ("B", 8, Decimal(500)), ("C", 5, Decimal(300)),
             ("D", 5, Decimal(100)), ("E", 0, Decimal(1))]
    order, winners = pick_winners(items, Decimal(1001))
    assert order == ["A", "B", "D", "C", "E"]  # ties: the cheaper first
    assert winners == {"A", "D", "C"}  # B does not fit after A; E has no votes


async def test_results_count_votes_and_survive_forgetting_voters(db: Database) -> None:
    await _load(db)
    rid = await _round_id(db, "P4-1")
    for chat, codes in [(1, ["P4-1", "P4-2"]), (2, ["P4-1"]), (3, ["P4-2", "P4-3"]),
                        (4, ["P4-3"])]:
        assert await _vote(db, rid, chat, *codes) == "guardado"
    async with db.session() as s:
        assert await forget_voter(s, chat_id=3) == 1
        await s.commit()
    async with db.session() as s:
        results = await round_results(s, round_id=rid, now=NOW)
    assert results is not None and results.ballots == 4
    assert [(r.project.codigo, r.votes, r.wins) for r in results.projects] == [
        ("P4-3", 2, True), ("P4-2", 2, True), ("P4-1", 2, False)
    ]
    assert results.spent == Decimal("500000.00")
    async with db.session() as s:
        rows = (await s.exec(select(PBVote).order_by(col(PBVote.id)))).all()
    assert [b.chat_id for b in rows] == [1, 2, None, 4]
    # The forgotten ballot keeps its keyed pseudonym (never the chat id), one per person.
    assert all(b.voter_key and b.voter_key.startswith("h:") for b in rows)
    assert len({b.voter_key for b in rows}) == 4


async def test_current_rounds_fall_back_to_the_latest_closed_ronda(db: Database) -> None:
    await seed_comunas(db)
    old = [["2025", "4", "100", "O-1", "Viejo", "10", "", "2025-01-01 08:00",
            "2025-02-01 08:00"]]
    await run_import(db, "presupuesto_participativo", pb_csv(*old), "pp.csv")
    newer = [["2026", "4", "100", "N-1", "Nuevo", "10", "", "2026-01-01 08:00",
              "2026-02-01 08:00"]]
    await run_import(db, "presupuesto_participativo", pb_csv(*newer), "pp.csv")
    async with db.session() as s:
        cards = await current_rounds(s, now=NOW)
    assert [(c.round.ronda, c.state) for c in cards] == [("2026", "cerrado")]
