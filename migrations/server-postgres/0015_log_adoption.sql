-- Records stored before the evidence log existed (0011) hold changes no log entry records. The
-- server adopts them into the log once (server/src/evidence/adopt.rs) and notes here that it
-- has: a later start never adopts a change written behind its back. A database made after this
-- migration is noted at its first start, with nothing to adopt.
create table log_adoption (
    id      integer primary key check (id = 1),
    done_at bigint  not null,
    -- Records given an adopted entry.
    records bigint  not null
);
