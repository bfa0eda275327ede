-- Full-text search over each record's title, place and narrative, and the indexes HQ's sort
-- orders walk (see server/src/store/search.rs and query.rs).
--
-- `record_fts` is an FTS5 table with the unicode61 tokenizer folding diacritics, and prefix
-- indexes so the last word of a query matches as a prefix quickly. Its rows are keyed by
-- `record_search.search_id`, an explicit integer key: VACUUM (and VACUUM INTO, the backup) may
-- renumber the implicit rowids of `record`, never an INTEGER PRIMARY KEY. Every write of a
-- record's projection rewrites its search row in the same transaction.
create table record_search (
    search_id integer primary key,
    record_id text not null unique references record (record_id) on delete cascade
);

create virtual table record_fts using fts5 (
    title,
    place,
    narrative,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);

create trigger record_search_gone after delete on record_search begin
    delete from record_fts where rowid = old.search_id;
end;

-- Records stored before this migration: their title and place are searchable at once. The
-- narrative lives only in the document, which SQL cannot read: `bukti-server
-- rebuild-projection` indexes it (as does the record's next change).
insert into record_search (record_id) select record_id from record order by record_id;
insert into record_fts (rowid, title, place, narrative)
    select s.search_id, r.title, r.place, ''
    from record_search s join record r on r.record_id = s.record_id;

-- Sort orders (`sort=`): each walks its index in either direction, the record id breaking ties.
-- `started_at` sorts by activity time and uses `record_activity`.
create index record_captured on record (captured_at, record_id);
create index record_updated on record (updated_at, record_id);
create index record_title on record (title, record_id);
-- An officer's records are few: fetched by officer, then sorted.
create index record_officer on record (officer, activity_at, record_id);
