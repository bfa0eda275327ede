-- Full-text search over each record's title, place and narrative, and the indexes HQ's sort
-- orders walk (see server/src/store/search.rs and query.rs).
--
-- PostgreSQL has no Indonesian stemmer, so the `simple` configuration: words as written,
-- lowercased. Common Latin diacritics are folded with `translate` (no `unaccent` extension
-- needed), the same letters SQLite's FTS5 folds; the server folds query words alike. Every
-- write of a record's projection rewrites its search row in the same transaction.
create table record_search (
    record_id text primary key references record (record_id) on delete cascade,
    title text not null,
    place text not null,
    narrative text not null,
    document tsvector generated always as (
        to_tsvector('simple', translate(lower(title || ' ' || place || ' ' || narrative),
            'àáâãäåāăąçćĉċčďèéêëēĕėęěĝğġģĥìíîïĩīĭįĵķĺļľñńņňòóôõöōŏőŕŗřśŝşšţťùúûüũūŭůűųŵýÿŷźżžÀÁÂÃÄÅĀĂĄÇĆĈĊČĎÈÉÊËĒĔĖĘĚĜĞĠĢĤÌÍÎÏĨĪĬĮĴĶĹĻĽÑŃŅŇÒÓÔÕÖŌŎŐŔŖŘŚŜŞŠŢŤÙÚÛÜŨŪŬŮŰŲŴÝŸŶŹŻŽ',
            'aaaaaaaaacccccdeeeeeeeeegggghiiiiiiiijklllnnnnoooooooorrrssssttuuuuuuuuuuwyyyzzzaaaaaaaaacccccdeeeeeeeeegggghiiiiiiiijklllnnnnoooooooorrrssssttuuuuuuuuuuwyyyzzz'))
    ) stored
);

-- Records stored before this migration: their title and place are searchable at once. The
-- narrative lives only in the document, which SQL cannot read: `bukti-server
-- rebuild-projection` indexes it (as does the record's next change).
insert into record_search (record_id, title, place, narrative)
    select record_id, title, place, '' from record;

create index record_search_document on record_search using gin (document);

-- `sort=title` pages by title in byte order whatever the database's locale, as SQLite does
-- (the unit columns are pinned the same way in 0005).
alter table record alter column title type text collate "C";

-- Sort orders (`sort=`): each walks its index in either direction, the record id breaking ties.
-- `started_at` sorts by activity time and uses `record_activity`.
create index record_captured on record (captured_at, record_id);
create index record_updated on record (updated_at, record_id);
create index record_title on record (title, record_id);
-- An officer's records are few: fetched by officer, then sorted.
create index record_officer on record (officer, activity_at, record_id);
