"""The simulator in a process of its own serves what the in-thread simulator serves."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import polars as pl
import pytest

from walltrack.errors import WallTrackError
from walltrack.logging import configure_logging
from walltrack.simulator import PRESETS, Market, SimParams
from walltrack.simulator.background import SimulatorProcess, serving, serving_process

KEY = {"api-key": "k"}
DAY = 86_400.0


def _gone(pid: int) -> bool:
    """Exited (a zombie nobody reaped yet counts as exited)."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return True
    return "\nState:\tZ" in status


def test_same_pages_state_and_clock_as_in_thread(small_market: Market) -> None:
    wallet = small_market.swaps.filter(pl.col("t") < DAY)["wallet"].mode()[0]
    mint = small_market.swaps.filter(pl.col("t") < DAY)["mint"][0]
    paths = [
        f"/v0/addresses/{wallet}/transactions",
        f"/v0/addresses/{mint}/transactions",
    ]
    with (
        serving_process(small_market.params, start_at=DAY) as url_p,
        serving(small_market, start_at=DAY) as url_t,
        httpx.Client(base_url=url_p, timeout=30) as child,
        httpx.Client(base_url=url_t, timeout=30) as thread,
    ):
        for _ in range(2):  # before and after moving both clocks
            state_p, state_t = child.get("/sim/state").json(), thread.get("/sim/state").json()
            assert state_p == state_t
            for path in paths:
                page = child.get(path, params=KEY)
                assert page.status_code == 200 and page.json()
                assert page.content == thread.get(path, params=KEY).content
            moved = [c.post("/sim/advance", json={"seconds": 7_200}) for c in (child, thread)]
            moved = [m.json() for m in moved]
            assert moved[0] == moved[1] == {"sim_seconds": state_p["sim_seconds"] + 7_200}
        assert child.get("/sim/state").json()["visible_transactions"] > 0


def test_the_child_is_stopped_and_its_port_closed() -> None:
    params = PRESETS["small"].model_copy(update={"seed": 3})
    with SimulatorProcess(params) as sim:
        url = sim.wait_ready()
        assert httpx.get(url + "/health").json() == {"status": "ok"}
        assert sim.process is not None
        pid = sim.process.pid
    assert _gone(pid)
    with pytest.raises(httpx.ConnectError):
        httpx.get(url + "/health", timeout=2)


def test_a_child_that_cannot_start_explains_itself() -> None:
    too_few = SimParams(wallets=200)  # fewer wallets than 24 clusters and the crowd need
    with pytest.raises(WallTrackError, match="exited with 2") as info:
        with serving_process(too_few, timeout=120):
            pass
    assert "too few" in str(info.value)


def test_the_child_stops_when_its_parent_dies() -> None:
    code = (
        "import os\n"
        "from walltrack.simulator import PRESETS\n"
        "from walltrack.simulator.background import SimulatorProcess\n"
        "sim = SimulatorProcess(PRESETS['small'])\n"
        "sim.start()\n"
        "sim.wait_ready()\n"
        "print(sim.process.pid, flush=True)\n"
        "os._exit(0)  # no clean-up: the child is orphaned\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])},
        check=True,
    )
    pid = int(done.stdout.split()[-1])
    deadline = time.monotonic() + 30
    while not _gone(pid):
        assert time.monotonic() < deadline, "the orphaned simulator is still running"
        time.sleep(0.2)


def test_a_child_that_dies_during_the_run_is_reported_not_raised() -> None:
    stream = io.StringIO()
    configure_logging(level="INFO", json_lines=True, stream=stream)
    params = PRESETS["small"].model_copy(update={"seed": 4})
    with SimulatorProcess(params) as sim:
        sim.wait_ready()
        assert sim.process is not None
        sim.process.kill()
        sim.process.wait(timeout=10)
    died = [e for e in map(json.loads, stream.getvalue().splitlines()) if "died" in e["event"]]
    assert [(e["event"], e["returncode"]) for e in died] == [("simulator_process_died", -9)]
