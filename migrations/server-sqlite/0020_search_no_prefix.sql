-- The search index without its prefix indexes. FTS5 kept, beside each word, every record's
-- 2- and 3-letter prefixes as terms of their own: three index entries per word, written by
-- every push (a tenth of the burst's rate, docs/performance.md, session 17). HQ's searches do
-- not need them: the last word of a query matches as a prefix by scanning the word list from
-- the prefix on (the console bench's full-text p95 at 100,000 records: 80.6 ms with them,
-- 82.5 ms without).
--
-- The index keeps no text (0017), so SQL cannot refill it: this migration empties it and
-- drops every `record_search` row, and leaves the server a task (`pending_task`): to index
-- each record without one from its document after it starts, in batches, beside the pushes
-- (server/src/ops/search_index.rs), and then to strike the task off, so later starts do not
-- look for records to index. Until it has, HQ's searches miss the records not yet indexed;
-- every other list is whole.
drop trigger record_search_gone;
drop table record_fts;
delete from record_search;

create virtual table record_fts using fts5 (
    title,
    place,
    narrative,
    tokenize = 'unicode61 remove_diacritics 2',
    content = '',
    contentless_delete = 1
);

create trigger record_search_gone after delete on record_search begin
    delete from record_fts where rowid = old.search_id;
end;

-- Work a migration leaves for the server to finish from Rust, by name.
create table if not exists pending_task (
    task text primary key
);
-- A new store has nothing to index, and its server nothing to look for.
insert into pending_task (task)
    select 'search_index' where exists (select 1 from record)
    on conflict do nothing;
