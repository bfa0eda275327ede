-- The device's offline store: one row per record (the full Automerge document plus the columns
-- the record list needs), the queue of records the server has not acknowledged, and settings.

CREATE TABLE record (
    record_id    TEXT PRIMARY KEY NOT NULL,
    -- The full saved Automerge document: the truth. Everything else in this row is derived.
    doc          BLOB NOT NULL,
    unit         TEXT NOT NULL,
    officer      TEXT NOT NULL,
    kind         TEXT NOT NULL,
    title        TEXT NOT NULL,
    status       TEXT NOT NULL,
    verdict      TEXT,
    started_at   INTEGER,          -- unix ms
    captured_at  INTEGER NOT NULL, -- unix ms
    updated_at   INTEGER NOT NULL, -- unix ms, last local write
    -- JSON array of change hashes (hex, sorted) of the document as stored.
    local_heads  TEXT NOT NULL,
    -- JSON array of the heads the server last acknowledged; NULL = assume it has nothing, so the
    -- next push sends the record's whole history.
    server_heads TEXT
) STRICT;

CREATE INDEX record_by_activity ON record (coalesce(started_at, captured_at) DESC);

-- Records with changes the server has not acknowledged. A row rejected for a reason that
-- retrying cannot fix is `held` until the officer edits the record again, so it neither blocks
-- the queue nor is re-sent on every sync.
CREATE TABLE outbox (
    record_id       TEXT PRIMARY KEY NOT NULL REFERENCES record (record_id) ON DELETE CASCADE,
    enqueued_at     INTEGER NOT NULL, -- unix ms
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error_code TEXT,
    last_error      TEXT,
    held            INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX outbox_ready ON outbox (held, enqueued_at);

-- Registration and sync state: server_url, device_token, device_id, actor_id, officer, unit,
-- device_name, pull_cursor, last_sync_at.
CREATE TABLE meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
