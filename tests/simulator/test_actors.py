"""Copy bots, bait wallets and rugs that wait for the copiers (walltrack.simulator.actors)."""

from __future__ import annotations

import polars as pl
import pytest

from walltrack.simulator import Market, SimParams, generate_market
from walltrack.simulator.params import ActorParams

MEDIUM = SimParams(seed=5, wallets=2_000, tokens=90, days=7, clusters=6)


@pytest.fixture(scope="module")
def market() -> Market:
    return generate_market(MEDIUM)


def _arch(m: Market, name: str) -> list[str]:
    return m.truth_wallets.filter(pl.col("archetype") == name)["wallet"].to_list()


def _follows(m: Market) -> pl.DataFrame:
    return (m.truth_wallets.filter(pl.col("archetype") == "copy_bot")
            .select(bot="wallet", leader="follows").explode("leader"))


def _returns(m: Market) -> pl.DataFrame:
    """Per wallet and mint: SOL out / SOL in − 1 and the first buy time."""
    signed = pl.when(pl.col("side") == "sell").then(pl.col("sol_amount")).otherwise(0.0)
    return m.swaps.group_by("wallet", "mint").agg(
        ret=signed.sum() / pl.col("sol_amount").filter(pl.col("side") == "buy").sum() - 1,
        first=pl.col("t").filter(pl.col("side") == "buy").min(),
    ).filter(pl.col("first").is_not_null())


def test_actors_are_in_the_truth_and_retail_stays_the_crowd(market: Market) -> None:
    tw = market.truth_wallets
    counts = dict(tw.group_by("archetype").len().iter_rows())
    assert counts["copy_bot"] == int(MEDIUM.wallets * MEDIUM.actors.copy_bot_share)
    assert counts["bait"] == int(MEDIUM.wallets * MEDIUM.actors.bait_share)
    assert counts["retail"] >= 0.8 * tw.height
    f = _follows(market).join(tw.select(leader="wallet", archetype="archetype"), on="leader")
    assert set(f["archetype"]) == {"informed", "insider", "bait"}
    # Every bait has at least one copy bot on it (its followers).
    assert set(_arch(market, "bait")) <= set(f["leader"])
    assert tw.filter(pl.col("archetype") != "copy_bot")["follows"].null_count() == \
        tw.height - counts["copy_bot"]


def test_copy_bots_buy_within_their_delay_after_a_leader(market: Market) -> None:
    lo, hi = MEDIUM.actors.copy_delay_s
    buys = market.swaps.filter(pl.col("side") == "buy").select("wallet", "mint", "t")
    bot_buys = buys.join(_follows(market).select(wallet="bot").unique(), on="wallet")
    led = (bot_buys.rename({"wallet": "bot", "t": "t_bot"}).join(_follows(market), on="bot")
           .join(buys.rename({"wallet": "leader", "t": "t_lead"}), on=["leader", "mint"])
           .filter((pl.col("t_bot") - pl.col("t_lead")).is_between(lo, hi))
           .select("bot", "mint", "t_bot").unique())
    assert bot_buys.height > 200
    # Every copy-bot buy has a leader that bought the same token lo–hi seconds before.
    assert led.height == bot_buys.height


