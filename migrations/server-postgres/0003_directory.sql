-- The directory (PostgreSQL): the unit tree, people and their roles, device enrollment codes and
-- web sessions. Unit paths are what scope is checked against; a unit's path changes when it
-- moves, while records keep the path they were captured in.

create table unit (
    path text primary key collate "C",
    name text not null,
    kind text not null check (kind in ('polda', 'polres', 'polsek', 'polsubsektor', 'section')),
    -- Null only for a root (a Polda).
    parent text collate "C",
    created_at bigint not null,
    updated_at bigint not null
);

create index unit_parent on unit (parent);

create table person (
    person_id text primary key,
    -- NRP (8 digits) for police, NIP (18 digits) for civil servants.
    nrp text not null unique,
    name text not null,
    rank text not null,
    unit text collate "C" not null,
    -- Comma-separated roles, applying to `unit`'s subtree.
    roles text not null,
    -- Unix ms after which the person may no longer sign in or use tokens (assessors).
    access_until bigint,
    -- argon2id PHC string; null means no web sign-in.
    password_hash text,
    created_at bigint not null,
    disabled_at bigint
);

create index person_unit on person (unit);

create table enrollment (
    enrollment_id text primary key,
    -- SHA-256 of the normalised code; the code itself is shown once.
    code_hash bytea not null unique,
    person_id text not null references person (person_id),
    -- The enrolled device sees only this officer's own records.
    own_records_only bigint not null default 0,
    issued_by text not null,
    created_at bigint not null,
    expires_at bigint not null,
    used_at bigint,
    device_id text
);

create table web_session (
    -- SHA-256 of the session cookie's value.
    token_hash bytea primary key,
    person_id text not null references person (person_id),
    csrf_token text not null,
    created_at bigint not null,
    expires_at bigint not null
);

alter table principal add column person_id text;
alter table principal add column public_key bytea;
alter table principal add column own_records_only bigint not null default 0;
alter table principal add column revoked_by text;
