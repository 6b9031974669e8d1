"""The installable package (what `pip install .`, the Dockerfile and the systemd unit use)
carries everything the bot reads at run time besides Python modules."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker, default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_wheel_holds_migrations_sample_data_surveys_and_the_web_assets(
    tmp_path: Path,
) -> None:
    # Built from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "*.egg-info", "__pycache__", ".*_cache", "*.db*",
        "chat-files", "test-artifacts"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", "--wheel-dir", str(tmp_path), str(source)],
        check=True, cwd=tmp_path, capture_output=True,
    )
    [wheel] = tmp_path.glob("cabildo-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    wanted = [
        *(str(p.relative_to(ROOT)) for p in (ROOT / "storage/migrations/versions").glob("*.py")),
        "storage/migrations/env.py", "storage/migrations/script.py.mako",
        *(str(p.relative_to(ROOT)) for p in (ROOT / "storage/sample").rglob("*") if p.is_file()),
        *(str(p.relative_to(ROOT)) for p in (ROOT / "web/static").rglob("*") if p.is_file()),
        *(str(p.relative_to(ROOT)) for p in (ROOT / "web/templates").glob("*.html")),
        *(str(p.relative_to(ROOT)) for p in (ROOT / "storage/data").rglob("*.yaml")),
        "bot/cli/__init__.py", "handlers/start.py", "web/site.py",
    ]
    missing = [name for name in wanted if name not in names]
    assert not missing, missing
    assert not [n for n in names if n.startswith("tests/") or n.startswith("bench/")]


Pins = dict[str, list[tuple[Version, Marker | None, int]]]


def _pyproject() -> dict[str, Any]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _locked(name: str) -> Pins:
    """Read a lock file: each package's pinned versions, their markers and hash counts."""
    pins: Pins = {}
    text = (ROOT / name).read_text().replace("\\\n", " ")
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        spec, *hashes = line.split(" --hash=")
        requirement = Requirement(spec)
        [pin] = requirement.specifier
        assert pin.operator == "==", line
        pins.setdefault(canonicalize_name(requirement.name), []).append(
            (Version(pin.version), requirement.marker, len(hashes)))
    return pins


def _satisfied(requirement: Requirement, pins: Pins, environment: dict[str, str]) -> bool:
    """Whether the lock pins one version of `requirement` that it accepts, in `environment`."""
    versions = [version for version, marker, _ in pins.get(canonicalize_name(requirement.name), [])
                if marker is None or marker.evaluate(environment)]
    return len(versions) == 1 and requirement.specifier.contains(versions[0], prereleases=True)


def _extras_requirements(requirement: Requirement) -> list[Requirement]:
    """What the extras of an installed requirement bring (python-telegram-bot's job-queue…)."""
    found = []
    for line in metadata.requires(requirement.name) or []:
        extra = Requirement(line)
        if extra.marker is not None and any(
            extra.marker.evaluate({"extra": name}) for name in requirement.extras
        ):
            extra.marker = None
            found.append(extra)
    return found


@pytest.mark.parametrize("python", ["3.11", "3.12", "3.13"])
def test_the_locks_pin_every_dependency_of_pyproject_with_hashes(python: str) -> None:
    project = _pyproject()["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    dev = [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    environment = {**default_environment(), "python_version": python,
                   "python_full_version": f"{python}.0"}

    for lock, wanted in (("requirements.lock", runtime), ("requirements-dev.lock", runtime + dev)):
        pins = _locked(lock)
        extras = [e for r in wanted if r.extras for e in _extras_requirements(r)]
        missing = [str(r) for r in wanted + extras if not _satisfied(r, pins, environment)]
        assert not missing, f"{lock} does not satisfy {missing}: run `python3 dev.py lock`"
        assert all(count > 0 for entries in pins.values() for _, _, count in entries), lock

    runtime_pins, dev_pins = _locked("requirements.lock"), _locked("requirements-dev.lock")
    assert {"aiolimiter", "apscheduler", "tornado", "httpx"} <= runtime_pins.keys()
    # The image runs exactly the versions the suite ran on.
    differ = {name for name, entries in runtime_pins.items() if dev_pins.get(name) != entries}
    assert not differ, differ


def test_every_dependency_has_an_upper_bound_and_the_checkers_an_exact_version() -> None:
    project = _pyproject()["project"]
    runtime = [Requirement(r) for r in project["dependencies"]]
    dev = [Requirement(r) for r in project["optional-dependencies"]["dev"]]
    unbounded = [
        str(r) for r in runtime + dev
        if canonicalize_name(r.name) != "tzdata"  # time-zone data: always the newest
        and not any(s.operator in ("<", "==") for s in r.specifier)
    ]
    assert not unbounded, unbounded
    pinned = {canonicalize_name(r.name) for r in dev
              if any(s.operator == "==" for s in r.specifier)}
    assert {"ruff", "mypy", "import-linter", "uv"} <= pinned


def test_the_code_imports_no_distribution_it_does_not_declare() -> None:
    """Every third-party module the application imports comes from a declared dependency."""
    project = _pyproject()["project"]
    declared = {canonicalize_name(Requirement(r).name) for r in project["dependencies"]}
    providers = metadata.packages_distributions()
    undeclared = {}
    for package in ("bot", "handlers", "storage", "web"):
        for path in (ROOT / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                         [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0
                         and node.module else [])
                for name in names:
                    top = name.split(".")[0]
                    if top in sys.stdlib_module_names or top in ("bot", "handlers", "storage",
                                                                  "web"):
                        continue
                    dists = {canonicalize_name(d) for d in providers.get(top, [top])}
                    if not dists & declared:
                        undeclared[top] = str(path.relative_to(ROOT))
    assert not undeclared, undeclared
