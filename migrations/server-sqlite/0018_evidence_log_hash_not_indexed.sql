-- The evidence log's entry hash loses its unique index. Nothing looks an entry up by its hash
-- (the chain is read and checked in `seq` order), and two writers can never append the same
-- entry: `seq` is the primary key, and each hash covers its predecessor's. The index cost the
-- most of any on a push: a SHA-256 is a random key, so with a million entries stored each new
-- one dirtied its own leaf page, about one and a half WAL pages per record (docs/performance.md,
-- session 9). SQLite cannot drop a column's UNIQUE, so the table is copied without it; `drop
-- table` fires no row triggers, and the append-only triggers are made again for the copy.
create table evidence_log_new (
    seq       integer primary key,
    prev      text    not null,
    at_ms     integer not null,
    record_id text    not null,
    by_actor  text    not null,
    push      text references signed_push (hash),
    -- Comma-separated change hashes and heads, exactly as hashed.
    changes   text    not null,
    heads     text    not null,
    hash      text    not null
);

insert into evidence_log_new (seq, prev, at_ms, record_id, by_actor, push, changes, heads, hash)
    select seq, prev, at_ms, record_id, by_actor, push, changes, heads, hash
    from evidence_log order by seq;

drop table evidence_log;
alter table evidence_log_new rename to evidence_log;

create index evidence_log_record on evidence_log (record_id, seq);

create trigger evidence_log_no_update before update on evidence_log
begin
    select raise(abort, 'the evidence log is append-only: entries cannot be changed');
end;

create trigger evidence_log_no_delete before delete on evidence_log
begin
    select raise(abort, 'the evidence log is append-only: entries cannot be deleted');
end;
