"""The `cabildo` command as an operator uses it: import, re-import, demo, bad config."""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from sqlmodel import select

from bot import cli
from bot.cli import _database_problem, _parser, main
from bot.cli.database import NO_TABLES
from bot.config import Settings
from storage import importers
from storage.db import Database
from storage.demo import SAMPLE_DIR
from storage.models import Work

HEADER = "codigo;nombre;comuna;estado;avance_fisico;valor_contrato;fecha_inicio\n"
ROWS = [
    "OB-1;Parque La Joya;Comuna 4 - Occidental;En ejecución;45,5;1.250.000.000;01/03/2026\n",
    "OB-2;Andenes Cabecera;12;Terminada;100;350.000.000;2026-01-15\n",
    "OB-3;Polideportivo Café Madrid;Norte;En ejecución;{avance};2.100.000.000,50;15/02/2026\n",
    "OB-4;Muro de contención Morrorico;14;Suspendida;30;800.000.000;01/04/2026\n",
]


@pytest.fixture
def operator(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Path:
    """Run the CLI from an empty folder against the test database."""
    monkeypatch.chdir(tmp_path)
    for name in ("TELEGRAM_BOT_TOKEN", "WEBHOOK_URL", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DATABASE_URL", database_url)
    return tmp_path


def _works(database_url: str) -> list[tuple[str, str, float]]:
    async def read() -> list[tuple[str, str, float]]:
        db = Database(database_url)
        try:
            async with db.session() as s:
                rows = (await s.exec(select(Work).order_by(Work.codigo))).all()
                return [(w.codigo, w.estado, w.avance_fisico) for w in rows]
        finally:
            await db.dispose()

    return asyncio.run(read())


def test_bad_row_changes_nothing_fixed_file_imports_reimport_updates(
    operator: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "comunas", str(SAMPLE_DIR / "comunas.csv")]) == 0
    path = operator / "obras.csv"
    path.write_text(HEADER + "".join(ROWS[:2]), encoding="utf-8-sig")
    assert main(["import", "obras", str(path)]) == 0
    before = _works(database_url)
    capsys.readouterr()

    path.write_text(HEADER + "".join(ROWS).format(avance="mucho"), encoding="utf-8-sig")
    assert main(["import", "obras", str(path)]) == 1
    err = capsys.readouterr().err
    assert "No se importó nada" in err
    assert "Fila 4" in err and "avance_fisico" in err
    assert _works(database_url) == before

    path.write_text(HEADER + "".join(ROWS).format(avance="62"), encoding="utf-8-sig")
    assert main(["import", "obras", str(path)]) == 0
    out = capsys.readouterr().out
    assert "2 filas nuevas" in out and "2 sin cambios" in out
    assert len(_works(database_url)) == 4

    path.write_text(
        HEADER + "".join(ROWS).format(avance="70").replace("Suspendida;30", "En ejecución;35"),
        encoding="utf-8-sig",
    )
    assert main(["import", "obras", str(path)]) == 0
    out = capsys.readouterr().out
    assert "0 filas nuevas" in out and "2 actualizadas" in out
    assert _works(database_url) == [
        ("OB-1", "En ejecución", 45.5),
        ("OB-2", "Terminada", 100.0),
        ("OB-3", "En ejecución", 70.0),
        ("OB-4", "En ejecución", 35.0),
    ]


def _secop_like_rows(count: int) -> list[list[str]]:
    """Works as a SECOP extract brings them: portal money, a timestamp, SECOP statuses."""
    rows = []
    for i in range(1, count + 1):
        value = "$6,000,000,000,000,000,000" if i % 2 and i <= 41 else "$450,000"
        estado = "Terminadísima" if i == 44 else "Liquidado" if i % 3 == 0 else "Modificado"
        rows.append([f"CO1.PCCNTR.{i}", f"Obra {i}", "4", estado, "10", value,
                     "2023-05-08T00:00:00.000"])
    return rows


def test_bad_rows_are_all_named_and_can_be_set_aside_to_fix(
    operator: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    import csv
    import io

    assert main(["import", "comunas", str(SAMPLE_DIR / "comunas.csv")]) == 0
    header = ["codigo", "nombre", "comuna", "estado", "avance_fisico", "valor_contrato",
              "fecha_inicio"]
    path = operator / "secop.csv"
    out = io.StringIO()
    csv.writer(out).writerows([header, *_secop_like_rows(60)])
    path.write_text(out.getvalue(), encoding="utf-8")
    capsys.readouterr()

    # All or nothing: every bad row is named, even past the 20 errors shown in full.
    assert main(["importar", "obras", str(path)]) == 1
    err = capsys.readouterr().err
    assert "El archivo tiene 22 errores" in err
    assert "Fila 2, columna «valor_contrato»: «$6,000,000,000,000,000,000» es demasiado " \
           "grande para un valor en pesos." in err
    assert "Filas con errores (22): 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30, " \
           "32, 34, 36, 38, 40, 42, 45." in err
    assert err.rstrip().endswith("repita el comando con --omitir-filas-con-error.")
    assert _works(database_url) == []

    # The good rows go in; the bad ones wait in a CSV next to the file, with their errors.
    assert main(["importar", "obras", str(path), "--omitir-filas-con-error"]) == 0
    printed = capsys.readouterr().out
    assert "obras: 38 filas nuevas, 0 actualizadas, 0 sin cambios. 22 filas con errores " \
           "omitidas (2, 4, 6" in printed
    rejected = operator / "secop-filas-con-error.csv"
    assert f"Las 22 filas omitidas están en {rejected}" in printed
    works = _works(database_url)
    assert len(works) == 38
    assert ("CO1.PCCNTR.6", "Terminada", 10.0) in works  # «Liquidado»

    with rejected.open(encoding="utf-8-sig", newline="") as f:
        table = list(csv.reader(f))
    assert table[0] == ["error", *header]
    assert len(table) == 23
    assert table[1][0] == ("Fila 2, columna «valor_contrato»: «$6,000,000,000,000,000,000» "
                           "es demasiado grande para un valor en pesos.")
    assert table[1][1:] == [*_secop_like_rows(1)[0]]
    assert table[-1][0].startswith("Fila 45, columna «estado»: «Terminadísima» no es un "
                                   "estado conocido. ¿Quiso decir «Terminada»?")

    # Fixed there, the same file imports as it is.
    for row in table[1:]:
        row[6] = "$1,200,000"
        row[4] = row[4].replace("Terminadísima", "Terminada")
    out = io.StringIO()
    csv.writer(out).writerows(table)
    rejected.write_text(out.getvalue(), encoding="utf-8")
    assert main(["importar", "obras", str(rejected)]) == 0
    printed = capsys.readouterr().out
    assert "Aviso: Se ignoró la columna «error»." in printed
    assert "obras: 22 filas nuevas" in printed
    assert len(_works(database_url)) == 60


def test_missing_file_is_a_clear_message(
    operator: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "obras", "no-existe.csv"]) == 1
    assert "No se pudo leer el archivo no-existe.csv" in capsys.readouterr().err


def test_demo_loads_example_data_once(
    operator: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo"]) == 0
    out = capsys.readouterr().out
    assert "Datos de EJEMPLO" in out and "no son cifras oficiales" in out
    works = _works(database_url)
    assert len(works) >= 60
    assert main(["demo"]) == 1
    assert main(["demo", "--if-empty"]) == 0
    assert len(_works(database_url)) == len(works)


def test_bad_setting_stops_with_one_sentence(
    operator: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TIMEZONE", "Marte/Olympus")
    assert main(["demo"]) == 2
    assert capsys.readouterr().err.startswith("Configuración inválida: TIMEZONE")


def test_commands_refuse_a_database_without_schema(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path / 'vacia.db'}")
    assert main(["demo"]) == 1
    assert "cabildo db upgrade" in capsys.readouterr().err


def test_role_from_the_terminal_is_audited(
    operator: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["audit"]) == 0
    assert "El registro está vacío." in capsys.readouterr().out
    assert main(["import", "comunas", str(SAMPLE_DIR / "comunas.csv")]) == 0
    assert main(["rol", "4242", "lider", "4"]) == 0
    assert "4242: ciudadano → lider (comuna 4)" in capsys.readouterr().out
    assert main(["rol", "4242", "rey"]) == 1
    assert "El rol «rey» no existe" in capsys.readouterr().err
    assert main(["audit"]) == 0
    newest, oldest = capsys.readouterr().out.strip().splitlines()
    assert "terminal  rol" in newest and '"ahora": "lider"' in newest
    assert "terminal  importar" in oldest and '"nuevas": 20' in oldest


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    found = [parser]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                found += _parsers(child)
    return found


def test_help_is_in_spanish_and_every_argument_has_help(
    capsys: pytest.CaptureFixture[str],
) -> None:
    for parser in _parsers(_parser()):
        text = parser.format_help()
        assert text.startswith(f"uso: {parser.prog}"), parser.prog
        assert "mostrar esta ayuda y salir" in text and parser.description, parser.prog
        for english in ("usage:", "positional arguments", "options:", "show this help"):
            assert english not in text, (parser.prog, english)
        for action in parser._actions:
            assert action.help, (parser.prog, action.dest)
    with pytest.raises(SystemExit) as exit_info:
        main(["import", "--help"])
    assert exit_info.value.code == 0
    assert "ruta del archivo (hasta MAX_UPLOAD_MB" in capsys.readouterr().out
    with pytest.raises(SystemExit):
        main(["rol", "abc", "staff"])
    assert "cabildo rol: error: id: «abc» no es un número entero" in capsys.readouterr().err


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


def test_file_problems_are_said_in_spanish(
    operator: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "obras", str(operator / "no-existe.csv")]) == 1
    assert capsys.readouterr().err.endswith("no-existe.csv: no existe.\n")
    assert main(["import", "obras", str(operator)]) == 1
    assert capsys.readouterr().err.endswith(": es una carpeta, no un archivo.\n")

    monkeypatch.setenv("MAX_UPLOAD_MB", "1")
    big = operator / "grande.csv"
    big.write_text(HEADER + ROWS[0] * 13_500, encoding="utf-8")
    assert main(["import", "obras", str(big)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("El archivo pesa 1,1 MB; el límite es 1 MB (MAX_UPLOAD_MB)")
    assert _works_count(operator) == 0


def _works_count(_: Path) -> int:
    return len(_works(os.environ["DATABASE_URL"]))


def test_audit_limit_zero_means_all_and_negative_is_refused(
    operator: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "comunas", str(SAMPLE_DIR / "comunas.csv")]) == 0
    assert main(["rol", "4242", "staff"]) == 0
    assert main(["rol", "4243", "staff"]) == 0
    capsys.readouterr()
    assert main(["audit", "--limite", "1"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 1
    assert main(["audit", "--limite", "0"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 3
    with pytest.raises(SystemExit):
        main(["audit", "--limite", "-1"])
    assert "--limite: debe ser 0 (todas) o un número positivo" in capsys.readouterr().err


def test_role_same_twice_comuna_by_name_and_group_ids(
    operator: Path, database_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import", "comunas", str(SAMPLE_DIR / "comunas.csv")]) == 0
    capsys.readouterr()
    assert main(["rol", "666", "lider", "occidental"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("666: ciudadano → lider (comuna 4)\n")
    assert "todavía no ha escrito al bot" in out
    assert main(["rol", "666", "lider", "Comuna 4 - Occidental"]) == 0
    assert capsys.readouterr().out == (
        "La persona 666 ya tenía ese rol (lider en la comuna 4); no cambié nada.\n"
    )
    assert main(["rol", "666", "lider", "4 norte"]) == 1
    assert "el número y el nombre no coinciden (4 es Occidental)" in capsys.readouterr().err
    assert main(["rol", "-5", "staff"]) == 1
    assert capsys.readouterr().err.startswith("El id -5 no es de una persona")
    assert main(["audit", "--limite", "0"]) == 0
    audit = capsys.readouterr().out.splitlines()
    assert [line.split("  ")[2] for line in audit] == ["rol", "importar"]


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


def test_output_cut_short_by_a_pipe_is_not_a_database_problem(
    operator: Path,
) -> None:
    assert main(["demo"]) == 0
    env = {**os.environ}
    env.pop("TELEGRAM_BOT_TOKEN", None)
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `| head` that already stopped reading
    try:
        done = subprocess.run(
            [sys.executable, "-m", "bot.cli", "audit", "--limite", "0"], cwd=operator,
            env=env, stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=60,
            check=False,
        )
    finally:
        os.close(write_end)
    assert "base de datos" not in done.stderr and "Traceback" not in done.stderr
    assert done.returncode == 0


def test_a_report_in_two_files_imports_in_one_command(
    operator: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixtures = Path(__file__).parent.parent / "storage" / "fixtures"
    programming = str(fixtures / "cuipo_c_programacion_gastos.xlsx")
    execution = str(fixtures / "cuipo_d_ejecucion_gastos.xlsx")
    assert main(["importar", "cuipo", programming]) == 1
    assert capsys.readouterr().err.startswith(
        "No se importó nada. Falta el informe D_EJECUCION_DE_GASTOS de CUIPO.")
    assert main(["importar", "cuipo", programming, execution]) == 0
    out = capsys.readouterr().out
    assert "cuipo: 6 filas nuevas, 0 actualizadas, 0 sin cambios." in out
    assert "Aviso: Se sumaron solo las filas de detalle" in out
    assert main(["importar", "cuipos", programming, execution]) == 1
    assert "¿Quiso decir «cuipo»?" in capsys.readouterr().err
    # Only the reports that come in several files take several.
    assert main(["importar", "obras", programming, execution]) == 1
    assert capsys.readouterr().err == (
        "No se importó nada. El tipo «obras» se importa de un archivo a la vez; solo «cuipo» y "
        "«plan_indicativo» reciben varios.\n")


def test_the_running_bot_leaves_its_start_up_heap_out_of_full_collections(
    monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    # A full garbage collection walked every imported module and the whole Application
    # again, holding the event loop 140-160 ms (`python -m bench.large`).
    import gc
    from dataclasses import replace
    from types import SimpleNamespace

    from bot.cli import serve

    frozen_at_start: list[int] = []

    class Started:
        bot_data = SimpleNamespace(serve_web=False)

        def run_polling(self, **_: object) -> None:
            frozen_at_start.append(gc.get_freeze_count())

    monkeypatch.setattr("bot.app.build_application", lambda _settings: Started())
    try:
        assert serve._run(replace(settings, token="123456:ABCdef")) == 0
    finally:
        gc.unfreeze()
    assert frozen_at_start and frozen_at_start[0] > 10_000
