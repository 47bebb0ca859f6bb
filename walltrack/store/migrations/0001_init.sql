-- WallTrack schema v1: every entity of DESIGN.md section 5.
-- Column names equal the pydantic model field names (walltrack.models), so the generic
-- repository maps them one to one. Amounts are double precision (UI units, SOL not lamports).

CREATE OR REPLACE FUNCTION walltrack_set_updated_at() RETURNS trigger AS $$
BEGIN
    NEW.updated_at = now();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TABLE config (
    key         text PRIMARY KEY,
    value       jsonb NOT NULL,
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tokens (
    mint                    text PRIMARY KEY,
    symbol                  text,
    name                    text,
    decimals                integer,
    pair_address            text,
    dex_id                  text,
    quote_symbol            text,
    source                  text NOT NULL,
    first_seen_at           timestamptz NOT NULL,
    pair_created_at         timestamptz,
    status                  text NOT NULL CHECK (status IN ('active', 'dead', 'rugged')),
    status_reason           text,
    mint_authority_active   boolean,
    freeze_authority_active boolean,
    top10_holder_share      double precision,
    updated_at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE token_snapshots (
    mint                  text NOT NULL REFERENCES tokens (mint) ON DELETE CASCADE,
    taken_at              timestamptz NOT NULL,
    price_usd             double precision,
    price_sol             double precision,
    liquidity_usd         double precision,
    market_cap_usd        double precision,
    fdv_usd               double precision,
    volume_24h_usd        double precision,
    buys_24h              integer,
    sells_24h             integer,
    price_change_24h_pct  double precision,
    stale                 boolean NOT NULL DEFAULT false,
    PRIMARY KEY (mint, taken_at)
);

CREATE TABLE swaps (
    signature     text NOT NULL,
    slot          bigint NOT NULL,
    timestamp     timestamptz NOT NULL,
    wallet        text NOT NULL,
    mint          text NOT NULL,
    side          text NOT NULL CHECK (side IN ('buy', 'sell')),
    sol_amount    double precision NOT NULL,
    token_amount  double precision NOT NULL,
    source        text NOT NULL,
    fee_sol       double precision NOT NULL,
    PRIMARY KEY (signature, wallet, mint)
);
CREATE INDEX swaps_wallet_time ON swaps (wallet, timestamp);
CREATE INDEX swaps_mint_time ON swaps (mint, timestamp);

CREATE TABLE funding_transfers (
    signature    text NOT NULL,
    slot         bigint NOT NULL,
    timestamp    timestamptz NOT NULL,
    source       text NOT NULL,
    destination  text NOT NULL,
    sol_amount   double precision NOT NULL,
    PRIMARY KEY (signature, source, destination)
);
CREATE INDEX funding_transfers_destination ON funding_transfers (destination, timestamp);
CREATE INDEX funding_transfers_source ON funding_transfers (source);

CREATE TABLE wallets (
    address             text PRIMARY KEY,
    first_seen_at       timestamptz NOT NULL,
    label               text,
    status              text NOT NULL
        CHECK (status IN ('ok', 'flagged', 'downgraded', 'dormant', 'blacklisted')),
    is_bot              boolean NOT NULL DEFAULT false,
    on_watchlist        boolean NOT NULL DEFAULT false,
    watchlist_override  text NOT NULL DEFAULT 'none' CHECK (watchlist_override IN ('none', 'add', 'remove')),
    cluster_id          text,
    score               double precision,
    last_activity_at    timestamptz,
    notes               text,
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX wallets_watchlist ON wallets (on_watchlist) WHERE on_watchlist;

CREATE TABLE wallet_origins (
    wallet    text NOT NULL,
    mint      text NOT NULL,
    method    text NOT NULL,
    rank      integer NOT NULL,
    found_at  timestamptz NOT NULL,
    detail    jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (wallet, mint, method)
);

CREATE TABLE wallet_metrics (
    wallet             text PRIMARY KEY,
    computed_at        timestamptz NOT NULL,
    window_days        integer NOT NULL,
    swaps              integer NOT NULL,
    tokens_traded      integer NOT NULL,
    closed_trades      integer NOT NULL,
    wins               integer NOT NULL,
    losses             integer NOT NULL,
    win_rate           double precision NOT NULL,
    raw_win_rate       double precision NOT NULL,
    realized_pnl_sol   double precision NOT NULL,
    invested_sol       double precision NOT NULL,
    roi                double precision NOT NULL,
    profit_ratio       double precision,
    avg_hold_seconds   double precision,
    timing_percentile  double precision,
    activity_hours     jsonb NOT NULL,
    size_style         text,
    avg_buy_sol        double precision,
    consistency        double precision,
    is_bot             boolean NOT NULL,
    bot_reason         text,
    score              double precision NOT NULL,
    last_trade_at      timestamptz
);

CREATE TABLE decay_events (
    id      text PRIMARY KEY,
    wallet  text NOT NULL,
    at      timestamptz NOT NULL,
    before  text NOT NULL,
    after   text NOT NULL,
    reason  text NOT NULL,
    detail  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX decay_events_wallet ON decay_events (wallet, at);

CREATE TABLE wallet_edges (
    src          text NOT NULL,
    dst          text NOT NULL,
    kind         text NOT NULL CHECK (kind IN ('FUNDED_BY', 'SYNCED_BUY', 'EARLY_ON')),
    weight       double precision NOT NULL,
    src_first    integer NOT NULL DEFAULT 0,
    dst_first    integer NOT NULL DEFAULT 0,
    tokens       jsonb NOT NULL DEFAULT '[]',
    first_at     timestamptz,
    computed_at  timestamptz NOT NULL,
    detail       jsonb NOT NULL DEFAULT '{}',
    PRIMARY KEY (src, dst, kind)
);
CREATE INDEX wallet_edges_dst ON wallet_edges (dst);

CREATE TABLE clusters (
    id             text PRIMARY KEY,
    size           integer NOT NULL,
    leader         text,
    funder         text,
    mean_score     double precision,
    shared_tokens  jsonb NOT NULL DEFAULT '[]',
    computed_at    timestamptz NOT NULL
);

CREATE TABLE cluster_members (
    cluster_id  text NOT NULL REFERENCES clusters (id) ON DELETE CASCADE,
    wallet      text NOT NULL,
    role        text NOT NULL CHECK (role IN ('leader', 'member', 'funder')),
    leads       integer NOT NULL DEFAULT 0,
    PRIMARY KEY (cluster_id, wallet)
);
CREATE INDEX cluster_members_wallet ON cluster_members (wallet);

CREATE TABLE signals (
    id           text PRIMARY KEY,
    signature    text NOT NULL,
    wallet       text NOT NULL,
    mint         text NOT NULL,
    side         text NOT NULL CHECK (side IN ('buy', 'sell')),
    sol_amount   double precision NOT NULL,
    observed_at  timestamptz NOT NULL,
    swap_at      timestamptz NOT NULL,
    factors      jsonb NOT NULL,
    weights      jsonb NOT NULL,
    score        double precision NOT NULL,
    decision     text NOT NULL,
    reason       text NOT NULL,
    message      text
);
CREATE INDEX signals_observed ON signals (observed_at DESC);

CREATE TABLE positions (
    id                text PRIMARY KEY,
    signal_id         text NOT NULL UNIQUE,
    mint              text NOT NULL,
    mode              text NOT NULL CHECK (mode IN ('paper', 'live')),
    status            text NOT NULL,
    strategy          text NOT NULL,
    exit_plan         jsonb NOT NULL DEFAULT '[]',
    size_sol          double precision NOT NULL,
    entry_price_sol   double precision,
    token_amount      double precision NOT NULL,
    remaining_tokens  double precision NOT NULL,
    peak_price_sol    double precision,
    realized_pnl_sol  double precision NOT NULL,
    opened_at         timestamptz NOT NULL,
    closed_at         timestamptz,
    close_reason      text,
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX positions_status ON positions (status);

CREATE TABLE orders (
    id               text PRIMARY KEY,
    position_id      text NOT NULL REFERENCES positions (id) ON DELETE CASCADE,
    idempotency_key  text NOT NULL UNIQUE,
    kind             text NOT NULL CHECK (kind IN ('entry', 'exit')),
    side             text NOT NULL CHECK (side IN ('buy', 'sell')),
    mint             text NOT NULL,
    mode             text NOT NULL CHECK (mode IN ('paper', 'live')),
    status           text NOT NULL CHECK (status IN ('created', 'submitted', 'confirmed', 'failed')),
    amount_in        double precision NOT NULL,
    quoted_out       double precision,
    slippage_bps     integer NOT NULL,
    attempts         integer NOT NULL,
    tx_signature     text,
    error            text,
    trigger          text,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE trades (
    id                text PRIMARY KEY,
    order_id          text NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    position_id       text NOT NULL,
    mint              text NOT NULL,
    side              text NOT NULL CHECK (side IN ('buy', 'sell')),
    mode              text NOT NULL CHECK (mode IN ('paper', 'live')),
    sol_amount        double precision NOT NULL,
    token_amount      double precision NOT NULL,
    price_sol         double precision NOT NULL,
    fee_sol           double precision NOT NULL,
    price_impact_pct  double precision NOT NULL,
    pnl_sol           double precision,
    tx_signature      text,
    executed_at       timestamptz NOT NULL
);

CREATE TABLE risk_state (
    id                      text PRIMARY KEY,
    mode                    text NOT NULL CHECK (mode IN ('paper', 'live')),
    paused                  boolean NOT NULL,
    pause_reason            text,
    halted                  boolean NOT NULL,
    capital_sol             double precision NOT NULL,
    equity_sol              double precision NOT NULL,
    peak_equity_sol         double precision NOT NULL,
    consecutive_max_losses  integer NOT NULL,
    size_multiplier         double precision NOT NULL,
    updated_at              timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE risk_events (
    id       text PRIMARY KEY,
    at       timestamptz NOT NULL,
    kind     text NOT NULL,
    message  text NOT NULL,
    detail   jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE alerts (
    id            text PRIMARY KEY,
    at            timestamptz NOT NULL,
    level         text NOT NULL CHECK (level IN ('info', 'warning', 'critical')),
    source        text NOT NULL,
    message       text NOT NULL,
    acknowledged  boolean NOT NULL DEFAULT false,
    detail        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX alerts_at ON alerts (at DESC);

CREATE TABLE job_runs (
    id           text PRIMARY KEY,
    job          text NOT NULL,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz,
    outcome      text NOT NULL CHECK (outcome IN ('running', 'succeeded', 'failed')),
    message      text,
    stats        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX job_runs_job ON job_runs (job, started_at DESC);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['config', 'tokens', 'wallets', 'positions', 'orders', 'risk_state']
    LOOP
        EXECUTE format(
            'CREATE TRIGGER %I_updated_at BEFORE UPDATE ON %I '
            'FOR EACH ROW EXECUTE FUNCTION walltrack_set_updated_at()', t, t);
    END LOOP;
END $$;
