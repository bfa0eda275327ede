//! Embeds the device store's SQL migrations (see `migrations/embed.rs`) when the device store is
//! built.

#[path = "../migrations/embed.rs"]
mod embed;

fn main() {
    if std::env::var_os("CARGO_FEATURE_DEVICE").is_some() {
        embed::embed("../migrations/device", "migrations_device.rs");
    }
}
