//! The `bukti` binary's command line without a server: the catalogue, offline capture and the
//! messages that tell an officer what to do next.

use std::process::Command;

fn bukti(home: &std::path::Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_bukti"));
    c.arg("--home").arg(home);
    c
}

#[test]
fn kinds_lists_the_catalogue() {
    let home = tempfile::tempdir().expect("home");
    let out = bukti(home.path()).arg("kinds").output().expect("run");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    for needle in [
        "sambang",
        "pelayanan-skck",
        "skck",
        "PW.P3",
        "Pengaduan masyarakat",
    ] {
        assert!(text.contains(needle), "`bukti kinds` should list {needle}");
    }
}

#[test]
fn an_unenrolled_device_is_told_to_enroll() {
    let home = tempfile::tempdir().expect("home");
    let out = bukti(home.path()).arg("sync").output().expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bukti enroll"), "{err}");
}
