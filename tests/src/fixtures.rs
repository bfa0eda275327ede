//! What tests capture and push: fixture photos, typical captures and a valid record.

use std::path::PathBuf;

/// A photo from `tests/fixtures/photos` (see `tests/fixtures/make-photos.sh`).
pub fn fixture(name: &str) -> PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/photos")
        .join(name)
}

/// A submitted door-to-door visit with time and GPS place, as an officer captures it now.
pub fn visit(title: String) -> bukti_core::device::Capture {
    bukti_core::device::Capture {
        kind: "sambang".into(),
        title,
        place: "Balai Desa Sudaji".into(),
        started_at: Some(jiff::Timestamp::now()),
        location: Some(bukti_core::record::Location {
            lat: -8.12,
            lon: 115.17,
            accuracy_m: Some(8.0),
            source: "gps".into(),
        }),
        submit: true,
        ..Default::default()
    }
}

/// A draft patrol: the least a device needs to capture and sync a record.
pub fn patrol(title: &str) -> bukti_core::device::Capture {
    bukti_core::device::Capture {
        kind: "patroli".into(),
        title: title.into(),
        place: "Jalan Raya".into(),
        ..Default::default()
    }
}

/// A valid submitted record for `unit`/`officer`, as its Automerge document.
pub fn sample_record(unit: &str, officer: &str, title: &str) -> bukti_core::Record {
    use bukti_core::record::{Location, Status};
    let mut r = bukti_core::Record::new(unit, officer, "pelayanan-skck", title);
    r.started_at = Some(r.captured_at);
    r.location = Some(Location {
        lat: -8.11,
        lon: 115.09,
        accuracy_m: Some(6.0),
        source: "gps".into(),
    });
    r.counts.services.insert("skck".into(), 3);
    r.lke.insert("PP.P2".into());
    r.status = Status::Submitted;
    r
}
