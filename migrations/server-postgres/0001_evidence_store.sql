-- The central evidence store (PostgreSQL). The Automerge document in `record_doc` is the truth;
-- `record` and `record_lke` are its projection, rebuilt from the document on every write and
-- rebuildable from scratch. Times are unix milliseconds.

create table principal (
    principal_id text primary key,
    -- 'device' (a phone or laptop that captures and syncs) or 'hq' (a person or script using
    -- the HQ API).
    kind text not null check (kind in ('device', 'hq')),
    role text not null,
    name text not null,
    -- Unit path; the principal sees this unit's subtree.
    unit text not null,
    officer text,
    -- Automerge actor id (hex) the principal writes with.
    actor_id text,
    -- SHA-256 of the bearer token; the token itself is never stored.
    token_hash bytea not null unique,
    created_at bigint not null,
    revoked_at bigint
);

create table record (
    record_id text primary key,
    unit text not null,
    officer text not null,
    kind text not null,
    title text not null,
    status text not null,
    verdict text,
    started_at bigint,
    ended_at bigint,
    captured_at bigint not null,
    -- started_at when known, else captured_at: what HQ sorts and filters periods by.
    activity_at bigint not null,
    lat double precision,
    lon double precision,
    place text not null,
    -- JSON array of the document's heads (hex change hashes).
    heads text not null,
    -- Bumped on every write; writers update only the version they read (optimistic locking),
    -- so concurrent pushes of one record from several processes never lose a change.
    version bigint not null,
    -- Position in the change feed; assigned in commit order, never reused.
    feed_seq bigint not null unique,
    created_at bigint not null,
    updated_at bigint not null
);

create index record_activity on record (activity_at desc, record_id desc);
create index record_unit on record (unit);

create table record_doc (
    record_id text primary key references record (record_id) on delete cascade,
    -- The compacted Automerge document.
    doc bytea not null
);

create table record_lke (
    record_id text not null references record (record_id) on delete cascade,
    code text not null,
    area text not null,
    primary key (record_id, code)
);

create index record_lke_area on record_lke (area, record_id);
create index record_lke_code on record_lke (code, record_id);
