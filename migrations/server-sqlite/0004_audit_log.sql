-- The audit log: append-only, hash-chained (see docs/audit.md). Each entry's hash covers the
-- previous entry's hash and all its other columns, so `bukti-server audit verify` finds any edit
-- even when these triggers are dropped first.
create table audit_entry (
    seq        integer primary key,
    at_ms      integer not null,
    actor_kind text not null,
    actor_id   text not null,
    actor_name text not null,
    action     text not null,
    subject    text not null,
    unit       text,
    -- Canonical JSON text: exactly the bytes that were hashed.
    detail     text not null,
    prev_hash  text not null,
    hash       text not null
);

-- HQ admins page through their subtree's entries, newest first.
create index audit_entry_unit on audit_entry (unit, seq);

create trigger audit_entry_no_update before update on audit_entry
begin
    select raise(abort, 'the audit log is append-only: entries cannot be changed');
end;

create trigger audit_entry_no_delete before delete on audit_entry
begin
    select raise(abort, 'the audit log is append-only: entries cannot be deleted');
end;
