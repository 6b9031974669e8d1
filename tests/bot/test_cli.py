"""The `cabildo` command as an operator uses it: import, re-import, demo, bad config."""

from __future__ import annotations

import argparse
import asyncio
import os
from pathlib import Path

import pytest
from sqlmodel import select

from bot.cli import NO_TABLES, _parser, main
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