def test_baits_dump_after_their_followers_bought(market: Market) -> None:
    sw = market.swaps
    follows = _follows(market)
    baits = _arch(market, "bait")
    first_sell = sw.filter(pl.col("wallet").is_in(baits) & (pl.col("side") == "sell")).group_by(
        "wallet", "mint").agg(dump=pl.col("t").min())
    first_buy = sw.filter(pl.col("wallet").is_in(baits) & (pl.col("side") == "buy")).group_by(
        "wallet", "mint").agg(t0=pl.col("t").min())
    # Rug crews (test below) sell just before the pull instead: their own rule.
    rugged = market.tokens.filter(pl.col("rug_t").is_not_nan())["mint"].implode()
    episodes = first_buy.join(first_sell, on=["wallet", "mint"]).filter(
        ~pl.col("mint").is_in(rugged))
    copies = (sw.filter(pl.col("side") == "buy").select(bot="wallet", mint="mint", t_c="t")
              .join(follows.rename({"leader": "wallet"}), on="bot")
              .join(episodes, on=["wallet", "mint"])
              .filter((pl.col("t_c") > pl.col("t0")) & (pl.col("t_c") < pl.col("t0") + 10)))
    assert copies.height >= 20
    assert (copies["t_c"] < copies["dump"]).all()
    wait_lo = MEDIUM.actors.bait_wait_s[0]
    assert (episodes["dump"] - episodes["t0"] >= wait_lo - 1e-6).all()
    # The bait's copiers lose on those tokens; the bait itself does better than they do.
    # (Tokens a bot also copied from one of its other leaders are left out: an informed
    # wallet's buy there draws a tracker crowd whose lift is not the bait's doing.)
    ret = _returns(market)
    other = (follows.filter(~pl.col("leader").is_in(baits))
             .join(sw.filter(pl.col("side") == "buy").select(leader="wallet", mint="mint"),
                   on="leader").select(wallet="bot", mint="mint").unique())
    copied = ret.join(copies.select(wallet="bot", mint="mint").unique(),
                      on=["wallet", "mint"]).join(other, on=["wallet", "mint"], how="anti")
    bait_own = ret.join(episodes.select("wallet", "mint"), on=["wallet", "mint"])
    assert copied["ret"].mean() < 0 < bait_own["ret"].mean()


def test_rugs_hit_copiers_harder_than_early_buyers(market: Market) -> None:
    tokens = market.tokens.filter(pl.col("rug_t").is_not_nan()).select("mint", "launch_t",
                                                                         "rug_t")
    assert tokens.height >= 5
    ret = _returns(market).join(tokens, on="mint").join(
        market.truth_wallets.select("wallet", "archetype"), on="wallet")
    copiers = ret.filter(pl.col("archetype") == "copy_bot")
    early = ret.filter((pl.col("first") < pl.col("launch_t") + 600)
                       & ~pl.col("archetype").is_in(["copy_bot", "bait"]))
    assert copiers.height >= 10 and early.height >= 10
    assert copiers["ret"].mean() < early["ret"].mean() - 0.2
    # The pull came after the crew's copiers: most rugs had copy bots buying in the last
    # follower window before it (retail followers lag up to bait_follower_lag_s).
    a = MEDIUM.actors
    window = a.bait_follower_lag_s[1] + a.rug_after_copy_s[1] + a.copy_delay_s[1]
    last_copy = market.swaps.filter(pl.col("side") == "buy").join(
        pl.DataFrame({"wallet": _arch(market, "copy_bot")}), on="wallet").join(
        tokens, on="mint").filter(pl.col("t") < pl.col("rug_t")).group_by("mint").agg(
        gap=(pl.col("rug_t") - pl.col("t")).min())
    trapped = last_copy.filter(pl.col("gap") <= window).height
    assert trapped >= tokens.height // 2
    assert (last_copy["gap"] >= a.rug_after_copy_s[0] - 1e-6).all()


def test_same_params_same_market_and_old_schedules_do_not_move() -> None:
    a, b = generate_market(MEDIUM), generate_market(MEDIUM)
    for name, frame in a.frames().items():
        assert frame.equals(getattr(b, name)), name
    off = generate_market(MEDIUM.model_copy(update={"actors": ActorParams(enabled=False)}))
    assert not set(off.truth_wallets["archetype"]) & {"copy_bot", "bait"}
    # Tokens and the planted archetypes' schedules come from their own streams: unchanged.
    assert a.tokens["launch_t"].equals(off.tokens["launch_t"])
    for arch in ("informed", "insider", "sniper_bot"):
        w = _arch(off, arch)
        assert w == _arch(a, arch)
        times = [m.swaps.filter(pl.col("wallet").is_in(w) & (pl.col("side") == "buy"))
                 .select("wallet", "mint", "t").sort("wallet", "mint", "t") for m in (a, off)]
        assert times[0].equals(times[1]), arch


