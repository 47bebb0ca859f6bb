-- The trading engine (issue 11): what every position, order and fill needs beyond the
-- first schema, and the constraints that make "one signal → at most one position" and
-- "one order → at most one fill" the store's guarantee, not only the code's.

-- Positions: the source wallet, the exit plan's state, the sizing and the price watch.
ALTER TABLE positions ADD COLUMN wallet text;
ALTER TABLE positions ADD COLUMN override_strategy text;
ALTER TABLE positions ADD COLUMN override_plan jsonb;
ALTER TABLE positions ADD COLUMN exit_state jsonb NOT NULL DEFAULT '{}';
ALTER TABLE positions ADD COLUMN sizing jsonb NOT NULL DEFAULT '{}';
ALTER TABLE positions ADD COLUMN cost_sol double precision NOT NULL DEFAULT 0;
ALTER TABLE positions ADD COLUMN proceeds_sol double precision NOT NULL DEFAULT 0;
ALTER TABLE positions ADD COLUMN decimals integer;
ALTER TABLE positions ADD COLUMN last_price_sol double precision;
ALTER TABLE positions ADD COLUMN last_price_at timestamptz;
ALTER TABLE positions ADD COLUMN price_source text;
ALTER TABLE positions ADD COLUMN price_stale boolean NOT NULL DEFAULT false;
ALTER TABLE positions ADD COLUMN entry_delay_seconds double precision;
ALTER TABLE positions ADD COLUMN confirmations integer NOT NULL DEFAULT 0;
ALTER TABLE positions ADD CONSTRAINT positions_status
    CHECK (status IN ('opening', 'open', 'closing', 'closed', 'failed'));
-- One open position per mint, whatever the code does (two signals in the same second,
-- two workers, two processes): the second insert conflicts and becomes a confirmation.
CREATE UNIQUE INDEX positions_one_open_per_mint ON positions (mint)
    WHERE status IN ('opening', 'open', 'closing');
CREATE INDEX positions_wallet ON positions (wallet, opened_at DESC);
CREATE INDEX positions_closed ON positions (closed_at DESC) WHERE status = 'closed';

-- Orders: the attempt's signature is stored before the send; its history is kept.
ALTER TABLE orders ADD COLUMN signal_id text;
ALTER TABLE orders ADD COLUMN price_impact_pct double precision;
ALTER TABLE orders ADD COLUMN last_valid_block_height bigint;
ALTER TABLE orders ADD COLUMN history jsonb NOT NULL DEFAULT '[]';
ALTER TABLE orders ADD COLUMN submitted_at timestamptz;
ALTER TABLE orders ADD COLUMN confirmed_at timestamptz;
CREATE UNIQUE INDEX orders_one_entry_per_position ON orders (position_id) WHERE kind = 'entry';
-- At most one exit in flight per position: a second exit waits for the first to end.
CREATE UNIQUE INDEX orders_one_pending_exit ON orders (position_id)
    WHERE kind = 'exit' AND status IN ('created', 'submitted');
CREATE INDEX orders_unfinished ON orders (created_at) WHERE status IN ('created', 'submitted');
CREATE INDEX orders_position ON orders (position_id, created_at);

-- Trades: one fill per order; fees split; the copy delay of every entry.
ALTER TABLE trades ADD CONSTRAINT trades_one_fill_per_order UNIQUE (order_id);
ALTER TABLE trades ADD COLUMN signal_id text;
ALTER TABLE trades ADD COLUMN wallet text;
ALTER TABLE trades ADD COLUMN network_fee_sol double precision NOT NULL DEFAULT 0;
ALTER TABLE trades ADD COLUMN priority_fee_sol double precision NOT NULL DEFAULT 0;
ALTER TABLE trades ADD COLUMN platform_fee_sol double precision NOT NULL DEFAULT 0;
ALTER TABLE trades ADD COLUMN quoted_out double precision;
ALTER TABLE trades ADD COLUMN delay_seconds double precision;
ALTER TABLE trades ADD COLUMN trigger text;
CREATE INDEX trades_executed ON trades (executed_at DESC);
CREATE INDEX trades_wallet ON trades (wallet, executed_at DESC);
CREATE INDEX trades_position ON trades (position_id, executed_at);

-- What the engine did with each signal it looked at: the primary key makes it once.
CREATE TABLE trade_decisions (
    signal_id    text PRIMARY KEY REFERENCES signals (id) ON DELETE CASCADE,
    decided_at   timestamptz NOT NULL,
    action       text NOT NULL
                 CHECK (action IN ('opened', 'confirmation', 'refused', 'mirror_exit', 'ignored')),
    gate         text,
    reason       text,
    message      text,
    position_id  text,
    mode         text CHECK (mode IN ('paper', 'live')),
    detail       jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX trade_decisions_position ON trade_decisions (position_id);
CREATE INDEX signals_stored ON signals (stored_at);

-- Per-wallet copy mode: no row = paper (a newly watched wallet starts in paper).
CREATE TABLE wallet_copy_modes (
    wallet      text PRIMARY KEY,
    mode        text NOT NULL CHECK (mode IN ('paper', 'live')),
    changed_at  timestamptz NOT NULL,
    note        text
);

ALTER TABLE risk_state ADD COLUMN last_reset_at timestamptz;
CREATE INDEX risk_events_at ON risk_events (at DESC);
CREATE INDEX alerts_unacknowledged ON alerts (at DESC) WHERE NOT acknowledged;

CREATE TRIGGER wallet_copy_modes_notify AFTER INSERT OR UPDATE OR DELETE ON wallet_copy_modes
    FOR EACH STATEMENT EXECUTE FUNCTION walltrack_notify('walltrack_copy_modes');
