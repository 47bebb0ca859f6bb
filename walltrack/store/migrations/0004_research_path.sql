-- One research path (issue 9).

-- The scheduler runs the research chain on one interval: the per-job keys are gone.
UPDATE config SET value = value - 'discover_wallets' - 'profile_wallets' - 'build_clusters'
                                - 'sync_webhooks'
WHERE key = 'jobs';

-- The profile's score and the score after decay, in two named columns (wallets.score is
-- the one after decay; the raw one is what profiling computed).
ALTER TABLE wallets ADD COLUMN raw_score double precision;
UPDATE wallets w SET raw_score = m.score FROM wallet_metrics m WHERE m.wallet = w.address;

-- The wallet lifecycle beside the decay status:
-- discovered → profiled → watchlisted | ignored → flagged → removed.
ALTER TABLE wallets ADD COLUMN lifecycle text NOT NULL DEFAULT 'discovered'
    CHECK (lifecycle IN ('discovered', 'profiled', 'watchlisted', 'ignored', 'flagged',
                         'removed'));
ALTER TABLE wallets ADD COLUMN lifecycle_reason text;
CREATE INDEX wallets_lifecycle ON wallets (lifecycle);

CREATE TABLE lifecycle_events (
    id      text PRIMARY KEY,
    wallet  text NOT NULL,
    at      timestamptz NOT NULL,
    before  text NOT NULL,
    after   text NOT NULL,
    reason  text NOT NULL,
    detail  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX lifecycle_events_wallet ON lifecycle_events (wallet, at);
