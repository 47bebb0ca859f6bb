-- Sibling discovery walks a funder's outgoing transfers once: a cursor scope of its own.
ALTER TABLE history_cursors DROP CONSTRAINT history_cursors_scope_check;
ALTER TABLE history_cursors ADD CONSTRAINT history_cursors_scope_check
    CHECK (scope IN ('mint', 'wallet', 'funding', 'funder'));
