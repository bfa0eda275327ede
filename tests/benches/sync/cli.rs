//! The benches' command lines: `--help`, mistakes, and the `--store` option most of them take.
//! Shared by the benches that include it (`#[path]`), as `server.rs` is.

use std::str::FromStr;

use super::server::Store;

/// Ends a bench at its command line: with no `problem` (`--help`) prints `usage` and exits 0;
/// otherwise prints the problem above the usage and exits 2, instead of a panic's backtrace.
fn exit_with_usage(problem: Option<String>, usage: &str) -> ! {
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

/// A bench's command line, read flag by flag; a mistake ends the bench with its usage.
pub struct Args {
    args: std::iter::Skip<std::env::Args>,
    usage: &'static str,
}

impl Args {
    pub fn new(usage: &'static str) -> Self {
        Self {
            args: std::env::args().skip(1),
            usage,
        }
    }

    /// The next flag. `--help` ends the bench with its usage; `--bench`, which cargo passes to
    /// `harness = false` targets, is skipped.
    pub fn next_flag(&mut self) -> Option<String> {
        loop {
            match self.args.next()?.as_str() {
                "--help" | "-h" => exit_with_usage(None, self.usage),
                "--bench" => {}
                flag => return Some(flag.to_owned()),
            }
        }
    }

    /// The value after `flag`.
    pub fn value(&mut self, flag: &str) -> String {
        match self.args.next() {
            Some(value) => value,
            None => self.fail(format!("{flag} needs a value")),
        }
    }

    /// The number after `flag`.
    pub fn number<T: FromStr>(&mut self, flag: &str) -> T {
        let value = self.value(flag);
        match value.parse() {
            Ok(n) => n,
            Err(_) => self.fail(format!("{flag} {value:?}: expected a number")),
        }
    }

    /// The stores named after `flag`: `sqlite`, `postgres`, or (when `both` is allowed) both.
    pub fn stores(&mut self, flag: &str, both: bool) -> Vec<Store> {
        match self.value(flag).as_str() {
            "sqlite" => vec![Store::Sqlite],
            "postgres" => vec![Store::Postgres],
            "both" if both => vec![Store::Sqlite, Store::Postgres],
            other if both => self.fail(format!(
                "{flag} {other:?}: expected sqlite, postgres or both"
            )),
            other => self.fail(format!("{flag} {other:?}: expected sqlite or postgres")),
        }
    }

    /// Ends the bench on a flag it does not take.
    pub fn unknown(&self, flag: &str) -> ! {
        self.fail(format!("unknown option {flag:?}"))
    }

    fn fail(&self, problem: String) -> ! {
        exit_with_usage(Some(problem), self.usage)
    }
}

/// The stores named by the command line of a bench whose only option is `--store sqlite`,
/// `postgres` or `both` (the default); `usage` is the bench's, for `--help` and mistakes. (The
/// sync and load benches take more options and read them with [`Args`] themselves.)
pub fn stores_from_args(usage: &'static str) -> Vec<Store> {
    let mut args = Args::new(usage);
    let mut stores = vec![Store::Sqlite, Store::Postgres];
    while let Some(flag) = args.next_flag() {
        match flag.as_str() {
            "--store" => stores = args.stores(&flag, true),
            other => args.unknown(other),
        }
    }
    stores
}
