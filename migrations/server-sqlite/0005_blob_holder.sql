-- Who holds which photo bytes (SQLite). A row says: a device enrolled for `officer` (an NRP)
-- uploaded these exact bytes and the server verified their SHA-256. Claiming a hash in a record is
-- not holding it: a record's photo is readable, and shows as arrived, only when the record's own
-- officer holds its bytes (devices create records only in their own officer's name), so naming
-- another unit's hash in a record reaches nothing. See docs/protocol.md, "Who may read a photo".
create table blob_holder (
    hash text not null references blob (hash),
    -- Compared for equality only, never as a range.
    officer text not null,
    -- When the officer's upload verified (unix ms).
    at_ms integer not null,
    primary key (hash, officer)
);

-- Grandfathering: before this table, any record naming a complete blob could read it, and who
-- uploaded it was not kept. Every officer whose record named a complete blob at this migration is
-- taken to hold it, so no photo that was visible disappears. Claims made from now on must be
-- proved by uploading the bytes.
insert into blob_holder (hash, officer, at_ms)
select distinct p.hash, r.officer, b.stored_at
from record_photo p
join record r on r.record_id = p.record_id
join blob b on b.hash = p.hash;
