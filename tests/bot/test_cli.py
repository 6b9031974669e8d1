"""The `cabildo` command: demo, roles and the audit log, help, settings, running."""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import _parser, main
from bot.config import Settings
from storage.demo import SAMPLE_DIR
from tests.bot.cli_support import _works
from tests.bot.cli_support import operator as operator  # a fixture: pytest looks for it here


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
