"""Representative rows for every schema version, as the code of that version wrote them.

``SEEDS[v]`` is SQL valid right after migration ``v`` (and kept valid by every later one).
Applied after each step of a migration path, they give a store that lived through every
version: legacy values the later migrations convert (a ``trade`` decision, per-job
intervals in the config, a profile score that becomes ``raw_score``) and awkward values a
dump must carry (NULLs, tabs, newlines, backslashes, quotes, unicode, bytea, extreme floats,
microsecond timestamps). A new migration needs no seed here, but a new table gets rows in
the backup round trip or that test fails.
"""

from __future__ import annotations

from string import Template

from tests.factories import address, signature

NAMES = {
    "W1": address("seed-wallet-1"),
    "W2": address("seed-wallet-2"),
    "W3": address("seed-wallet-3"),
    "M1": address("seed-mint-1"),
    "M2": address("seed-mint-2"),
    "S1": signature("seed-sig-1"),
    "S2": signature("seed-sig-2"),
    "S3": signature("seed-sig-3"),
    "S4": signature("seed-sig-4"),
    "S5": signature("seed-sig-5"),
}

_FACTORS = '{"wallet": 0.8, "cluster": 0.6, "token": 0.7, "context": 0.5, "detail": {}}'
_WEIGHTS = '{"wallet": 0.3, "cluster": 0.25, "token": 0.25, "context": 0.2}'

