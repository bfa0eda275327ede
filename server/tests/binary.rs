//! The `bukti-server` binary's command line: help that teaches, and operator mistakes answered
//! with what to do.

use std::process::Command;

fn server() -> Command {
    Command::new(env!("CARGO_BIN_EXE_bukti-server"))
}

#[test]
fn help_explains_the_default_and_the_first_steps() {
    let out = server().arg("--help").output().expect("run");
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for needle in [
        "bukti-data",
        "unit demo",
        "enroll issue",
        "--database-url",
        "--listen",
    ] {
        assert!(
            help.contains(needle),
            "--help should mention {needle}:\n{help}"
        );
    }
}

#[test]
fn token_mistakes_say_what_to_do() {
    let data = tempfile::tempdir().expect("data");
    let out = server()
        .args([
            "token",
            "create",
            "--unit",
            "bali/buleleng",
            "--name",
            "x",
            "--role",
            "boss",
            "--data",
        ])
        .arg(data.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("unknown role") && err.contains("reviewer"),
        "{err}"
    );

    let out = server()
        .args([
            "token",
            "create",
            "--unit",
            "Polres Buleleng",
            "--name",
            "x",
            "--data",
        ])
        .arg(data.path())
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("bali/buleleng/sawan"),
        "the error shows a valid unit path"
    );
}
