#!/usr/bin/env python3
"""Set up and run Cabildo from a fresh clone with nothing but Python 3.11+ and pip.

    python3 dev.py run    # venv + install + database + example data, then the bot
    python3 dev.py test   # venv + install, then ruff, import contracts, mypy and the suite
                          # on SQLite and PostgreSQL (both at once, each across the cores)
    python3 dev.py lock   # re-resolve requirements*.lock after a change to pyproject.toml
                          # (`lock --upgrade` takes the newest allowed versions of everything,
                          # `lock --upgrade-package NAME` of one)

The venv is installed from requirements-dev.lock (exact versions, with hashes), never
from whatever resolves that day. Only the standard library is used here, because this
runs before anything is installed.
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
DEV_LOCK = ROOT / "requirements-dev.lock"  # runtime + dev extras: .venv, CI
RUNTIME_LOCK = ROOT / "requirements.lock"  # runtime only: deploy/Dockerfile


def say(message: str) -> None:
    print(f"==> {message}", flush=True)


def sh(*args: str | Path, env: dict[str, str] | None = None, check: bool = True) -> int:
    result = subprocess.run([str(a) for a in args], cwd=ROOT, env=env)
    if check and result.returncode != 0:
        sys.exit(result.returncode)
    return result.returncode


def ensure_venv() -> None:
    """Create .venv and install the locked dependencies and Cabildo, once per change."""
    if not PY.exists():
        say("creating .venv")
        sh(sys.executable, "-m", "venv", VENV)
    wanted = hashlib.sha256(
        (ROOT / "pyproject.toml").read_bytes() + DEV_LOCK.read_bytes()
    ).hexdigest()
    if STAMP.exists() and STAMP.read_text() == wanted:
        return
    say(f"installing the locked dependencies ({DEV_LOCK.name}) and Cabildo into .venv")
    pip = (PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check")
    # Every package pinned and checked against its hash; a package missing from the lock
    # is an error, not a silent fresh resolve. uv (itself locked, installed by pip from its
    # hashes) fetches and installs in parallel: about 3 s against pip's 65 s here. Where
    # uv cannot (no wheel for this platform, a registry only pip is set up for), pip does it.
    if _install_uv() and sh(BIN / "uv", "pip", "install", "--quiet", "--require-hashes",
                            "--python", PY, "-r", DEV_LOCK, check=False) == 0:
        sh(BIN / "uv", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
           "--python", PY, "-e", ".")
    else:
        sh(*pip, "--require-hashes", "-r", DEV_LOCK)
        # Cabildo itself, built by the locked setuptools, adding nothing unlocked.
        sh(*pip, "--no-deps", "--no-build-isolation", "-e", ".")
    STAMP.write_text(wanted)


def _install_uv() -> bool:
    """Install the locked uv into .venv with pip, checked against the lock's hashes."""
    if (BIN / "uv").exists():
        return True
    lines = DEV_LOCK.read_text().splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("uv==")), None)
    if start is None:
        return False
    end = next((i for i in range(start + 1, len(lines))
                if not lines[i].startswith((" ", "#")) and lines[i].strip()), len(lines))
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as requirement:
        requirement.write("\n".join(lines[start:end]) + "\n")
    try:
        return sh(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                  "--require-hashes", "-r", requirement.name, check=False) == 0
    finally:
        os.unlink(requirement.name)


