-- HQ's work queues (ready, forwarded, revised, …) without the records nobody has curated yet.
-- Every pushed record arrives `captured`, and the full index took each one at its place in
-- activity order: with a million records stored, a batch of 500 dirtied about 500 of its leaf
-- pages, a quarter of the pages a push wrote (docs/performance.md, session 9). A list of
-- `captured` records walks `record_activity` instead, skipping other states' rows. The predicate is
-- server/src/store/query/mod.rs's NOT_CAPTURED, word for word, so the planner can use the index.
drop index record_state;
create index record_state on record (state, activity_at desc, record_id desc)
    where state <> 'captured';
