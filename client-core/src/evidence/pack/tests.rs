//! The pack reader's bounds, before anything is read.

use super::{EntryInfo, Limits, PackError, check_entries, folder_name, record_folder};

fn entry(name: &str, size: u64, compressed: u64) -> EntryInfo {
    EntryInfo {
        name: name.to_owned(),
        size,
        compressed,
    }
}

#[test]
fn hostile_entries_are_refused_with_the_reason() {
    let limits = Limits::default();
    let refuse = |e: Vec<EntryInfo>| check_entries(&e, &limits).expect_err("refused");
    assert!(matches!(
        refuse(vec![entry("a/../../etc/passwd", 1, 1)]),
        PackError::UnsafeName { .. }
    ));
    assert!(matches!(
        refuse(vec![entry("/etc/passwd", 1, 1)]),
        PackError::UnsafeName { .. }
    ));
    assert!(matches!(
        refuse(vec![entry("C:/x", 1, 1)]),
        PackError::UnsafeName { .. }
    ));
    assert_eq!(
        refuse(vec![entry("a", 1, 1), entry("a", 1, 1)]),
        PackError::DuplicateName("a".into())
    );
    assert!(matches!(
        refuse(vec![entry(
            "big",
            limits.max_entry_bytes + 1,
            limits.max_entry_bytes
        )]),
        PackError::EntryTooLarge { .. }
    ));
    assert!(matches!(
        refuse(vec![entry("bomb", 100 << 20, 100 << 10)]),
        PackError::ZipBomb { .. }
    ));
    let tight = Limits {
        max_entries: 1,
        ..limits
    };
    assert!(matches!(
        check_entries(&[entry("a", 1, 1), entry("b", 1, 1)], &tight),
        Err(PackError::TooManyEntries { count: 2, max: 1 })
    ));
    check_entries(&[entry("MP/MP.P1/x/record.json", 5000, 900)], &limits).expect("fine");
}

#[test]
fn folders_are_lke_codes_made_safe() {
    assert_eq!(folder_name("MP.P1"), "MP.P1");
    assert_eq!(folder_name(".."), "_..");
    assert_eq!(folder_name("a/b"), "a_b");
    let id = crate::RecordId::new();
    assert_eq!(record_folder(Some("PW.P3"), id), format!("PW/PW.P3/{id}"));
    assert_eq!(record_folder(None, id), format!("untagged/{id}"));
}
