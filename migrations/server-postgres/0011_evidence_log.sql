-- Verifiable evidence (docs/evidence.md): the server's signing key, the devices' signed pushes
-- and the evidence log, append-only and hash-chained, one entry per accepted change set.

-- The server's Ed25519 key, made on first start: it signs receipts and evidence-log heads.
-- Every process serving this database signs with the same key.
create table server_key (
    id         integer primary key check (id = 1),
    secret_key bytea  not null,
    public_key text   not null,
    created_at bigint not null
);

-- A device's signature over one push batch, exactly as it signed it.
create table signed_push (
    -- SHA-256 of `message`: what log entries and receipts name.
    hash        text primary key,
    device      text   not null,
    message     text   not null,
    signature   text   not null,
    received_at bigint not null
);

create table evidence_log (
    seq       bigint primary key,
    prev      text   not null,
    at_ms     bigint not null,
    record_id text   not null,
    by_actor  text   not null,
    push      text references signed_push (hash),
    -- Comma-separated change hashes and heads, exactly as hashed.
    changes   text   not null,
    heads     text   not null,
    hash      text   not null unique
);

create index evidence_log_record on evidence_log (record_id, seq);

create function evidence_refuse() returns trigger language plpgsql as $$
begin
    raise exception 'the evidence log and signed pushes are append-only: rows cannot be changed or deleted';
end;
$$;

create trigger evidence_log_no_update_or_delete before update or delete on evidence_log
    for each row execute function evidence_refuse();
create trigger evidence_log_no_truncate before truncate on evidence_log
    for each statement execute function evidence_refuse();
create trigger signed_push_no_update_or_delete before update or delete on signed_push
    for each row execute function evidence_refuse();
create trigger signed_push_no_truncate before truncate on signed_push
    for each statement execute function evidence_refuse();
