-- An officer's back-dated records by entry time, for the burst check after each push
-- (server/src/flags.rs): it reads the few records entered just before and after each new one,
-- by index seeks, instead of every record of the officer's last hours. The predicate is
-- server/src/store/flags.rs's BACKDATED, word for word, so the planner can use the index.
create index record_backdated on record (officer, captured_at, record_id)
    where captured_at - activity_at > 86400000;
