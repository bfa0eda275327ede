-- A receipt names every record of its push batch (up to 500 of them): it is kept once, here,
-- and each record's row points at it, instead of a copy of the whole receipt in the row of
-- every record it names (for a 500-record batch, 500 copies of a ~60 kB text in one write).
create table receipt_body (
    id      integer primary key,
    receipt text not null
);
-- The receipt that names the record; `receipt.receipt` is then empty. Rows written before this
-- column existed keep their own copy in `receipt.receipt`.
alter table receipt add column body integer references receipt_body (id);
create index receipt_by_body on receipt (body);
