"""`cabildo db backup`: a consistent SQLite copy while the bot writes; pg_dump on PostgreSQL."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture
def workdir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Run the CLI from an empty folder, without settings from the environment."""
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "WEBHOOK_URL", "LOG_LEVEL", "LOG_FORMAT"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def _live_database(path: Path) -> sqlite3.Connection:
    """Create a WAL database with two committed rows; return a connection mid-transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE obra (codigo TEXT PRIMARY KEY, avance REAL)")
    conn.execute("INSERT INTO obra VALUES ('OB-1', 45.5), ('OB-2', 100)")
    conn.execute("BEGIN IMMEDIATE")  # the running bot, in the middle of a write
    conn.execute("INSERT INTO obra VALUES ('OB-3', 10)")
    return conn


def test_backup_copies_committed_data_while_a_write_is_in_progress(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///cabildo.db")
    live = _live_database(workdir / "cabildo.db")
    try:
        assert main(["db", "backup"]) == 0
    finally:
        live.execute("COMMIT")
        live.close()
    out = capsys.readouterr().out
    [name] = re.findall(r"guardada en (cabildo-\d{8}-\d{6}\.db) \(", out)
    copy = sqlite3.connect(workdir / name)
    try:
        rows = copy.execute("SELECT codigo, avance FROM obra ORDER BY codigo").fetchall()
    finally:
        copy.close()
    assert rows == [("OB-1", 45.5), ("OB-2", 100.0)]  # not the uncommitted OB-3


def test_backup_into_a_folder_and_never_over_an_existing_file(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{workdir / 'cabildo.db'}")
    _live_database(workdir / "cabildo.db").close()
    folder = workdir / "respaldos"
    folder.mkdir()
    assert main(["db", "backup", str(folder)]) == 0
    [made] = folder.iterdir()
    assert re.fullmatch(r"cabildo-\d{8}-\d{6}\.db", made.name)
    capsys.readouterr()
    taken = workdir / "copia.db"
    taken.write_bytes(b"no tocar")
    assert main(["db", "backup", str(taken)]) == 1
    assert "Ya existe" in capsys.readouterr().err
    assert taken.read_bytes() == b"no tocar"


def test_backup_on_postgresql_points_to_pg_dump_without_the_password(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://cabildo:clave-secreta@db.interno:5432/cabildo")
    assert main(["db", "backup"]) == 1
    err = capsys.readouterr().err
    assert "PostgreSQL" in err and "pg_dump" in err
    assert "postgresql://cabildo@db.interno:5432/cabildo" in err
    assert "clave-secreta" not in err
    assert list(workdir.iterdir()) == []


def test_backup_of_a_missing_database_says_so(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "sqlite:///no-existe.db")
    assert main(["db", "backup"]) == 1
    assert "No encontré la base de datos no-existe.db" in capsys.readouterr().err
    assert list(workdir.iterdir()) == []


def test_backup_to_a_missing_or_unwritable_folder_is_said_in_spanish(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{workdir / 'cabildo.db'}")
    _live_database(workdir / "cabildo.db").close()
    assert main(["db", "backup", str(workdir / "no" / "existe" / "x.db")]) == 1
    err = capsys.readouterr().err
    assert err == f"No se pudo hacer la copia: la carpeta {workdir / 'no' / 'existe'} no existe.\n"
    (workdir / "archivo").write_text("x")
    assert main(["db", "backup", str(workdir / "archivo" / "x.db")]) == 1
    assert "la carpeta" in (err := capsys.readouterr().err) and "no es una carpeta" in err
    assert sorted(p.name for p in workdir.iterdir()) == ["archivo", "cabildo.db"]
