-- Acquisition cursors: how far an address's history has been collected, so a re-run only
-- fetches what is newer (Helius `until` = newest_signature). One row per (address, scope):
-- scope 'mint' (a token's swap history), 'wallet' (a wallet's own swaps), 'funding'.
CREATE TABLE history_cursors (
    address           text NOT NULL,
    scope             text NOT NULL CHECK (scope IN ('mint', 'wallet', 'funding')),
    newest_signature  text,
    newest_at         timestamptz,
    since             timestamptz,           -- the oldest time the collection covers
    complete          boolean NOT NULL DEFAULT true,
    collected_at      timestamptz NOT NULL,
    PRIMARY KEY (address, scope)
);