def lock(extra: list[str]) -> int:
    """Re-resolve both lock files from pyproject.toml with uv (a pinned dev tool).

    The dev lock (runtime + dev extras) is resolved first; the runtime lock is resolved
    within it, so a package in both has the same version in both.
    """
    if not PY.exists():
        say("creating .venv")
        sh(sys.executable, "-m", "venv", VENV)
    import tomllib  # here: this file must start on older Pythons to say what it needs

    dev = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"]["dev"]
    [uv] = [spec for spec in dev if spec.startswith("uv==")]
    if not _install_uv():  # no lock yet, or no uv in it: the version pyproject.toml pins
        sh(PY, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", uv)
    compile_ = (BIN / "uv", "pip", "compile", "--quiet", "--universal", "--generate-hashes",
                "--python-version", "3.11", "pyproject.toml")
    sh(*compile_, "--extra", "dev", *extra, "-o", DEV_LOCK.name)
    sh(*compile_, "-c", DEV_LOCK.name, "-o", RUNTIME_LOCK.name)
    say(f"wrote {DEV_LOCK.name} and {RUNTIME_LOCK.name}; `python3 dev.py test` installs them")
    return 0


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
        self.url = ""  # set by `start`

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
        self.url = f"postgresql://cabildo@127.0.0.1:{self.port}/postgres"
        return self.url

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


def _workers_per_pass(passes: int) -> int:
    """pytest-xdist workers for each pytest pass (CABILDO_TEST_WORKERS overrides).

    The suite waits on sockets and the database about as much as it computes, so two
    workers per pass keep 2 cores busy even with both databases' passes running at once.
    """
    wanted = os.environ.get("CABILDO_TEST_WORKERS", "")
    if wanted.isdigit():
        return int(wanted)
    return max(2, (os.cpu_count() or 1) // passes)


class Job:
    """A check running in the background, its output kept in a file until it ends."""

    def __init__(self, title: str, args: list[str | Path], env: dict[str, str],
                 log: Path, fine: tuple[int, ...] = (0,)) -> None:
        self.title = title
        self.fine = fine  # exit statuses that count as passed
        self.log = log
        self.started = time.monotonic()
        with self.log.open("wb") as out:
            self.process = subprocess.Popen([str(a) for a in args], cwd=ROOT, env=env,
                                            stdout=out, stderr=subprocess.STDOUT)

    def report(self) -> int:
        """Print what it printed and how long it took; return its exit status."""
        code = self.process.wait()
        if code in self.fine:
            code = 0
        took = time.monotonic() - self.started
        say(f"{self.title}: {'passed' if code == 0 else f'FAILED (exit {code})'} "
            f"in {took:.0f} s")
        sys.stdout.write(self.log.read_text(errors="replace"))
        sys.stdout.flush()
        return code


def _wait_all(jobs: list[Job]) -> int:
    """Report each job as it ends (first come, first printed); return the worst status."""
    worst = 0
    pending = list(jobs)
    try:
        while pending:
            done = [job for job in pending if job.process.poll() is not None]
            for job in done:
                pending.remove(job)
                worst = max(worst, job.report())
            if not done:
                time.sleep(0.2)
    finally:
        for job in pending:  # interrupted: take the rest down with us
            job.process.terminate()
    return worst


def test(extra: list[str]) -> int:
    ensure_venv()
    started = time.monotonic()
    if not _ensure_chromium():
        if os.environ.get("CI"):
            say("Chromium is not installed and could not be installed (browser tests)")
            return 1
        say("Chromium not found: the browser tests will be skipped")
    # Bytecode is cached even where PYTHONDONTWRITEBYTECODE is set: otherwise every
    # pytest worker and every CLI test's subprocess compiles the whole tree again.
    env = {k: v for k, v in os.environ.items()
           if k not in ("CABILDO_TEST_DATABASE_URL", "PYTHONDONTWRITEBYTECODE")}
    say("ruff")
    sh(BIN / "ruff", "check", ".", env=env)
    say("import contracts (lint-imports; [tool.importlinter] in pyproject.toml)")
    sh(BIN / "lint-imports", "--no-cache", "--no-logo", env=env)

    bindir = _pg_bindir() or _install_postgres()
    if bindir is None and os.environ.get("CI"):
        say("PostgreSQL is not installed and could not be installed")
        return 1
    server = ThrowawayPostgres(bindir) if bindir is not None else None
    logs = Path(tempfile.mkdtemp(prefix="cabildo-test-"))
    try:
        passes = [("SQLite", env, "")]
        if server is not None:
            url = server.start()
            passes.append(("PostgreSQL", {
                **env, "CABILDO_TEST_DATABASE_URL": url, "CABILDO_TEST_DATABASE_ONLY": "1",
                "CABILDO_TEST_ARTIFACTS": str(  # not the same files as the SQLite pass
                    Path(env.get("CABILDO_TEST_ARTIFACTS", ROOT / "test-artifacts"))
                    / "postgresql"),
            }, f" ({url})"))
        workers = _workers_per_pass(len(passes))
        chosen = any(a in ("-n", "--numprocesses") or a.startswith(("-n", "--numprocesses="))
                     for a in extra)
        parallel = [] if chosen else ["-n", str(workers), "--maxschedchunk=1"]
        say(f"mypy, and pytest on {' and '.join(name for name, _, _ in passes)} at once"
            + ("" if chosen else f", {workers} workers each"))
        jobs = [Job("mypy", [BIN / "mypy"], env, logs / "mypy.log")]
        for name, pass_env, where in passes:
            jobs.append(Job(
                f"pytest on {name}{where}",
                [PY, "-m", "pytest", "-q", f"--basetemp={logs / name.lower()}",
                 *parallel, *extra],
                pass_env, logs / f"pytest-{name.lower()}.log",
                # pytest's 5 (no test ran): none of the tests asked for uses the database
                fine=(0, 5) if "CABILDO_TEST_DATABASE_ONLY" in pass_env else (0,),
            ))
        status = _wait_all(jobs)
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(logs, ignore_errors=True)
    if status != 0:
        return status
    if server is None:
        say("PostgreSQL not found: skipped the PostgreSQL run (install it to run both)")
    say(f"all green in {time.monotonic() - started:.0f} s")
    return 0


def main() -> int:
    if sys.version_info < (3, 11):  # noqa: UP036 - this file runs before the venv exists
        print("Cabildo necesita Python 3.11 o más reciente.")
        return 2
    if len(sys.argv) < 2 or sys.argv[1] not in ("run", "test", "lock"):
        print(__doc__)
        return 2
    if sys.argv[1] == "run":
        return run()
    if sys.argv[1] == "lock":
        return lock(sys.argv[2:])
    return test(sys.argv[2:])


if __name__ == "__main__":
    sys.exit(main())
