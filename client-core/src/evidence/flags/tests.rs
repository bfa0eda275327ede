//! Each flag raised where it should be and not where it should not, at its threshold's edges.

use jiff::{SignedDuration, Timestamp};

use super::*;
use crate::record::{Location, PhotoGps, PhotoRef, Record};

const PHOTO: &str = "aa";

fn t(s: &str) -> Timestamp {
    s.parse().expect("a test time")
}

/// A patrol in Sawan at 09:00–10:00 UTC with one camera photo taken at 09:30 where the record is.
fn record() -> Record {
    let mut r = Record::new("bali/buleleng/sawan", "87010123", "patroli", "Patroli");
    r.captured_at = t("2026-03-02T10:05:00Z");
    r.started_at = Some(t("2026-03-02T09:00:00Z"));
    r.ended_at = Some(t("2026-03-02T10:00:00Z"));
    r.location = Some(Location {
        lat: -8.12,
        lon: 115.17,
        accuracy_m: Some(10.0),
        source: "gps".into(),
    });
    r.photos.insert(
        PHOTO.into(),
        PhotoRef {
            size: 1000,
            content_type: "image/jpeg".into(),
            source: "camera".into(),
            taken_at: Some(t("2026-03-02T09:30:00Z")),
            gps: Some(PhotoGps {
                lat: -8.121,
                lon: 115.171,
            }),
            camera: "samsung SM-A045F".into(),
            software: "A045FXXS5CXE1".into(),
            ..PhotoRef::default()
        },
    );
    r
}

/// Roughly Polsek Sawan's box.
fn sawan() -> Area {
    Area::from_box("-8.20,115.10,-8.05,115.25").expect("a box")
}

fn codes(flags: &[Flag]) -> Vec<FlagCode> {
    flags.iter().map(|f| f.code).collect()
}

fn photo(r: &mut Record) -> &mut PhotoRef {
    r.photos.get_mut(PHOTO).expect("the photo")
}

#[test]
fn an_honest_record_raises_nothing() {
    assert_eq!(document(&record(), Some(&sawan())), vec![]);
    assert_eq!(
        on_arrival(
            &record(),
            t("2026-03-02T12:00:00Z"),
            Some(t("2026-03-02T12:01:00Z"))
        ),
        vec![]
    );
}

#[test]
fn photo_time_far_from_the_activity() {
    let mut r = record();
    // Two hours before the start is the edge: still fine.
    photo(&mut r).taken_at = Some(t("2026-03-02T07:00:00Z"));
    assert_eq!(codes(&document(&r, None)), vec![]);
    photo(&mut r).taken_at = Some(t("2026-03-01T09:00:00Z"));
    let flags = document(&r, None);
    assert_eq!(codes(&flags), vec![FlagCode::PhotoTimeFar]);
    assert_eq!(flags[0].amount, Some(24.0));
    assert_eq!(flags[0].photo.as_deref(), Some(PHOTO));
    photo(&mut r).taken_at = Some(t("2026-03-02T12:30:00Z"));
    assert_eq!(document(&r, None)[0].amount, Some(2.5));
}

#[test]
fn locations_outside_the_area_or_far_apart() {
    let mut r = record();
    assert_eq!(codes(&document(&r, None)), vec![]);
    // The photo's EXIF position in Denpasar, 70 km south: outside and far.
    photo(&mut r).gps = Some(PhotoGps {
        lat: -8.65,
        lon: 115.22,
    });
    let flags = document(&r, Some(&sawan()));
    assert_eq!(
        codes(&flags),
        vec![FlagCode::OutsideArea, FlagCode::LocationFar]
    );
    assert_eq!(flags[0].note, "EXIF");
    let km = flags[1].amount.expect("a distance") / 1000.0;
    assert!((58.0..60.0).contains(&km), "{km} km");
    // Without an area set up, only the distance.
    assert_eq!(codes(&document(&r, None)), vec![FlagCode::LocationFar]);
    // The record's own position outside.
    let mut r = record();
    r.photos.clear();
    if let Some(l) = r.location.as_mut() {
        l.lat = -8.30;
    }
    let flags = document(&r, Some(&sawan()));
    assert_eq!(codes(&flags), vec![FlagCode::OutsideArea]);
    assert_eq!(
        (flags[0].photo.as_ref(), flags[0].note.as_str()),
        (None, "record")
    );
}

