-- Photos (PostgreSQL). `record_photo` is part of the record's projection: one row per rendition a
-- record refers to, rebuilt from the document on every write, so "does a record in this unit
-- refer to this hash" is one indexed lookup. `blob` lists the blobs whose bytes arrived whole
-- and hashed right; partial uploads live only in the blob store (the bytes there are the truth
-- for the resume offset). `original_request` is HQ asking a device for a photo's original.

create table record_photo (
    record_id text not null references record (record_id) on delete cascade,
    -- The photo's key in the record: SHA-256 of the original.
    photo text not null,
    role text not null check (role in ('original', 'derivative', 'thumbnail')),
    -- SHA-256 of this rendition's bytes (equal to `photo` for the original).
    hash text not null,
    size bigint not null,
    content_type text not null,
    primary key (record_id, photo, role)
);

create index record_photo_hash on record_photo (hash, record_id);

create table blob (
    hash text primary key,
    size bigint not null,
    content_type text not null,
    stored_at bigint not null
);

create table original_request (
    hash text not null,
    record_id text not null references record (record_id) on delete cascade,
    requested_by text not null,
    requested_at bigint not null,
    primary key (hash, record_id)
);