_RAW: dict[int, str] = {
    1: f"""
INSERT INTO config (key, value) VALUES
  ('jobs', '{{"discover_tokens": 15, "refresh_tokens": 5, "discover_wallets": 60,
             "profile_wallets": 60, "build_clusters": 120, "sync_webhooks": 10}}');
INSERT INTO tokens (mint, symbol, name, decimals, source, first_seen_at, status,
                    status_reason, top10_holder_share) VALUES
  ('$M1', 'WOOF', E'Woof \\u00e9\\u6f22 "dog"\\ttab', 6, 'boost_latest',
   '2026-03-01 12:00:00.123456+00', 'active', NULL, 0.31),
  ('$M2', NULL, E'back\\\\slash\\nnewline', 9, 'search', '2026-03-02 00:00:00+00', 'rugged',
   'liquidity pulled', 1e-300);
INSERT INTO token_snapshots (mint, taken_at, price_usd, price_sol, liquidity_usd, buys_24h,
                             stale) VALUES
  ('$M1', '2026-03-01 12:00:00.000001+00', 0.0012, 0.0000081, 42000.5, 1200, true),
  ('$M1', '2026-03-01 12:05:00+00', 1.7976931348623157e308, NULL, NULL, NULL, false);
INSERT INTO swaps VALUES
  ('$S1', 300000000, '2026-03-01 12:00:01+00', '$W1', '$M1', 'buy', 0.5, 1234567.891,
   'PUMP_AMM', 0.000005),
  ('$S2', 300000100, '2026-03-01 13:00:00+00', '$W1', '$M1', 'sell', 0.9, 1234567.891,
   'RAYDIUM', 0.000005);
INSERT INTO funding_transfers VALUES
  ('$S3', 299999000, '2026-02-28 12:00:00+00', '$W2', '$W1', 2.5);
INSERT INTO wallets (address, first_seen_at, label, status, on_watchlist, watchlist_override,
                     cluster_id, score, notes) VALUES
  ('$W1', '2026-03-01 12:00:00+00', 'early', 'ok', true, 'add', 'c-1', 0.4,
   E'line one\\nline two\\t"quoted" \\\\ back'),
  ('$W2', '2026-03-01 12:00:00+00', NULL, 'flagged', false, 'none', NULL, NULL, NULL);
INSERT INTO wallet_origins VALUES
  ('$W1', '$M1', 'early_profitable_buyer', 3, '2026-03-01 12:00:00+00',
   '{{"profit_sol": 1.5, "note": "caf\\u00e9"}}');
INSERT INTO wallet_metrics (wallet, computed_at, window_days, swaps, tokens_traded,
    closed_trades, wins, losses, win_rate, raw_win_rate, realized_pnl_sol, invested_sol, roi,
    activity_hours, is_bot, score) VALUES
  ('$W1', '2026-03-01 12:00:00+00', 90, 40, 12, 11, 7, 4, 0.6, 0.636, 4.2, 10.0, 0.42,
   '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]', false, 0.8);
INSERT INTO decay_events VALUES
  ('d-1', '$W2', '2026-03-01 12:00:00+00', 'ok', 'flagged', 'rolling win rate 35% < 40%',
   '{{"window": 20}}');
INSERT INTO wallet_edges (src, dst, kind, weight, tokens, computed_at) VALUES
  ('$W1', '$W2', 'FUNDED_BY', 1.0, '[]', '2026-03-01 12:00:00+00'),
  ('$W1', '$W3', 'SYNCED_BUY', 3.0, '["$M1"]', '2026-03-01 12:00:00+00');
INSERT INTO clusters VALUES ('c-1', 2, '$W1', '$W2', 0.7, '["$M1"]', '2026-03-01 12:00:00+00');
INSERT INTO cluster_members VALUES ('c-1', '$W1', 'leader', 5), ('c-1', '$W3', 'member', 0);
INSERT INTO signals VALUES
  ('sig-v1-trade', '$S1', '$W1', '$M1', 'buy', 0.5, '2026-03-01 12:00:02+00',
   '2026-03-01 12:00:01+00', '{_FACTORS}', '{_WEIGHTS}', 0.71, 'trade', 'above_threshold',
   NULL),
  ('sig-v1-log', '$S2', '$W1', '$M1', 'sell', 0.9, '2026-03-01 13:00:01+00',
   '2026-03-01 13:00:00+00', '{_FACTORS}', '{_WEIGHTS}', 0.68, 'log_only',
   'below_threshold', E'0.68 < 0.70\\n(second line)');
INSERT INTO positions (id, signal_id, mint, mode, status, strategy, exit_plan, size_sol,
    entry_price_sol, token_amount, remaining_tokens, realized_pnl_sol, opened_at, closed_at,
    close_reason) VALUES
  ('pos-v1', 'sig-v1-trade', '$M1', 'paper', 'closed', 'default',
   '[{{"kind": "stop_loss", "params": {{"pct": 0.3}}}}]', 0.2, 0.0000012, 166666.0, 0.0,
   0.05, '2026-03-01 12:00:03+00', '2026-03-01 14:00:00+00', 'take_profit');
INSERT INTO orders (id, position_id, idempotency_key, kind, side, mint, mode, status,
    amount_in, slippage_bps, attempts, tx_signature, created_at) VALUES
  ('ord-v1-in', 'pos-v1', 'sig-v1-trade:entry', 'entry', 'buy', '$M1', 'paper', 'confirmed',
   0.2, 100, 1, '$S4', '2026-03-01 12:00:03+00'),
  ('ord-v1-out', 'pos-v1', 'pos-v1:exit:1', 'exit', 'sell', '$M1', 'paper', 'confirmed',
   166666.0, 100, 2, NULL, '2026-03-01 14:00:00+00');
INSERT INTO trades (id, order_id, position_id, mint, side, mode, sol_amount, token_amount,
    price_sol, fee_sol, price_impact_pct, pnl_sol, executed_at) VALUES
  ('tr-v1-in', 'ord-v1-in', 'pos-v1', '$M1', 'buy', 'paper', 0.2, 166666.0, 0.0000012,
   0.000005, 0.8, NULL, '2026-03-01 12:00:04+00'),
  ('tr-v1-out', 'ord-v1-out', 'pos-v1', '$M1', 'sell', 'paper', 0.25, 166666.0, 0.0000015,
   0.000005, 1.1, 0.05, '2026-03-01 14:00:01+00');
INSERT INTO risk_state (id, mode, paused, halted, capital_sol, equity_sol, peak_equity_sol,
    consecutive_max_losses, size_multiplier) VALUES
  ('global', 'paper', false, false, 10.0, 10.05, 10.05, 0, 1.0);
INSERT INTO risk_events VALUES
  ('re-1', '2026-03-01 12:00:00+00', 'drawdown_pause', E'drawdown 21% \\u2265 20%',
   '{{"drawdown": 0.21}}');
INSERT INTO alerts (id, at, level, source, message, detail) VALUES
  ('al-1', '2026-03-01 12:00:00+00', 'critical', 'risk', 'trading paused', '{{}}');
INSERT INTO job_runs VALUES
  ('jr-1', 'discover_tokens', '2026-03-01 12:00:00+00', '2026-03-01 12:00:03+00', 'succeeded',
   NULL, '{{"tokens": 12}}'),
  ('jr-2', 'profile_wallets', '2026-03-01 12:10:00+00', NULL, 'failed', E'boom\\ttab', '{{}}');
""",
    2: """
INSERT INTO history_cursors VALUES
  ('$M1', 'mint', '$S1', '2026-03-01 12:00:01+00', '2026-02-01 00:00:00+00', true,
   '2026-03-01 12:30:00+00'),
  ('$W1', 'wallet', NULL, NULL, NULL, false, '2026-03-01 12:30:00+00');
""",
    3: """
INSERT INTO history_cursors VALUES
  ('$W2', 'funder', '$S3', '2026-02-28 12:00:00+00', NULL, true, '2026-03-01 12:31:00+00');
""",
    4: """
UPDATE wallets SET lifecycle = 'watchlisted', lifecycle_reason = 'score 0.80'
WHERE address = '$W1';
INSERT INTO lifecycle_events VALUES
  ('le-1', '$W1', '2026-03-01 12:40:00+00', 'profiled', 'watchlisted', 'criteria met', '{}');
""",
    5: """
INSERT INTO api_usage (day, api, operations, calls, failures, credits, rate_wait_seconds) VALUES
  ('2026-03-01', 'helius', 10, 12, 1, 1200, 0.25),
  ('2026-03-01', 'solana_rpc:api.mainnet-beta.solana.com', 3, 3, 0, 0, 0);
""",
    6: f"""
INSERT INTO inbox (signature, source, received_at, payload, status, attempts, last_error) VALUES
  ('$S5', 'webhook', '2026-03-01 15:00:00+00', convert_to('{{"signature": "$S5"}}', 'UTF8'),
   'done', 1, NULL),
  ('$S4', 'polling', '2026-03-01 15:00:01+00', '\\x00ff5c0a09'::bytea, 'parked', 5,
   E'bad\\npayload');
INSERT INTO signals (id, signature, wallet, mint, side, sol_amount, observed_at, swap_at,
    factors, weights, score, decision, reason, source, slot, token_amount, price_sol,
    high_conviction, failed_checks, delay_seconds) VALUES
  ('sig-v6', '$S5', '$W1', '$M2', 'buy', 1.0, '2026-03-01 15:00:02+00',
   '2026-03-01 15:00:00+00', '{_FACTORS}', '{_WEIGHTS}', 0.9, 'eligible', 'high_conviction',
   'webhook', 300001000, 5000.0, 0.0002, true, '[]', 1.25);
INSERT INTO poll_cursors VALUES ('$W1', '$S5', 300001000, '2026-03-01 15:00:03+00');
INSERT INTO live_status VALUES
  ('webhooks', '{{"synced": 2, "note": "\\u2713 ok"}}', '2026-03-01 15:00:00+00');
INSERT INTO token_safety VALUES
  ('$M2', '2026-03-01 15:00:00+00', 'Tokenkeg', 9, 1e9, NULL, NULL, '[]', '{{}}');
INSERT INTO signal_outcomes VALUES
  ('sig-v6', 300, '2026-03-01 15:05:00+00', '2026-03-01 15:05:02+00', 0.00021, 0.05,
   'dexscreener', NULL),
  ('sig-v6', 3600, '2026-03-01 16:00:00+00', NULL, NULL, NULL, NULL, NULL);
""",
    7: """
INSERT INTO positions (id, signal_id, mint, mode, status, strategy, exit_plan, size_sol,
    entry_price_sol, token_amount, remaining_tokens, realized_pnl_sol, opened_at, wallet,
    exit_state, sizing, cost_sol, decimals, confirmations) VALUES
  ('pos-v7', 'sig-v6', '$M2', 'paper', 'open', 'default', '[]', 0.3, 0.0002, 1500.0, 1500.0,
   0.0, '2026-03-01 15:00:04+00', '$W1', '{"peak": 0.0002}', '{"risk": 0.02}', 0.3, 9, 1);
INSERT INTO orders (id, position_id, idempotency_key, kind, side, mint, mode, status,
    amount_in, slippage_bps, attempts, created_at, signal_id, history) VALUES
  ('ord-v7-in', 'pos-v7', 'sig-v6:entry', 'entry', 'buy', '$M2', 'paper', 'confirmed', 0.3,
   100, 1, '2026-03-01 15:00:04+00', 'sig-v6', '[{"status": "confirmed"}]');
INSERT INTO trades (id, order_id, position_id, mint, side, mode, sol_amount, token_amount,
    price_sol, fee_sol, price_impact_pct, executed_at, signal_id, wallet, network_fee_sol)
  VALUES
  ('tr-v7-in', 'ord-v7-in', 'pos-v7', '$M2', 'buy', 'paper', 0.3, 1500.0, 0.0002, 0.000005,
   0.5, '2026-03-01 15:00:05+00', 'sig-v6', '$W1', 0.000005);
INSERT INTO trade_decisions VALUES
  ('sig-v6', '2026-03-01 15:00:04+00', 'opened', NULL, NULL, NULL, 'pos-v7', 'paper', '{}'),
  ('sig-v1-log', '2026-03-01 15:00:04+00', 'ignored', NULL, 'log_only', NULL, NULL, NULL, '{}');
INSERT INTO wallet_copy_modes VALUES
  ('$W1', 'live', '2026-03-01 15:10:00+00', E'30 paper trades, 62 \\u0025 win rate');
""",
}

SEEDS: dict[int, str] = {v: Template(text).substitute(NAMES) for v, text in _RAW.items()}