@pytest.mark.parametrize("update", [{"copy_bot_share": 0.0}, {"bait_share": 0.0}])
def test_one_actor_kind_alone(update: dict[str, float]) -> None:
    m = generate_market(SimParams(seed=2, wallets=600, tokens=20, days=3, clusters=2,
                                  actors=ActorParams(**update)))
    kinds = set(m.truth_wallets["archetype"])
    assert ("copy_bot" in kinds) == (update.get("copy_bot_share", 1) > 0)
    assert ("bait" in kinds) == (update.get("bait_share", 1) > 0)


def _alerts(m: Market) -> pl.DataFrame:
    """Each informed wallet's first buy of a token: what a tracker alerts on."""
    return (m.swaps.filter(pl.col("wallet").is_in(_arch(m, "informed"))
                           & (pl.col("side") == "buy"))
            .group_by("wallet", "mint").agg(t0=pl.col("t").min()))


def _price_after(m: Market, points: pl.DataFrame, offset: float) -> pl.Series:
    """SOL per token in the pool as it stands ``offset`` seconds after each point's t0."""
    pools = (m.swaps.select("mint", "t", price=pl.col("pool_sol_after")
                            / pl.col("pool_token_after")).sort("t"))
    at = points.with_columns(t=pl.col("t0") + offset).sort("t")
    return at.join_asof(pools, on="t", by="mint", strategy="backward",
                        check_sortedness=False).sort(
        "wallet", "mint")["price"]


def test_tracker_crowds_buy_after_an_informed_new_position_and_leave() -> None:
    a = MEDIUM.actors
    m = generate_market(MEDIUM)
    off = generate_market(MEDIUM.model_copy(update={
        "actors": a.model_copy(update={"tracker_followers": 0.0})}))
    trackers = _arch(m, "tracker")
    assert len(trackers) == int(MEDIUM.wallets * a.tracker_share)
    assert not _arch(off, "tracker")
    alerts = _alerts(m)
    assert alerts.height >= 100
    sw = m.swaps.filter(pl.col("wallet").is_in(trackers))
    buys = sw.filter(pl.col("side") == "buy")
    # About tracker_followers buys per alert (Poisson; a few are refused by the pool) …
    per_alert = buys.height / alerts.height
    assert 0.8 * a.tracker_followers < per_alert < 1.1 * a.tracker_followers
    # … each of them tracker_lag_s after an informed wallet's first buy of the same token.
    lo, hi = a.tracker_lag_s
    lagged = (buys.join(alerts.select("mint", "t0"), on="mint")
              .filter((pl.col("t") - pl.col("t0")).is_between(lo - 1e-6, hi + 1e-6))
              ["signature"].n_unique())
    assert lagged == buys.height
    # They flip: sold ≥ 60 s after the buy, most within the half hour (a tracker on two
    # alerts of one token sells both buys at once: left out).
    single = buys.filter(pl.len().over("wallet", "mint") == 1)
    hold = (single.join(sw.filter(pl.col("side") == "sell"), on=["wallet", "mint"],
                        suffix="_sell").filter(pl.col("t_sell") > pl.col("t"))
            .group_by("signature").agg((pl.col("t_sell") - pl.col("t")).min())["t_sell"])
    assert single.height > 0.3 * buys.height
    assert hold.len() >= 0.95 * single.height and hold.min() >= 60 - 1e-6
    assert hold.median() < 1800
    # What a copier a minute late pays over the leader's own price: more with the crowd;
    # and an hour later the crowd's lift is gone again (they left) …
    lift = {name: (_price_after(x, alerts, 60.0) / _price_after(x, alerts, 0.0)).mean()
            for name, x in (("crowd", m), ("none", off))}
    after = {name: (_price_after(x, alerts, 3600.0) / _price_after(x, alerts, 60.0)).median()
             for name, x in (("crowd", m), ("none", off))}
    assert lift["crowd"] > lift["none"] + 0.10
    assert after["crowd"] < after["none"] - 0.05
    # … and the crowd pays for it: its trades lose on average, the informed's win.
    ret = _returns(m)
    crowd = ret.filter(pl.col("wallet").is_in(trackers))["ret"].mean()
    informed = ret.filter(pl.col("wallet").is_in(_arch(m, "informed")))["ret"].mean()
    assert crowd < 0 < informed
