-- API usage per UTC day and API (issue 9): what WallTrack asked of each external API and
-- what it cost. Every process adds its meter's counts with an additive upsert
-- (walltrack.store.usage.UsageRepository.flush), so concurrent flushes lose nothing.
-- Units: walltrack/models/usage.py. `api` is the usage name: helius, helius_rpc (an RPC
-- provider billed by Helius), dexscreener, jupiter, solana_rpc:<host>.
CREATE TABLE api_usage (
    day                 date NOT NULL,
    api                 text NOT NULL,
    operations          bigint NOT NULL DEFAULT 0,
    calls               bigint NOT NULL DEFAULT 0,   -- requests sent, retries included
    failures            bigint NOT NULL DEFAULT 0,   -- sent requests without a usable answer
    errors              bigint NOT NULL DEFAULT 0,   -- operations that failed for the caller
    retries             bigint NOT NULL DEFAULT 0,
    rate_limited        bigint NOT NULL DEFAULT 0,   -- 429 answers
    credits             bigint NOT NULL DEFAULT 0,   -- Helius credits (0 elsewhere)
    webhook_events      bigint NOT NULL DEFAULT 0,
    rate_wait_seconds   double precision NOT NULL DEFAULT 0,
    retry_wait_seconds  double precision NOT NULL DEFAULT 0,
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (day, api)
);

CREATE TRIGGER api_usage_updated_at BEFORE UPDATE ON api_usage
    FOR EACH ROW EXECUTE FUNCTION walltrack_set_updated_at();
