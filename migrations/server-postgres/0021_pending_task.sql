-- Work a migration leaves for the server to finish from Rust, by name (server/src/ops). SQLite's
-- 0020_search_no_prefix leaves one; PostgreSQL has none yet, and the table keeps the server's
-- SQL the same for both stores.
create table pending_task (
    task text primary key
);
