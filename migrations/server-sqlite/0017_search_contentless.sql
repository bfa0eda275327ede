-- The search index keeps no copy of the text it indexes. `record_fts` only ever answers which
-- rows match (server/src/store/query), never reads its columns back, yet its first form
-- stored every title, place and narrative a second time (`record_fts_content`, a third of the
-- search index's pages): bytes every push wrote to the WAL and the checkpoint copied again.
-- `contentless_delete=1` keeps `delete ... where rowid in (...)` working, as a record's search
-- row is rewritten on every change.
create virtual table record_fts_contentless using fts5 (
    title,
    place,
    narrative,
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3',
    content = '',
    contentless_delete = 1
);

insert into record_fts_contentless (rowid, title, place, narrative)
    select rowid, title, place, narrative from record_fts;

drop trigger record_search_gone;
drop table record_fts;
alter table record_fts_contentless rename to record_fts;

create trigger record_search_gone after delete on record_search begin
    delete from record_fts where rowid = old.search_id;
end;
