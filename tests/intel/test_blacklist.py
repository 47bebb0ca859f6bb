from __future__ import annotations

from tests import factories
from walltrack import models as m
from walltrack.intel.blacklist import blacklisted_wallets, clear_blacklist, set_blacklisted
from walltrack.store import Database
from walltrack.store.repositories import DecayEventRepository, WalletRepository


def test_blacklisting_records_events_and_leaves_the_watchlist(db: Database) -> None:
    repo = WalletRepository(db)
    repo.upsert(m.Wallet(address=factories.WALLET, on_watchlist=True,
                         status=m.DecayStatus.flagged))
    unknown = factories.address("never-seen")
    assert set_blacklisted(db, [factories.WALLET, unknown, factories.WALLET], "rug crew",
                           now=factories.T0) == 2
    assert set_blacklisted(db, [factories.WALLET], "again", now=factories.T0) == 0
    wallet = repo.get(factories.WALLET)
    assert wallet.status is m.DecayStatus.blacklisted
    assert wallet.on_watchlist is False
    assert wallet.watchlist_override is m.WatchlistOverride.remove
    assert blacklisted_wallets(db) == {factories.WALLET, unknown}
    events = {e.wallet: e for e in DecayEventRepository(db).list()}
    assert events[factories.WALLET].before is m.DecayStatus.flagged
    assert events[unknown].before is m.DecayStatus.ok
    assert events[unknown].reason == "rug crew"


def test_clearing_the_blacklist(db: Database) -> None:
    set_blacklisted(db, [factories.WALLET], "oops", now=factories.T0)
    assert clear_blacklist(db, [factories.WALLET], "operator undo", now=factories.T0) == 1
    wallet = WalletRepository(db).get(factories.WALLET)
    assert wallet.status is m.DecayStatus.ok
    assert wallet.watchlist_override is m.WatchlistOverride.none
    assert len(DecayEventRepository(db).list()) == 2
