-- The review workflow's state (captured, ready, forwarded, verified, needs_revision, revised,
-- rejected), derived from each record's document like every projection column (see
-- client-core/src/record/workflow.rs). No document stored before this migration holds a
-- curation step, so a record's verdict gives its state, except `revised` (a needs_revision
-- record changed after its verdict), which only the document's history shows:
-- `bukti-server rebuild-projection` derives it, and the record's next write does too.
alter table record add column state text not null default 'captured';

update record set state = case verdict
    when 'valid' then 'verified'
    when 'needs_revision' then 'needs_revision'
    when 'rejected' then 'rejected'
    else 'captured'
end;

-- HQ's work queues: the records in one state, newest activity first.
create index record_state on record (state, activity_at desc, record_id desc);
