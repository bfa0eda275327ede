-- The photo-reuse index (client-core/src/photo/reuse/index.rs, the same lists as tables): the
-- fingerprint the server took of each display copy it received, and the keys it is filed
-- under. A new photo is compared only with the photos that share a key (an index, not a scan).
create table photo_fingerprint (
    -- SHA-256 of the display copy.
    hash text primary key,
    global bigint not null,
    fingerprint blob not null
);

-- One per band of the global hash.
create table photo_band (
    key bigint not null,
    hash text not null,
    primary key (key, hash)
);

-- Two per strong corner (anchor).
create table photo_anchor (
    key bigint not null,
    hash text not null,
    primary key (key, hash)
);
