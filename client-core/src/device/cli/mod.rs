//! The `bukti` command line.
