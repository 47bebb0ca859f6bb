"""Headless Debian Chromium driven by Playwright — never a downloaded browser."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")

# Closed network: without these, Chromium hangs on its own background lookups.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    if CHROMIUM.exists():
        return str(CHROMIUM)
    found = shutil.which("chromium")
    if found:
        return found
    raise RuntimeError(
        "Chromium is not installed at /usr/bin/chromium: run `python3 tasks.py test` (it "
        "installs the Debian package) or `apt-get install -y chromium`"
    )
