"""The installable package (what `pip install .`, the Dockerfile and the systemd unit use)
carries everything the bot reads at run time besides Python modules."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


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
        *(str(p.relative_to(ROOT)) for p in (ROOT / "storage/data").rglob("*.yaml")),
        "bot/cli.py", "handlers/start.py", "web/site.py",
    ]
    missing = [name for name in wanted if name not in names]
    assert not missing, missing
    assert not [n for n in names if n.startswith("tests/") or n.startswith("bench/")]
