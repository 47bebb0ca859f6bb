-- The live signal server (issue 10): durable inbox, signals with their inputs, polling
-- cursors, token safety cache, shadow outcomes, live status, change notifications.

-- Every transaction a source delivered, stored before it is acknowledged. One row per
-- signature: a duplicate delivery only bumps ``duplicates``.
CREATE TABLE inbox (
    seq          bigserial UNIQUE,
    signature    text PRIMARY KEY,
    source       text NOT NULL CHECK (source IN ('webhook', 'polling')),
    received_at  timestamptz NOT NULL DEFAULT now(),
    payload      bytea NOT NULL,  -- the enhanced transaction, JSON as received (one object)
    status       text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'parked')),
    attempts     integer NOT NULL DEFAULT 0,
    not_before   timestamptz,     -- a failed item waits until then before its next attempt
    last_error   text,
    duplicates   integer NOT NULL DEFAULT 0,
    processed_at timestamptz
);
CREATE INDEX inbox_pending ON inbox (seq) WHERE status = 'pending';
CREATE INDEX inbox_source_received ON inbox (source, received_at DESC);

-- Signals: decision values of the live scoring, and what the trading engine and the
-- shadow outcomes need beside the factor breakdown.
UPDATE signals SET decision = 'eligible' WHERE decision = 'trade';
ALTER TABLE signals ADD COLUMN source text NOT NULL DEFAULT 'webhook';
ALTER TABLE signals ADD COLUMN slot bigint;
ALTER TABLE signals ADD COLUMN token_amount double precision NOT NULL DEFAULT 0;
ALTER TABLE signals ADD COLUMN price_sol double precision;          -- the swap's own price
ALTER TABLE signals ADD COLUMN price_usd double precision;          -- market price at scoring
ALTER TABLE signals ADD COLUMN high_conviction boolean NOT NULL DEFAULT false;
ALTER TABLE signals ADD COLUMN failed_checks jsonb NOT NULL DEFAULT '[]';
ALTER TABLE signals ADD COLUMN delay_seconds double precision;      -- swap → observed
ALTER TABLE signals ADD COLUMN stored_at timestamptz DEFAULT clock_timestamp();  -- by the store
ALTER TABLE signals ADD CONSTRAINT signals_decision
    CHECK (decision IN ('eligible', 'log_only'));
ALTER TABLE signals ADD CONSTRAINT signals_one_per_swap UNIQUE (signature, wallet, mint);
CREATE INDEX signals_wallet ON signals (wallet, observed_at DESC);
CREATE INDEX signals_mint ON signals (mint, swap_at DESC);

-- RPC polling: the newest signature seen per watched wallet.
CREATE TABLE poll_cursors (
    wallet          text PRIMARY KEY,
    last_signature  text,
    last_slot       bigint,
    polled_at       timestamptz NOT NULL DEFAULT now()
);

-- Named live state for the status bar: webhook sync, deadman, sources.
CREATE TABLE live_status (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- On-chain facts of a mint. Authorities that are revoked stay revoked (one-way doors):
-- those rows are kept for good; the rest are re-read after their TTL.
CREATE TABLE token_safety (
    mint             text PRIMARY KEY,
    checked_at       timestamptz NOT NULL,
    token_program    text,
    decimals         integer,
    supply           double precision,
    mint_authority   text,
    freeze_authority text,
    extensions       jsonb NOT NULL DEFAULT '[]',
    detail           jsonb NOT NULL DEFAULT '{}'
);

-- What the token's price did after each signal (5 min, 1 h, 6 h), from price data.
CREATE TABLE signal_outcomes (
    signal_id    text NOT NULL REFERENCES signals (id) ON DELETE CASCADE,
    horizon_s    integer NOT NULL,
    due_at       timestamptz NOT NULL,
    measured_at  timestamptz,
    price_usd    double precision,
    return_pct   double precision,
    source       text,
    note         text,
    PRIMARY KEY (signal_id, horizon_s)
);
CREATE INDEX signal_outcomes_due ON signal_outcomes (due_at) WHERE measured_at IS NULL;

-- Change notifications: the server keeps the watchlist, the clusters and the config in
-- memory and reloads them when these fire (no store query per transaction).
CREATE OR REPLACE FUNCTION walltrack_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify(TG_ARGV[0], '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER wallets_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON wallets
    FOR EACH STATEMENT EXECUTE FUNCTION walltrack_notify('walltrack_watchlist');
CREATE TRIGGER cluster_members_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE
    ON cluster_members FOR EACH STATEMENT EXECUTE FUNCTION walltrack_notify('walltrack_clusters');
CREATE TRIGGER config_notify AFTER INSERT OR UPDATE OR DELETE ON config
    FOR EACH STATEMENT EXECUTE FUNCTION walltrack_notify('walltrack_config');
