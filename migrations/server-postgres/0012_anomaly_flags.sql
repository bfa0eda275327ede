-- Anomaly flags (client-core/src/evidence/flags): what a reviewer is asked to look at in a
-- record. 'document' flags are derived from the record's document like its projection and
-- replaced with each version; 'arrival' flags (device clock off at push, photo dated after it
-- arrived, photo reused or not matching its record, back-dated bursts) are kept once raised.
-- photo is the photo's key (SHA-256 of its original), '' for the record as a whole.
-- note tells apart two flags of one code on one photo (reused from two other records).
create table record_flag (
    record_id text not null,
    code text not null,
    photo text not null default '',
    amount double precision,
    note text not null default '',
    moment text not null check (moment in ('document', 'arrival')),
    raised_at bigint not null,
    primary key (record_id, code, photo, note)
);

-- "Records with flag X": the filter and the dashboard's counts.
create index record_flag_code on record_flag (code, record_id);

-- A unit's area of responsibility, a GeoJSON Polygon or MultiPolygon geometry; null inherits
-- the nearest ancestor's. Records and photos placed outside it are flagged.
alter table unit add column area text;
