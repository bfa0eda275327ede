-- Subtree scope is a range test on unit paths (`unit >= 'a/b/' and unit < 'a/b0'`), which holds
-- only under byte order: a locale's collation may sort '/' and '0' elsewhere, or ignore
-- punctuation, and then a unit's records could leak into or vanish from its parent's view.
-- Pin the unit columns to the "C" collation whatever the database's locale.
alter table record alter column unit type text collate "C";
alter table principal alter column unit type text collate "C";
