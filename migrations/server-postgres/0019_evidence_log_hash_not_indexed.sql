-- The evidence log's entry hash loses its unique index. Nothing looks an entry up by its hash
-- (the chain is read and checked in `seq` order), and two writers can never append the same
-- entry: `seq` is the primary key, and each hash covers its predecessor's. A SHA-256 is a
-- random key: with a million entries stored, each new one dirtied its own index leaf page
-- (docs/performance.md, session 9).
alter table evidence_log drop constraint evidence_log_hash_key;
