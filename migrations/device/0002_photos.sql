-- Photo files held on the device, one row per content-addressed file (original, display
-- derivative or thumbnail). The bytes live in <home>/photos/<first two hex digits>/<hash>; a row
-- is written in the same transaction as the record that refers to it, after the file is durable,
-- so a row never points at a missing file and a crash leaves at most an unreferenced file.

CREATE TABLE photo_blob (
    hash            TEXT PRIMARY KEY NOT NULL,  -- SHA-256, 64 lowercase hex digits
    role            TEXT NOT NULL CHECK (role IN ('original', 'derivative', 'thumbnail')),
    -- The original's hash: the photo's key in the record's `photos` map.
    photo_hash      TEXT NOT NULL,
    -- The first record that referred to it (the same photo may be attached twice).
    record_id       TEXT NOT NULL REFERENCES record (record_id) ON DELETE CASCADE,
    size            INTEGER NOT NULL,
    content_type    TEXT NOT NULL,
    created_at      INTEGER NOT NULL,  -- unix ms
    -- Bytes the server last said it holds (resume point; the server's answer always wins).
    server_offset   INTEGER NOT NULL DEFAULT 0,
    -- The server has the whole blob (201, or absent from its `missing` answer). Unix ms.
    confirmed_at    INTEGER,
    -- Originals: HQ asked for this one (GET /api/v1/blobs/requested).
    requested       INTEGER NOT NULL DEFAULT 0,
    -- The file was deleted by pruning (originals past the retention period, meta
    -- photo_retention_days, counted from created_at; derivatives the server has); the row stays as the record of what existed. Unix ms.
    pruned_at       INTEGER,
    -- Why the last upload attempt stopped (e.g. the server does not know the hash yet).
    last_error      TEXT
) STRICT;

CREATE INDEX photo_blob_pending ON photo_blob (role, confirmed_at);
