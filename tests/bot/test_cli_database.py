"""`cabildo db`, and every command saying in one sentence why the database cannot be used."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from bot import cli
from bot.cli import _database_problem, main
from bot.cli.database import NO_TABLES
from storage import importers
from storage.demo import SAMPLE_DIR
from tests.bot.cli_support import operator as operator  # a fixture: pytest looks for it here


def test_commands_refuse_a_database_without_schema(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'vacia.db'}")
    assert main(["demo"]) == 1
    assert "cabildo db upgrade" in capsys.readouterr().err


def test_db_commands_speak_spanish_without_alembic_lines_or_tracebacks(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("LOG_LEVEL", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'nueva.db'}")
    assert main(["db", "current"]) == 1
    assert capsys.readouterr().err == f"{NO_TABLES}\n"

    assert main(["db", "upgrade", "zzz"]) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.startswith("No existe la revisión «zzz». Las revisiones son: 0001")
    assert "Traceback" not in err

    assert main(["db", "upgrade"]) == 0
    out, err = capsys.readouterr()
    lines = out.splitlines()
    assert lines[0] == "Apliqué la migración 0001 (initial schema)."
    assert lines[-1].startswith("Base de datos al día (revisión ")
    assert "alembic" not in out + err and "INFO" not in out + err
    assert main(["db", "upgrade"]) == 0
    assert capsys.readouterr().out.startswith("La base de datos ya estaba al día")
    assert main(["db", "current"]) == 0
    assert "la base de datos está al día" in capsys.readouterr().out

    assert main(["db", "upgrade", "0001"]) == 1
    assert "use «cabildo db downgrade 0001». No cambié nada." in capsys.readouterr().err
    assert main(["db", "downgrade", "0001"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Deshice la migración") and "Base de datos en la revisión 0001." in out


def test_web_refuses_a_database_without_tables(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "vacia.db").touch()
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'vacia.db'}")
    assert main(["web", "--port", "0"]) == 1
    assert capsys.readouterr().err == f"{NO_TABLES}\n"


DEAD_POSTGRES = "postgresql://x@127.0.0.1:1/none"  # nothing listens on port 1
UNREACHABLE = (
    "No se pudo abrir la base de datos (el servidor no responde o la dirección no es "
    "válida). Revise DATABASE_URL.\n"
)


@pytest.mark.parametrize(
    "command",
    [["rol", "5", "staff"], ["audit"], ["audit", "--limite", "0"], ["demo"],
     ["import", "comunas", str(SAMPLE_DIR / "comunas.csv")], ["web", "--port", "0"],
     ["run"], ["chat"], ["db", "current"], ["db", "upgrade"]],
    ids=lambda command: " ".join(command[:2]),
)
def test_every_command_says_in_one_sentence_that_the_database_is_unreachable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("DATABASE_URL", DEAD_POSTGRES)
    assert main(command) == 1
    out, err = capsys.readouterr()
    assert (out, err) == ("", UNREACHABLE)


@pytest.mark.slow
def test_the_installed_command_prints_no_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": DEAD_POSTGRES}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    for command in (["rol", "5", "staff"], ["audit"], ["import", "obras", "x.csv"]):
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", *command], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert (done.returncode, done.stdout, done.stderr) == (1, "", UNREACHABLE), command


def test_a_database_without_tables_is_one_sentence_for_every_command(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'vacia.db'}")
    for command in (["rol", "5", "staff"], ["audit"], ["run"], ["chat"],
                    ["import", "comunas", str(SAMPLE_DIR / "comunas.csv")]):
        assert main(command) == 1, command
        assert capsys.readouterr() == ("", f"{NO_TABLES}\n"), command


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (ConnectionRefusedError(111, "Connect call failed"),
         "el servidor no responde o la dirección no es válida"),
        (TimeoutError(), "el servidor no responde o la dirección no es válida"),
        (socket.gaierror(-2, "Name or service not known"),
         "no se encontró el servidor; revise su nombre"),
        (Exception('role "nadie" does not exist'), "el usuario no existe en el servidor"),
        (Exception('database "nodb" does not exist'), "la base de datos no existe en el servidor"),
        (Exception('password authentication failed for user "x"'),
         "el usuario o la clave no son válidos"),
        (Exception("(sqlite3.DatabaseError) file is not a database"),
         "el archivo no es una base de datos SQLite"),
    ],
)
def test_database_problems_are_named_in_spanish(error: Exception, reason: str) -> None:
    assert _database_problem(error) == reason


def test_a_database_lost_in_the_middle_is_one_sentence_too(
    operator: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    async def gone(*args: object, **kwargs: object) -> int:
        raise ConnectionResetError(104, "Connection reset by peer")

    monkeypatch.setattr(cli, "_audit", gone)
    assert main(["audit"]) == 1
    assert capsys.readouterr() == ("", UNREACHABLE)
    # An import reads a file too: a lost connection is not said to be the file's fault.
    monkeypatch.setattr(importers, "import_file", gone)
    assert main(["import", "comunas", str(SAMPLE_DIR / "comunas.csv")]) == 1
    assert capsys.readouterr() == ("", UNREACHABLE)


def test_a_sqlite_file_that_is_not_a_database_is_said_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "notas.db").write_text("esto no es una base de datos " * 100)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'notas.db'}")
    assert main(["audit"]) == 1
    assert capsys.readouterr().err == (
        "No se pudo abrir la base de datos (el archivo no es una base de datos SQLite). "
        "Revise DATABASE_URL.\n"
    )


def test_sqlite_paths_that_cannot_work_are_named_and_nothing_is_created(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    cases = {
        tmp_path: "esa ruta es una carpeta, no un archivo",
        tmp_path / "no-existe" / "c.db": "la carpeta del archivo no existe o no se puede "
                                          "escribir en ella",
    }
    for path, why in cases.items():
        monkeypatch.setenv("DATABASE_URL", f"sqlite:///{path}")
        for command in (["estado"], ["audit"], ["db", "current"]):
            assert main(command) == 1, (path, command)
            assert capsys.readouterr().err == (
                f"No se pudo abrir la base de datos ({why}). Revise DATABASE_URL.\n"
            ), (path, command)
    # A database in memory (no file name) has no tables for any command.
    for url in ("sqlite://", "sqlite:///"):
        monkeypatch.setenv("DATABASE_URL", url)
        assert main(["estado"]) == 1
        assert capsys.readouterr().err == f"{NO_TABLES}\n"
    # A file that does not exist yet is "no tables", and reading commands don't create it.
    missing = tmp_path / "nueva.db"
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{missing}")
    for command in (["estado"], ["audit"]):
        assert main(command) == 1
        assert capsys.readouterr().err == f"{NO_TABLES}\n"
    assert not missing.exists()


@pytest.mark.slow
def test_a_missing_sqlite_folder_never_prints_a_traceback(tmp_path: Path) -> None:
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{tmp_path / 'no' / 'c.db'}"}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    for _ in range(5):  # the old check raced a background thread now and then
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "estado"], cwd=tmp_path, env=env,
            capture_output=True, text=True, timeout=60, check=False,
        )
        assert done.returncode == 1
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