#[test]
fn a_poor_gps_fix_widens_the_distance_allowed() {
    let mut r = record();
    photo(&mut r).gps = Some(PhotoGps {
        lat: -8.135,
        lon: 115.17,
    }); // 1.7 km away
    assert_eq!(codes(&document(&r, None)), vec![FlagCode::LocationFar]);
    if let Some(l) = r.location.as_mut() {
        l.accuracy_m = Some(1_000.0);
    }
    assert_eq!(codes(&document(&r, None)), vec![]);
}

#[test]
fn gallery_missing_exif_and_editors() {
    let mut r = record();
    photo(&mut r).source = "gallery".into();
    assert_eq!(codes(&document(&r, None)), vec![FlagCode::GalleryImport]);
    let mut r = record();
    let p = photo(&mut r);
    (p.taken_at, p.gps, p.camera) = (None, None, String::new());
    assert_eq!(codes(&document(&r, None)), vec![FlagCode::ExifMissing]);
    // A camera name alone is EXIF enough.
    let mut r = record();
    let p = photo(&mut r);
    (p.taken_at, p.gps) = (None, None);
    assert_eq!(codes(&document(&r, None)), vec![]);
    for (software, flagged) in [
        ("Adobe Photoshop 25.1 (Windows)", true),
        ("Snapseed 2.0", true),
        ("PicsArt", true),
        ("GIMP 2.10.34", true),
        ("A045FXXS5CXE1", false),
        ("HDR+ 1.0.540104767zd", false),
        ("Instagram", false),
    ] {
        let mut r = record();
        photo(&mut r).software = software.into();
        let flags = document(&r, None);
        assert_eq!(!flags.is_empty(), flagged, "{software}");
        if flagged {
            assert_eq!(flags[0].code, FlagCode::PhotoEdited);
        }
    }
}

#[test]
fn device_clock_and_photos_from_the_future() {
    let r = record();
    let received = t("2026-03-02T12:00:00Z");
    for (device, flagged) in [
        (received - SignedDuration::from_mins(10), false),
        (received + SignedDuration::from_mins(9), false),
        (received - SignedDuration::from_mins(11), true),
        (received + SignedDuration::from_hours(26), true),
    ] {
        let flags = on_arrival(&r, received, Some(device));
        assert_eq!(
            codes(&flags) == vec![FlagCode::DeviceClock],
            flagged,
            "{device}"
        );
    }
    assert_eq!(on_arrival(&r, received, None), vec![]);
    let mut r = record();
    photo(&mut r).taken_at = Some(received + SignedDuration::from_hours(1));
    let flags = on_arrival(&r, received, None);
    assert_eq!(codes(&flags), vec![FlagCode::PhotoAfterArrival]);
    assert_eq!(flags[0].amount, Some(60.0));
    photo(&mut r).taken_at = Some(received + SignedDuration::from_mins(4));
    assert_eq!(on_arrival(&r, received, None), vec![]);
}

#[test]
fn bursts_of_backdated_records() {
    let activity = t("2026-03-01T08:00:00Z");
    assert!(!is_backdated(
        activity + SignedDuration::from_hours(24),
        activity
    ));
    assert!(is_backdated(
        activity + SignedDuration::from_hours(25),
        activity
    ));
    let at = |mins: i64| t("2026-03-08T20:00:00Z") + SignedDuration::from_mins(mins);
    // Four within the hour: not yet a burst.
    assert_eq!(
        bursts(&[at(0), at(10), at(20), at(30)]),
        Vec::<usize>::new()
    );
    // The fifth, out of order, makes one; a record entered a day later stays out of it.
    assert_eq!(
        bursts(&[at(30), at(0), at(1440), at(10), at(20), at(60)]),
        vec![0, 1, 3, 4, 5]
    );
    // Spread over the evening, one every 20 minutes: no hour holds five.
    let spread: Vec<Timestamp> = (0..8).map(|i| at(i * 20)).collect();
    assert_eq!(bursts(&spread), Vec::<usize>::new());
}

