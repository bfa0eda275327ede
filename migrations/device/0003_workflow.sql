-- The review workflow's state of each record (captured, ready, forwarded, verified,
-- needs_revision, revised, rejected), derived from its document on every write like the other
-- listing columns. NULL for rows written before this column existed: the list derives those from
-- the document until the record is next written.
ALTER TABLE record ADD COLUMN state TEXT;
