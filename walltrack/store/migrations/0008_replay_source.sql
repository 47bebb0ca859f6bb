-- A replay feeds a stored swap history through the live path: its signals say so.
ALTER TABLE signals DROP CONSTRAINT IF EXISTS signals_source_check;
ALTER TABLE signals ADD CONSTRAINT signals_source_check
    CHECK (source IN ('webhook', 'polling', 'replay'));
