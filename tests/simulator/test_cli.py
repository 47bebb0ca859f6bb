"""The serve command as a real process."""

from __future__ import annotations

import sys

import httpx

from tests.harness.processes import run_server


def test_serve_command_answers_every_api() -> None:
    args = [
        sys.executable,
        "-m",
        "walltrack.simulator",
        "serve",
        "--preset",
        "small",
        "--seed",
        "11",
        "--port",
        "{port}",
        "--speed",
        "30",
    ]
    with (
        run_server(args, ready_path="/health") as srv,
        httpx.Client(base_url=srv.url, timeout=10) as c,
    ):
        state = c.get("/sim/state").json()
        assert state["params"]["seed"] == 11 and state["speed"] == 30
        assert c.get("/token-boosts/latest/v1").status_code == 200
        assert c.post(
            "/rpc", json={"jsonrpc": "2.0", "id": 1, "method": "getLatestBlockhash"}
        ).json()["result"]
        assert c.get("/v0/addresses/x/transactions").status_code == 401
        assert c.get("/v0/addresses/x/transactions", params={"api-key": "k"}).json() == []
        later = c.get("/sim/state").json()
        assert later["sim_seconds"] > state["sim_seconds"]  # the clock runs


def test_export_refuses_impossible_params_clearly(tmp_path) -> None:
    import subprocess

    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "walltrack.simulator",
            "export",
            "--wallets",
            "200",
            "--out",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert "too few" in done.stderr and "at least" in done.stderr
