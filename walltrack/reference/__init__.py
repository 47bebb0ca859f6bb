"""Reference data shipped inside the package (see README.md in this folder).

Loaded with ``importlib.resources`` so a user's installed copy finds the files without the
repository around it.
"""

from __future__ import annotations

import csv
import io
from functools import lru_cache
from importlib import resources


def _rows(filename: str) -> list[dict[str, str]]:
    text = resources.files(__name__).joinpath(filename).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@lru_cache(maxsize=1)
def cex_hot_wallets() -> dict[str, str]:
    """Known exchange wallets: address → exchange name (430 rows, see README.md).

    Used beside the fan-out rule of the wallet graph, never instead of it: the list is
    incomplete and exchanges open new wallets.
    """
    return {row["address"]: row["exchange"] for row in _rows("cex_hot_wallets.csv")}


def known_exchange_addresses() -> set[str]:
    return set(cex_hot_wallets())


@lru_cache(maxsize=1)
def common_mints() -> dict[str, str]:
    """Well-known mints (wSOL, USDC, USDT, JUP, BONK…): mint → symbol. Not memecoin
    candidates: trading them says nothing about finding winners early."""
    return {row["mint"]: row["symbol"] for row in _rows("solana_mints.csv")}