#[test]
fn areas_from_geojson_with_holes_and_bounds() {
    let geo = r#"{"type":"Feature","geometry":{"type":"Polygon","coordinates":[
        [[115.0,-8.3],[115.4,-8.3],[115.4,-8.0],[115.0,-8.0],[115.0,-8.3]],
        [[115.1,-8.2],[115.2,-8.2],[115.2,-8.1],[115.1,-8.1],[115.1,-8.2]]]}}"#;
    let area = Area::from_geojson(geo).expect("a polygon with a hole");
    assert!(area.contains(-8.05, 115.3));
    assert!(!area.contains(-8.15, 115.15), "inside the hole");
    assert!(!area.contains(-8.5, 115.3));
    let again = Area::from_geojson(&area.to_geojson()).expect("round trip");
    assert_eq!(again, area);
    for (bad, why) in [
        (
            r#"{"type":"Point","coordinates":[115,-8]}"#,
            "not a polygon",
        ),
        (
            r#"{"type":"Polygon","coordinates":[[[115,-8],[116,-8],[115,-8]]]}"#,
            "short ring",
        ),
        (
            r#"{"type":"Polygon","coordinates":[[[515,-8],[116,-8],[116,-9],[515,-8]]]}"#,
            "bad point",
        ),
        ("not json", "not json"),
    ] {
        assert!(Area::from_geojson(bad).is_err(), "{why}");
    }
    let huge: Vec<[f64; 2]> = (0..=MAX_AREA_POINTS)
        .map(|i| [115.0 + i as f64 * 1e-6, -8.0])
        .collect();
    let huge = serde_json::json!({"type": "Polygon", "coordinates": [huge]}).to_string();
    assert_eq!(Area::from_geojson(&huge), Err(AreaError::TooManyPoints));
    for bad in ["-8,115,-9,116", "1,2,3", "a,b,c,d"] {
        assert_eq!(Area::from_box(bad), Err(AreaError::BadBox), "{bad}");
    }
}

#[test]
fn every_code_round_trips_and_explains_itself_in_both_languages() {
    for code in FlagCode::ALL {
        assert_eq!(FlagCode::parse(code.as_str()), Some(code));
        let flag = Flag::photo(code, PHOTO, Some(3.0), "note");
        let (id, en) = (flag.explain(false), flag.explain(true));
        assert!(id.len() > 30 && en.len() > 30 && id != en, "{code:?}");
        assert_ne!(code.label(false), code.label(true), "{code:?}");
    }
    assert_eq!(FlagCode::parse("nonsense"), None);
}

#[test]
fn an_original_or_display_copy_that_disagrees_with_its_claims() {
    let r = record();
    let claim = &r.photos[PHOTO];
    let seen = Observed {
        taken_at: claim.taken_at,
        gps: Some((-8.121, 115.171)),
        camera: claim.camera.clone(),
        software: claim.software.clone(),
    };
    assert_eq!(original_mismatches(claim, &seen), Vec::<&str>::new());
    // Read in another zone (no offset in the EXIF): whole hours apart is the same moment.
    let mut other_zone = seen;
    other_zone.taken_at = claim.taken_at.map(|t| t + SignedDuration::from_hours(1));
    assert_eq!(original_mismatches(claim, &other_zone), Vec::<&str>::new());
    let swapped = Observed {
        taken_at: claim.taken_at.map(|t| t - SignedDuration::from_mins(37)),
        gps: Some((-8.2, 115.3)),
        camera: "Canon EOS 80D".into(),
        software: "Adobe Photoshop".into(),
    };
    assert_eq!(
        original_mismatches(claim, &swapped),
        ["EXIF time", "EXIF location", "camera", "software"]
    );
    assert_eq!(
        original_mismatches(claim, &Observed::default()),
        ["EXIF time", "EXIF location", "camera", "software"]
    );
    let rendition = crate::record::Rendition {
        width: 1600,
        height: 1200,
        ..Default::default()
    };
    assert_eq!(
        display_mismatches(&rendition, Some(0xF0F0), (1600, 1200), 0xF0F1),
        Vec::<&str>::new()
    );
    assert_eq!(
        display_mismatches(&rendition, Some(0), (1200, 1600), u64::MAX),
        ["display copy size", "display copy picture"]
    );
    assert_eq!(
        display_mismatches(&rendition, None, (1600, 1200), 7),
        Vec::<&str>::new()
    );
}
