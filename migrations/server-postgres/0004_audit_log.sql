-- The audit log: append-only, hash-chained (see docs/audit.md). Each entry's hash covers the
-- previous entry's hash and all its other columns, so `bukti-server audit verify` finds any edit
-- even when these triggers are dropped first.
create table audit_entry (
    seq        bigint primary key,
    at_ms      bigint not null,
    actor_kind text not null,
    actor_id   text not null,
    actor_name text not null,
    action     text not null,
    subject    text not null,
    -- Byte order, so a subtree is the range ['a/b/', 'a/b0') whatever the database's locale.
    unit       text collate "C",
    -- Canonical JSON as text, not jsonb: jsonb would reorder and reformat the hashed bytes.
    detail     text not null,
    prev_hash  text not null,
    hash       text not null
);

-- HQ admins page through their subtree's entries, newest first.
create index audit_entry_unit on audit_entry (unit, seq);

create function audit_entry_refuse() returns trigger language plpgsql as $$
begin
    raise exception 'the audit log is append-only: entries cannot be changed or deleted';
end;
$$;

create trigger audit_entry_no_update_or_delete before update or delete on audit_entry
    for each row execute function audit_entry_refuse();

create trigger audit_entry_no_truncate before truncate on audit_entry
    for each statement execute function audit_entry_refuse();
