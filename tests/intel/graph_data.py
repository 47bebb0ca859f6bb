"""Hand-made market frames for the wallet-graph tests: two insider clusters, a sniper bot,
an exchange funding everyone, and background retail."""

from __future__ import annotations

from datetime import timedelta

import polars as pl

from tests import factories

UTC_US = pl.Datetime("us", "UTC")
T0 = factories.T0.replace(microsecond=0)


def w(name: str) -> str:
    return factories.address(f"wallet-{name}")


def tok(i: int) -> str:
    return factories.address(f"mint-{i}")


def swaps_frame(rows: list[tuple[str, str, float]], side: str = "buy") -> pl.DataFrame:
    """rows: (wallet, mint, seconds after T0)."""
    return pl.DataFrame(
        {
            "signature": [factories.signature(f"s-{i}-{r}") for i, r in enumerate(rows)],
            "slot": [300_000_000 + i for i in range(len(rows))],
            "timestamp": [T0 + timedelta(seconds=r[2]) for r in rows],
            "wallet": [r[0] for r in rows],
            "mint": [r[1] for r in rows],
            "side": [side] * len(rows),
            "sol_amount": [0.5] * len(rows),
            "token_amount": [1000.0] * len(rows),
            "source": ["PUMP_AMM"] * len(rows),
            "fee_sol": [0.000005] * len(rows),
        },
        schema_overrides={"timestamp": UTC_US},
    )


def transfers_frame(rows: list[tuple[str, str, float, float]]) -> pl.DataFrame:
    """rows: (source, destination, sol, seconds after T0)."""
    return pl.DataFrame(
        {
            "signature": [factories.signature(f"t-{i}-{r}") for i, r in enumerate(rows)],
            "slot": [200_000_000 + i for i in range(len(rows))],
            "timestamp": [T0 + timedelta(seconds=r[3]) for r in rows],
            "source": [r[0] for r in rows],
            "destination": [r[1] for r in rows],
            "sol_amount": [r[2] for r in rows],
        },
        schema_overrides={"timestamp": UTC_US},
    )


CLUSTERS = {
    "a": {"leader": w("a-lead"), "members": [w(f"a-{i}") for i in range(4)],
          "funder": w("a-funder"), "tokens": [tok(i) for i in range(0, 6)]},
    "b": {"leader": w("b-lead"), "members": [w(f"b-{i}") for i in range(3)],
          "funder": w("b-funder"), "tokens": [tok(i) for i in range(6, 11)]},
}
BOT = w("bot")
EXCHANGE = w("exchange")
RETAIL = [w(f"retail-{i}") for i in range(60)]
N_TOKENS = 40


def planted_market() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(swaps, transfers): cluster leaders first, members 20–200 s later; the bot buys every
    launch in its first seconds; retail buys two random-ish launches each; the exchange funds
    the bot, the retail and both funders."""
    buys: list[tuple[str, str, float]] = []
    for j in range(N_TOKENS):
        launch = j * 3600.0
        buys.append((BOT, tok(j), launch + 1))
    for c in CLUSTERS.values():
        for k, mint in enumerate(c["tokens"]):
            launch = CLUSTERS_LAUNCH[mint]
            buys.append((c["leader"], mint, launch + 10))
            for i, m in enumerate(c["members"]):
                if (i + k) % 5 == 4:  # now and then a member sits one out
                    continue
                buys.append((m, mint, launch + 30 + 40 * i))
    for i, r in enumerate(RETAIL):
        for j in ((i * 7) % N_TOKENS, (i * 13 + 5) % N_TOKENS):
            buys.append((r, tok(j), j * 3600.0 + 20 + (i % 9) * 25))
    transfers: list[tuple[str, str, float, float]] = [
        (EXCHANGE, x, 5.0, -86_400.0 + i)
        for i, x in enumerate([BOT, *RETAIL, CLUSTERS["a"]["funder"], CLUSTERS["b"]["funder"]])
    ]
    for c in CLUSTERS.values():
        for i, m in enumerate([c["leader"], *c["members"]]):
            transfers.append((c["funder"], m, 2.0, -3600.0 + i))
    return swaps_frame(buys), transfers_frame(transfers)


CLUSTERS_LAUNCH = {tok(j): j * 3600.0 for j in range(N_TOKENS)}
