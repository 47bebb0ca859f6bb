#!/usr/bin/env python3
"""Set WallTrack up and run it — the two README commands, with nothing but Python 3.11.

    python3 tasks.py demo   # set up, then run the main job on the embedded defaults
    python3 tasks.py test   # set up (Chromium too), then ruff + the whole test suite

Setting up means: a virtualenv in .venv with the exact versions of requirements.lock (done
again only when the lock or pyproject.toml changes), WallTrack installed in it, and for
tests Debian's Chromium (and PostgreSQL when pgserver cannot serve) installed if missing.
Standard library only: this file runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent
VENV = ROOT / ".venv"
PY = VENV / "bin" / "python"
STAMP = VENV / ".walltrack-installed"


def say(message: str) -> None:
    print(f"[tasks] {message}", flush=True)


def fail(message: str, code: int = 1) -> None:
    print(f"[tasks] error: {message}", file=sys.stderr, flush=True)
    raise SystemExit(code)


def run(cmd: list[str], **kwargs: object) -> int:
    return subprocess.call(cmd, cwd=ROOT, **kwargs)  # type: ignore[arg-type]


def ensure_python() -> None:
    if sys.version_info < (3, 11):
        newer = shutil.which("python3.11")
        if newer:
            os.execv(newer, [newer, *sys.argv])
        fail("WallTrack needs Python 3.11 or newer (python3.11 was not found on PATH)")


def lock_digest() -> str:
    digest = hashlib.sha256()
    for name in ("requirements.lock", "pyproject.toml"):
        digest.update((ROOT / name).read_bytes())
    return digest.hexdigest()


def ensure_venv() -> None:
    if not PY.exists():
        say("creating .venv")
        if run([sys.executable, "-m", "venv", str(VENV)]) != 0:
            fail("could not create .venv (is the venv module installed? apt-get install "
                 "python3-venv)")
    if STAMP.exists() and STAMP.read_text() == lock_digest():
        return
    say("installing the locked dependencies (requirements.lock)")
    pip = [str(PY), "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if run([*pip, "-r", "requirements.lock"]) != 0:
        fail("pip could not install requirements.lock; check the network access to PyPI")
    if run([*pip, "--no-deps", "-e", "."]) != 0:
        fail("pip could not install WallTrack itself")
    STAMP.write_text(lock_digest())


def apt_install(*packages: str) -> None:
    apt = shutil.which("apt-get")
    if not apt:
        fail(f"{', '.join(packages)} missing and apt-get is not available: install them "
             "with your system's package manager")
    prefix: list[str] = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    say(f"installing Debian packages: {' '.join(packages)}")
    if run([*prefix, apt, "install", "-y", "-q", *packages], env=env) != 0:
        run([*prefix, apt, "update", "-q"], env=env)
        if run([*prefix, apt, "install", "-y", "-q", *packages], env=env) != 0:
            fail(f"apt-get could not install {' '.join(packages)} (run as root or with sudo)")


def ensure_chromium() -> None:
    if not Path("/usr/bin/chromium").exists():
        apt_install("chromium")


def ensure_postgres() -> None:
    """pgserver ships PostgreSQL through pip; fall back to Debian's when it cannot serve."""
    probe = (
        "import tempfile, pgserver\n"
        "with tempfile.TemporaryDirectory() as d:\n"
        "    s = pgserver.get_server(d, cleanup_mode='stop'); s.psql('select 1;'); s.cleanup()\n"
    )
    ok = subprocess.call([str(PY), "-c", probe], cwd=ROOT, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL) == 0
    if not ok and not list(Path("/usr/lib/postgresql").glob("*/bin/initdb")):
        say("pgserver cannot serve here; installing Debian's PostgreSQL as the fallback")
        apt_install("postgresql")


def cmd_demo() -> int:
    ensure_venv()
    return run([str(PY), "-m", "walltrack", "run"])


def cmd_test() -> int:
    ensure_venv()
    ensure_chromium()
    ensure_postgres()
    say("ruff check")
    if run([str(PY), "-m", "ruff", "check", "."]) != 0:
        fail("ruff found problems (see above)")
    say("pytest")
    code = run([str(PY), "-m", "pytest", *sys.argv[2:]])
    if code == 5:
        fail("pytest collected no tests: that is a failure, not a pass", 5)
    return code


def main() -> int:
    ensure_python()
    commands = {"demo": cmd_demo, "test": cmd_test}
    if len(sys.argv) < 2 or sys.argv[1] not in commands:
        print(__doc__)
        return 2
    return commands[sys.argv[1]]()


if __name__ == "__main__":
    raise SystemExit(main())
