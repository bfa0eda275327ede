//! The benches' command lines: `--help`, mistakes, and the `--store` option most of them take.
//! Shared by the benches that include it (`#[path]`), as `server.rs` is.

use super::server::Store;

/// Ends a bench at its command line: with no `problem` (`--help`) prints `usage` and exits 0;
/// otherwise prints the problem above the usage and exits 2, instead of a panic's backtrace.
pub fn exit_with_usage(problem: Option<String>, usage: &str) -> ! {
    match problem {
        None => {
            println!("{usage}");
            std::process::exit(0)
        }
        Some(problem) => {
            eprintln!("{problem}\n\n{usage}");
            std::process::exit(2)
        }
    }
}

/// The stores named by the command line of a bench whose only option is `--store sqlite`,
/// `postgres` or `both` (the default); `usage` is the bench's, for `--help` and mistakes. (The
/// sync bench, whose module this file is, takes more options and parses them itself.)
pub fn stores_from_args(usage: &str) -> Vec<Store> {
    let mut stores = vec![Store::Sqlite, Store::Postgres];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--store" => {
                stores = match args.next().as_deref() {
                    Some("sqlite") => vec![Store::Sqlite],
                    Some("postgres") => vec![Store::Postgres],
                    Some("both") => vec![Store::Sqlite, Store::Postgres],
                    other => exit_with_usage(
                        Some(format!(
                            "--store {other:?}: expected sqlite, postgres or both"
                        )),
                        usage,
                    ),
                }
            }
            "--help" | "-h" => exit_with_usage(None, usage),
            // cargo bench passes --bench to harness = false targets.
            "--bench" => {}
            other => exit_with_usage(Some(format!("unknown option {other:?}")), usage),
        }
    }
    stores
}
