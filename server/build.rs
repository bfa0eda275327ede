//! Embeds the server's SQL migrations (see `migrations/embed.rs`).

#[path = "../migrations/embed.rs"]
mod embed;

fn main() {
    embed::embed("../migrations/server-sqlite", "migrations_sqlite.rs");
    embed::embed("../migrations/server-postgres", "migrations_postgres.rs");
}
