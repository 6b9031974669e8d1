#!/usr/bin/env python3
"""Set up and run Cabildo from a fresh clone with nothing but Python 3.11+ and pip.

    python3 dev.py run    # venv + install + database + example data, then the bot
    python3 dev.py test   # venv + install, then ruff, mypy and the suite on SQLite and PostgreSQL

Only the standard library is used here, because this runs before anything is installed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
BIN = VENV / ("Scripts" if os.name == "nt" else "bin")
PY = BIN / "python"
STAMP = VENV / ".cabildo-install-stamp"


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def sh(*args: str | Path, env: dict[str, str] | None = None, check: bool = True) -> int:
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env)
    if check and result.returncode != 0:
        sys.exit(result.returncode)
    return result.returncode


def ensure_venv() -> None:
    """Create .venv and install the project with its dev extras, once per pyproject change."""
    if not PY.exists():
        say("creating .venv")
        sh(sys.executable, "-m", "venv", VENV)
    wanted = hashlib.sha256((ROOT / "pyproject.toml").read_bytes()).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say("installing Cabildo and its dependencies into .venv")
    sh(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--upgrade", "pip")
    sh(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "-e", ".[dev]")
    STAMP.write_text(wanted)


def run() -> int:
    ensure_venv()
    cabildo = BIN / "cabildo"
    sh(cabildo, "db", "upgrade")
    sh(cabildo, "demo", "--if-empty")
    return sh(cabildo, "run", check=False)


# --- PostgreSQL for the test suite ------------------------------------------------


def _pg_bindir() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), reverse=True)
    return versions[0].parent if versions else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ThrowawayPostgres:
    """A PostgreSQL server in a temp dir, as a non-root user, stopped and deleted at the end."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.dir = Path(tempfile.mkdtemp(prefix="cabildo-pg-"))
        self.port = _free_port()
        self.as_root = os.geteuid() == 0 if hasattr(os, "geteuid") else False

    def _run(self, *args: str) -> None:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.as_root:
            cmd = ["runuser", "-u", "postgres", "--", *cmd]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, cwd=self.dir)

    def start(self) -> str:
        if self.as_root:
            shutil.chown(self.dir, user="postgres")
        data = self.dir / "data"
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", "cabildo", "-E", "UTF8")
        self._run(
            "pg_ctl", "-D", str(data), "-l", str(self.dir / "log"), "-w",
            "-o", f"-k {self.dir} -p {self.port} -h 127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off",
            "start",
        )
        return f"postgresql://cabildo@127.0.0.1:{self.port}/postgres"

    def stop(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self._run("pg_ctl", "-D", str(self.dir / "data"), "-m", "immediate", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)


def _install_postgres() -> Path | None:
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return None
    say("PostgreSQL not found: installing it from Debian packages")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "postgresql"], check=False, env=env)
    return _pg_bindir()


def _ensure_chromium() -> bool:
    """Make sure headless Chromium and its driver (browser tests) are here; install if root."""
    if shutil.which("chromium") and shutil.which("chromedriver"):
        return True
    if os.geteuid() != 0 or not shutil.which("apt-get"):
        return False
    say("Chromium not found: installing chromium and chromium-driver from Debian packages")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "chromium", "chromium-driver"],
                   check=False, env=env)
    return bool(shutil.which("chromium") and shutil.which("chromedriver"))


def test(extra: list[str]) -> int:
    ensure_venv()
    started = time.monotonic()
    if not _ensure_chromium():
        if os.environ.get("CI"):
            say("Chromium is not installed and could not be installed (browser tests)")
            return 1
        say("Chromium not found: the browser tests will be skipped")
    say("ruff")
    sh(BIN / "ruff", "check", ".")
    say("mypy")
    sh(BIN / "mypy")
    say("pytest on SQLite")
    env = {k: v for k, v in os.environ.items() if k != "CABILDO_TEST_DATABASE_URL"}
    sh(PY, "-m", "pytest", "-q", *extra, env=env)
    bindir = _pg_bindir() or _install_postgres()
    if bindir is None:
        if os.environ.get("CI"):
            say("PostgreSQL is not installed and could not be installed")
            return 1
        say("PostgreSQL not found: skipped the PostgreSQL run (install it to run both)")
        return 0
    server = ThrowawayPostgres(bindir)
    try:
        url = server.start()
        say(f"pytest on PostgreSQL ({url})")
        sh(PY, "-m", "pytest", "-q", *extra, env={**env, "CABILDO_TEST_DATABASE_URL": url})
    finally:
        server.stop()
    say(f"all green in {time.monotonic() - started:.0f} s")
    return 0


def main() -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before the venv exists
        print("Cabildo necesita Python 3.11 o más reciente.")
        return 2
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "test"):
        print(__doc__)
        return 2
    if sys.argv[1] == "run":
        return run()
    return test(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
