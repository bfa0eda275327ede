-- The reuse index's key tables named each photo by its 64-character hash: at a million stored
-- photos 37 million rows of about 90 bytes in a primary-key index of gigabytes, which a lookup
-- probes about 1,200 times at random (once per local key of the new photo). At that size each
-- probe read several pages, and a lookup took 26 ms (tests/benches/reuse_sql.rs). Photos are
-- now named in the key tables by a small integer: an index entry is 16 bytes.
create table photo_print (
    id          bigserial primary key,
    -- SHA-256 of the display copy.
    hash        text   not null unique,
    global      bigint not null,
    fingerprint bytea  not null
);
insert into photo_print (hash, global, fingerprint)
    select hash, global, fingerprint from photo_fingerprint order by hash;

-- One per band of the global hash (keys and ids fit 32 bits: 16-byte index entries).
create table photo_print_band (
    key   integer not null,
    photo integer not null,
    primary key (key, photo)
);
insert into photo_print_band (key, photo)
    select b.key, p.id from photo_band b join photo_print p on p.hash = b.hash;

-- Two per strong corner (anchor).
create table photo_print_anchor (
    key   integer not null,
    photo integer not null,
    primary key (key, photo)
);
insert into photo_print_anchor (key, photo)
    select a.key, p.id from photo_anchor a join photo_print p on p.hash = a.hash;

drop table photo_band;
drop table photo_anchor;
drop table photo_fingerprint;
alter table photo_print rename to photo_fingerprint;
alter table photo_print_band rename to photo_band;
alter table photo_print_anchor rename to photo_anchor;
