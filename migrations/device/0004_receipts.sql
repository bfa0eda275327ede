-- The server's signed receipts (docs/evidence.md): for each record, the newest receipt that
-- names it, whole, so anyone with the server's public key can check it offline.
create table receipt (
    record_id   text primary key,
    -- JSON list of the heads the receipt vouches for.
    heads       text    not null,
    -- The whole receipt as JSON.
    receipt     text    not null,
    received_at integer not null
);
