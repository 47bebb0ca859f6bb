"""Token data and safety: parsers on shaped answers, the checks on hand-made cases, and the
cached lookup against the simulator (planted traits caught, single flight, one-way doors)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.harness.app_server import ThreadServer
from walltrack.clients.base import ClientPolicy, RetryPolicy
from walltrack.clients.dexscreener import DexScreenerClient
from walltrack.clients.jupiter import JupiterClient
from walltrack.clients.mint_accounts import (
    MintInfo,
    parse_largest,
    parse_mint,
    parse_supply,
    parse_token_accounts,
)
from walltrack.clients.solana_rpc import SolanaRpcClient
from walltrack.live.safety import Holders, RoundTrip, assess, holders_share
from walltrack.live.token_data import TokenData
from walltrack.models import SafetyCheck, TokenMarket
from walltrack.models.base import utcnow
from walltrack.models.config import SafetyConfig
from walltrack.simulator import PRESETS, Market, generate_market
from walltrack.simulator.server import create_app
from walltrack.store import Database

SHAPED = Path(__file__).resolve().parents[1] / "fixtures" / "shaped" / "solana_rpc"
CFG = SafetyConfig()


def shaped(name: str) -> Any:
    return json.loads((SHAPED / name).read_text())["result"]["value"]


def test_parsers_read_the_documented_shapes() -> None:
    plain = parse_mint("M1", shaped("getAccountInfo_jsonParsed_mint_spl.json"))
    assert plain is not None and not plain.token_2022
    assert (plain.mint_authority, plain.freeze_authority, plain.decimals) == (None, None, 6)
    t22 = parse_mint("M2", shaped("getAccountInfo_jsonParsed_mint_token2022_extensions.json"))
    assert t22 is not None and t22.token_2022 and t22.transfer_fee_bps == 500
    assert t22.default_frozen and t22.extension("permanentDelegate") is not None
    assert parse_mint("M3", None) is None
    largest = parse_largest(shaped("getTokenLargestAccounts_envelope.json"))
    supply = parse_supply(shaped("getTokenSupply_envelope.json"))
    addresses = [a.address for a in largest]
    owners = parse_token_accounts(addresses,
                                  shaped("getMultipleAccounts_jsonParsed_token_accounts.json"))
    assert set(owners) == set(addresses[:2])  # the null account is left out
    holders = holders_share(largest, owners, supply, pools=set())
    assert holders is not None and holders.excluded == (addresses[0],)  # the Raydium vault
    assert holders.top10_share == pytest.approx((25e12 + 12.5e12) / 1e15)


def market(liquidity: float = 200_000) -> TokenMarket:
    return TokenMarket(liquidity_usd=liquidity, fetched_at=utcnow())


def clean_mint(**changes: Any) -> MintInfo:
    return MintInfo(mint="M", program="TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA",
                    decimals=6, supply=10**15, **changes)


GOOD = (clean_mint(), Holders(0.15, ()), market(), RoundTrip(10**7, 10**9, 9_600_000))


def test_a_clean_token_passes_with_a_high_score() -> None:
    safety = assess(*GOOD, CFG)
    assert safety.failed == [] and safety.score > 0.85
    assert safety.inputs["round_trip_loss"] == pytest.approx(0.04)


@pytest.mark.parametrize(("change", "check"), [
    ({"mint": clean_mint(freeze_authority="Auth")}, SafetyCheck.freeze_authority),
    ({"mint": clean_mint(mint_authority="Auth")}, SafetyCheck.mint_authority),
    ({"trip": RoundTrip(10**7, 10**9, None)}, SafetyCheck.no_sell_route),
    ({"trip": RoundTrip(10**7, 10**9, 5_000_000)}, SafetyCheck.round_trip_loss),
    ({"holders": Holders(0.7, ())}, SafetyCheck.holder_concentration),
    ({"market": market(1_000)}, SafetyCheck.liquidity),
    ({"mint": None}, SafetyCheck.unknown),
    ({"trip": None}, SafetyCheck.unknown),
])
def test_each_check_fails_on_its_case(change: dict[str, Any], check: SafetyCheck) -> None:
    parts = dict(zip(("mint", "holders", "market", "trip"), GOOD, strict=True)) | change
    safety = assess(parts["mint"], parts["holders"], parts["market"], parts["trip"], CFG)
    assert check in safety.failed
    assert safety.score < assess(*GOOD, CFG).score


def test_token_2022_extensions() -> None:
    t22 = parse_mint("M2", shaped("getAccountInfo_jsonParsed_mint_token2022_extensions.json"))
    safety = assess(t22, *GOOD[1:], CFG)
    assert {SafetyCheck.token_extension, SafetyCheck.transfer_fee,
            SafetyCheck.mint_authority, SafetyCheck.freeze_authority} <= set(safety.failed)
    assert set(safety.inputs["forbidden_extensions"]) == {"permanentDelegate",
                                                          "defaultAccountState"}


# -- against the simulator -----------------------------------------------------------------

@pytest.fixture(scope="module")
def market_with_traits() -> Market:
    return generate_market(PRESETS["small"])


@pytest.fixture(scope="module")
def sim_url(market_with_traits: Market) -> Iterator[str]:
    # Late in the window: every token has launched.
    start = market_with_traits.params.days * 86_400 * 0.95
    with ThreadServer(create_app(market_with_traits, speed=0.0, start_at=start)) as server:
        yield server.url


# The simulator has no rate limits; the published ones would make this test minutes long.
FAST = ClientPolicy(rate_per_second=1000, burst=1000, retry=RetryPolicy(retries=0, waits=()))


def token_data(sim_url: str, db: Database) -> TokenData:
    return TokenData(SolanaRpcClient([sim_url + "/rpc"], policy=FAST),
                     DexScreenerClient(sim_url, policy=FAST),
                     JupiterClient(sim_url, policy=FAST), db, lambda: CFG)


EXPECTED = {"mint_authority": SafetyCheck.mint_authority,
            "freeze_authority": SafetyCheck.freeze_authority,
            "concentrated": SafetyCheck.holder_concentration,
            "token2022_delegate": SafetyCheck.token_extension,
            "one_way": SafetyCheck.no_sell_route}


async def test_planted_traits_are_caught_and_clean_tokens_pass_them(
        sim_url: str, db: Database, market_with_traits: Market) -> None:
    data = token_data(sim_url, db)
    truth = market_with_traits.truth_tokens
    traits = dict(zip(truth["mint"].to_list(), truth["safety_trait"].to_list(), strict=True))
    views = await asyncio.gather(*(data.view(m) for m in traits))
    await data.aclose()
    caught = 0
    for view in views:
        trait = traits[view.mint]
        if trait is None:
            assert not set(view.safety.failed) & set(EXPECTED.values()) - {
                SafetyCheck.holder_concentration}, (view.mint, view.safety)
        else:
            assert EXPECTED[trait] in view.safety.failed, (trait, view.safety)
            caught += 1
    assert caught == sum(t is not None for t in traits.values()) > 0
    rugs = truth.filter(truth["fate"] == "rug")
    runners = truth.filter(truth["fate"].is_in(["runner", "slow_bleed"]))
    share = lambda f: f["safety_trait"].is_not_null().mean()  # noqa: E731
    assert share(rugs) > share(runners)


async def test_one_lookup_per_part_however_many_callers(sim_url: str, db: Database,
                                                        market_with_traits: Market) -> None:
    mint = market_with_traits.tokens["mint"][0]
    data = token_data(sim_url, db)
    views = await asyncio.gather(*(data.view(mint) for _ in range(10)))
    assert len({v.model_dump_json() for v in views}) == 1
    assert (data.market.loads, data.holders.loads, data.round_trips.loads) == (1, 1, 1)
    assert data.mints.loads <= 1
    await data.view(mint)
    assert data.market.loads == 1  # within its TTL
    await data.aclose()


async def test_revoked_authorities_are_read_once_for_good(sim_url: str, db: Database,
                                                          market_with_traits: Market) -> None:
    truth = market_with_traits.truth_tokens
    clean = truth.filter(truth["safety_trait"].is_null())["mint"][0]
    live = truth.filter(truth["safety_trait"] == "freeze_authority")["mint"][0]
    first = token_data(sim_url, db)
    await first.view(clean)
    await first.view(live)
    await first.aclose()
    restarted = token_data(sim_url, db)  # a new process over the same store
    a = await restarted.view(clean)
    b = await restarted.view(live)
    await restarted.aclose()
    assert restarted.mints.loads == 1  # only the mint whose authority is still live
    assert SafetyCheck.mint_authority not in a.safety.failed
    assert SafetyCheck.freeze_authority in b.safety.failed


async def test_a_dead_api_gives_unknown_never_safe(db: Database) -> None:
    dead = "http://127.0.0.1:9"  # nothing listens there
    data = token_data(dead, db)
    view = await data.view("So11111111111111111111111111111111111111112")
    await data.aclose()
    assert SafetyCheck.unknown in view.safety.failed and view.market is None
