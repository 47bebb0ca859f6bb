from __future__ import annotations

from tests import factories
from walltrack import models as m
from walltrack.intel.token_expansion import register_wallet_tokens
from walltrack.store import Database
from walltrack.store.repositories import SwapRepository, TokenRepository, WalletRepository

USDC = "EPjFWdd5AufqSSqeM2qN1xzybapC8G4wEGGkZwyTDt1v"


def test_tokens_bought_by_several_tracked_wallets_become_candidates(db: Database) -> None:
    w1, w2, bot1, bot2 = (factories.address(x) for x in ("w1", "w2", "bot1", "bot2"))
    popular, lonely, bot_only, known = (factories.address(x) for x in ("p", "l", "b", "k"))
    WalletRepository(db).upsert_many([
        m.Wallet(address=w1), m.Wallet(address=w2),
        m.Wallet(address=bot1, is_bot=True), m.Wallet(address=bot2, is_bot=True)])
    TokenRepository(db).upsert(m.Token(mint=known))

    def buy(i: int, wallet: str, mint: str) -> m.Swap:
        return factories.swap(i, wallet=wallet).model_copy(update={"mint": mint})

    SwapRepository(db).copy_models([
        buy(1, w1, popular), buy(2, w2, popular),
        buy(3, w1, lonely),
        buy(4, bot1, bot_only), buy(5, bot2, bot_only), buy(6, w1, bot_only),
        buy(7, w1, known), buy(8, w2, known),
        buy(9, w1, USDC), buy(10, w2, USDC),
    ])
    mints = register_wallet_tokens(db, min_wallets=2, now=factories.T0)
    assert mints == [popular]
    token = TokenRepository(db).get(popular)
    assert token.source is m.TokenSource.wallet_history
    assert register_wallet_tokens(db, min_wallets=2, now=factories.T0) == []  # known now
