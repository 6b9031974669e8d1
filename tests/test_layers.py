"""The layer contracts in pyproject.toml (`lint-imports`) hold today and catch a new breach.

`python3 dev.py test` runs `lint-imports` on the tree; these tests run it on a copy with
one new forbidden import per contract, so a contract that could never fail is noticed.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def _copy_tree(target: Path) -> Path:
    """Copy the packages, pyproject.toml and the custom contract to `target`."""
    for package in ("bot", "handlers", "storage", "web"):
        shutil.copytree(ROOT / package, target / package,
                        ignore=shutil.ignore_patterns("__pycache__", "static", "data", "sample"))
    (target / "tests").mkdir()
    for name in ("__init__.py", "contracts.py"):
        shutil.copy(ROOT / "tests" / name, target / "tests" / name)
    shutil.copy(ROOT / "pyproject.toml", target / "pyproject.toml")
    return target


def _lint(where: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT), "--no-cache", "--no-logo"], cwd=where, capture_output=True, text=True,
        env={"PATH": str(LINT.parent), "COLUMNS": "200"},
    )


def _append(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


def test_the_tree_keeps_every_contract() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


def test_a_new_forbidden_import_breaks_each_contract(tmp_path: Path) -> None:
    tree = _copy_tree(tmp_path / "tree")
    _append(tree / "storage/models.py", "import telegram  # noqa")
    _append(tree / "handlers/start.py", "import bot.delivery  # noqa")
    _append(tree / "web/pages.py", "from telegram import Update  # noqa")
    _append(tree / "storage/text.py", "import storage.search  # noqa")  # search imports text

    result = _lint(tree)
    out = result.stdout

    assert result.returncode == 1, out + result.stderr
    assert "0 kept, 4 broken" in out, out
    assert "storage.models -> telegram" in out
    assert "handlers.start -> bot.delivery" in out
    assert "web.pages -> telegram" in out
    assert "storage.search -> storage.text -> storage.search" in out


def test_a_fixed_violation_must_leave_the_list(tmp_path: Path) -> None:
    tree = _copy_tree(tmp_path / "tree")
    # A listed import that the code no longer makes (here one it never made: the list's
    # real lines leave it as they are fixed).
    pyproject = tree / "pyproject.toml"
    text = pyproject.read_text()
    contract = 'source_modules = ["handlers"]'
    assert contract in text
    pyproject.write_text(text.replace(
        contract, contract + '\nignore_imports = ["handlers.status -> bot.webhook"]'
    ))

    result = _lint(tree)

    assert result.returncode != 0
    assert "handlers.status -> bot.webhook" in result.stdout + result.stderr


def _commits_in_storage(root: Path) -> list[str]:
    """Every `….commit()` call in `storage` outside the unit of work itself (`storage.db`)."""
    found = []
    for path in sorted((root / "storage").rglob("*.py")):
        if (path.name == "db.py" and path.parent.name == "storage") or "migrations" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr == "commit" and not node.args):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    return found


def test_storage_never_commits_whoever_opens_the_unit_of_work_does(tmp_path: Path) -> None:
    assert _commits_in_storage(ROOT) == []
    # and the check sees one
    copy = _copy_tree(tmp_path)
    _append(copy / "storage" / "alerts.py",
            "async def sneaky(session):\n    await session.commit()")
    assert _commits_in_storage(copy) == ["storage/alerts.py:" + str(
        len((copy / "storage" / "alerts.py").read_text().splitlines()))]


MAX_LINES = 500
# Data tables, not logic: long because the data is (the sample data's builders, word lists).
DATA_TABLES = {"storage/data", "storage/answers/data", "storage/sample"}


def _long_modules(root: Path) -> list[str]:
    """The application modules over MAX_LINES lines, outside data tables."""
    found = []
    for package in ("bot", "handlers", "storage", "web"):
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if any(relative.startswith(table + "/") for table in DATA_TABLES):
                continue
            if len(path.read_text(encoding="utf-8").splitlines()) > MAX_LINES:
                found.append(relative)
    return found


def test_no_module_is_over_500_lines(tmp_path: Path) -> None:
    assert _long_modules(ROOT) == []
    copy = _copy_tree(tmp_path / "tree")  # and the check sees one that grows past it
    grown = copy / "storage" / "alerts.py"
    grown.write_text(grown.read_text() + "\n" * MAX_LINES)
    assert _long_modules(copy) == ["storage/alerts.py"]
