//! Anomaly flags: the signs that a record may not match what happened, computed by the server as
//! evidence arrives and shown to reviewers with a plain explanation. A flag is a reason to look,
//! never a verdict: a gallery photo or a back-dated record is often honest (a phone out of storage,
//! a week without signal), so the reviewer reads the explanation and decides.
//!
//! Pure rules, three moments:
//! - [`document`]: from the record alone and its unit's [`Area`], recomputed with every version
//!   of the document (the record's projection);
//! - [`on_arrival`]: from the moment a push arrives (the server's clock against the signed device
//!   clock and the photos' EXIF times), kept once raised;
//! - photo checks of the bytes themselves (reuse, binding) run where the bytes are, on the server;
//!   they only build [`Flag`]s with the codes here;
//! - across records ([`burst_flags`], [`exact_copies`]): bursts of back-dated records and one
//!   picture offered twice, from the few stored records the server reads for each.

mod across;
mod area;
#[cfg(test)]
mod tests;

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use crate::record::Record;
pub use across::{BURST_NEIGHBOURS, burst_flags, exact_copies};
pub use area::{Area, AreaError, MAX_POINTS as MAX_AREA_POINTS, distance_m};

/// A photo's EXIF time this far outside the activity's time is flagged.
pub const PHOTO_TIME_TOLERANCE: SignedDuration = SignedDuration::from_hours(2);
/// Record and EXIF positions this far apart are flagged (GPS in town is good to tens of metres).
pub const LOCATION_TOLERANCE_M: f64 = 1_000.0;
/// A device clock this far from the server's when it pushes is flagged.
pub const CLOCK_TOLERANCE: SignedDuration = SignedDuration::from_mins(10);
/// A photo dated this far after it reached the server cannot have been taken when it says.
const FUTURE_TOLERANCE: SignedDuration = SignedDuration::from_mins(5);
/// A record entered this long after the activity began counts as back-dated...
pub const BACKDATE_AFTER: SignedDuration = SignedDuration::from_hours(24);
/// ...and this many back-dated records by one officer entered within [`BURST_WINDOW`] of each
/// other are a burst: a week's activities typed in at once, after the fact.
pub const BURST_MIN_RECORDS: usize = 5;
pub const BURST_WINDOW: SignedDuration = SignedDuration::from_hours(1);

/// Editing programs whose name in the EXIF software tag means the picture was edited after it was
/// taken (matched case-insensitively anywhere in the tag). Phone camera firmware versions, which
/// also appear there, are not in it.
const EDITORS: &[&str] = &[
    "photoshop",
    "lightroom",
    "gimp",
    "snapseed",
    "picsart",
    "canva",
    "pixlr",
    "facetune",
    "meitu",
    "remini",
    "vsco",
    "affinity photo",
    "paint.net",
    "polarr",
    "fotor",
    "photoscape",
    "photodirector",
    "inshot",
];

/// What kind of anomaly; the stable code is what the API, the filters and the store use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlagCode {
    PhotoReused,
    PhotoSimilar,
    PhotoMismatch,
    PhotoTimeFar,
    PhotoAfterArrival,
    OutsideArea,
    LocationFar,
    GalleryImport,
    ExifMissing,
    PhotoEdited,
    DeviceClock,
    BackdatedBurst,
}

/// When a flag is computed, which says when it may be recomputed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// From the document: replaced with every version.
    Document,
    /// From a push or a photo's arrival: kept once raised.
    Arrival,
}

impl FlagCode {
    pub const ALL: [FlagCode; 12] = [
        FlagCode::PhotoReused,
        FlagCode::PhotoSimilar,
        FlagCode::PhotoMismatch,
        FlagCode::PhotoTimeFar,
        FlagCode::PhotoAfterArrival,
        FlagCode::OutsideArea,
        FlagCode::LocationFar,
        FlagCode::GalleryImport,
        FlagCode::ExifMissing,
        FlagCode::PhotoEdited,
        FlagCode::DeviceClock,
        FlagCode::BackdatedBurst,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            FlagCode::PhotoReused => "photo_reused",
            FlagCode::PhotoSimilar => "photo_similar",
            FlagCode::PhotoMismatch => "photo_mismatch",
            FlagCode::PhotoTimeFar => "photo_time_far",
            FlagCode::PhotoAfterArrival => "photo_after_arrival",
            FlagCode::OutsideArea => "outside_area",
            FlagCode::LocationFar => "location_far",
            FlagCode::GalleryImport => "gallery_import",
            FlagCode::ExifMissing => "exif_missing",
            FlagCode::PhotoEdited => "photo_edited",
            FlagCode::DeviceClock => "device_clock",
            FlagCode::BackdatedBurst => "backdated_burst",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|c| c.as_str() == s)
    }

    pub fn moment(self) -> Moment {
        match self {
            FlagCode::PhotoTimeFar
            | FlagCode::OutsideArea
            | FlagCode::LocationFar
            | FlagCode::GalleryImport
            | FlagCode::ExifMissing
            | FlagCode::PhotoEdited => Moment::Document,
            _ => Moment::Arrival,
        }
    }

    /// A short name for lists and filters, in Bahasa Indonesia or English.
    pub fn label(self, english: bool) -> &'static str {
        let (id, en) = match self {
            FlagCode::PhotoReused => ("Foto dipakai ulang", "Photo reused"),
            FlagCode::PhotoSimilar => {
                ("Foto mirip, perlu diperiksa", "Similar photo, needs review")
            }
            FlagCode::PhotoMismatch => ("Foto tidak sesuai catatan", "Photo does not match record"),
            FlagCode::PhotoTimeFar => (
                "Waktu foto jauh dari kegiatan",
                "Photo time far from activity",
            ),
            FlagCode::PhotoAfterArrival => {
                ("Waktu foto setelah diterima", "Photo dated after arrival")
            }
            FlagCode::OutsideArea => ("Di luar wilayah hukum", "Outside the unit's area"),
            FlagCode::LocationFar => ("Lokasi foto jauh", "Photo location far"),
            FlagCode::GalleryImport => ("Dari galeri", "From the gallery"),
            FlagCode::ExifMissing => ("Tanpa EXIF", "No EXIF"),
            FlagCode::PhotoEdited => ("Foto diedit", "Photo edited"),
            FlagCode::DeviceClock => ("Jam perangkat meleset", "Device clock off"),
            FlagCode::BackdatedBurst => (
                "Banyak catatan mundur tanggal",
                "Burst of back-dated records",
            ),
        };
        if english { en } else { id }
    }

    /// Strong signs of fabrication, shown first and in red; the rest ask for a look.
    pub fn is_serious(self) -> bool {
        matches!(
            self,
            FlagCode::PhotoReused | FlagCode::PhotoMismatch | FlagCode::PhotoAfterArrival
        )
    }
}

/// One anomaly of one record, about one of its photos or the record as a whole.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Flag {
    pub code: FlagCode,
    /// The photo (SHA-256 of its original) it is about; `None` for the record as a whole.
    pub photo: Option<String>,
    /// The measure that raised it, in the unit its explanation names (hours, metres, minutes,
    /// records, match score); `None` when there is none.
    pub amount: Option<f64>,
    /// What else it refers to: the editing program, the other record, the field that differs.
    pub note: String,
}

impl Flag {
    fn new(code: FlagCode, photo: Option<&str>, amount: Option<f64>, note: &str) -> Self {
        Self {
            code,
            photo: photo.map(str::to_owned),
            amount,
            note: note.to_owned(),
        }
    }

    /// Constructor for the photo checks that run on the server.
    pub fn photo(code: FlagCode, photo: &str, amount: Option<f64>, note: &str) -> Self {
        Self::new(code, Some(photo), amount, note)
    }

    /// The plain explanation a reviewer reads, in Bahasa Indonesia or English.
    pub fn explain(&self, english: bool) -> String {
        let a = self.amount.unwrap_or_default();
        let n = &self.note;
        let (id, en) = match self.code {
            FlagCode::PhotoReused => (
                format!("Foto ini salinan foto pada catatan lain ({n}): dipotong, diperkecil, dicerminkan atau ditangkap layar. Bukti yang sama tidak boleh dipakai dua kali."),
                format!("This photo is a copy of a photo in another record ({n}): cropped, resized, mirrored or screenshotted. The same evidence must not be used twice."),
            ),
            FlagCode::PhotoSimilar => (
                format!("Foto ini sangat mirip foto pada catatan lain ({n}). Bisa jadi kamera kedua di tempat yang sama, bisa jadi salinan: periksa keduanya."),
                format!("This photo is very like a photo in another record ({n}). It may be a second camera at the same scene or a copy: compare the two."),
            ),
            FlagCode::PhotoMismatch => (
                format!("Berkas foto yang diterima tidak sesuai dengan yang dicatat saat pengambilan ({n}). Foto mungkin diganti atau diubah."),
                format!("The photo file received does not match what was recorded at capture ({n}). The photo may have been swapped or altered."),
            ),
            FlagCode::PhotoTimeFar => (
                format!("Waktu EXIF foto berbeda {a:.1} jam dari waktu kegiatan."),
                format!("The photo's EXIF time is {a:.1} hours away from the activity's time."),
            ),
            FlagCode::PhotoAfterArrival => (
                format!("Waktu EXIF foto {a:.0} menit setelah foto diterima server: foto tidak mungkin diambil pada waktu itu."),
                format!("The photo's EXIF time is {a:.0} minutes after the server received it: it cannot have been taken then."),
            ),
            FlagCode::OutsideArea => (
                format!("Lokasi {n} berada di luar wilayah hukum satuan."),
                format!("The {n} location is outside the unit's area."),
            ),
            FlagCode::LocationFar => (
                format!("Lokasi foto (EXIF) berjarak {:.1} km dari lokasi catatan.", a / 1000.0),
                format!("The photo's EXIF location is {:.1} km from the record's location.", a / 1000.0),
            ),
            FlagCode::GalleryImport => (
                "Foto diambil dari galeri, bukan dari kamera aplikasi: waktu dan tempatnya tidak disaksikan aplikasi.".to_owned(),
                "The photo was imported from the gallery, not taken in the app: its time and place were not witnessed by the app.".to_owned(),
            ),
            FlagCode::ExifMissing => (
                "Foto tanpa EXIF (waktu, lokasi, kamera): biasanya tangkapan layar atau foto kiriman aplikasi pesan.".to_owned(),
                "The photo has no EXIF (time, place, camera): usually a screenshot or a photo passed through a messaging app.".to_owned(),
            ),
            FlagCode::PhotoEdited => (
                format!("Tag software EXIF menyebut program penyunting ({n}): foto telah diedit."),
                format!("The EXIF software tag names an editing program ({n}): the photo was edited."),
            ),
            FlagCode::DeviceClock => (
                format!("Jam perangkat berbeda {a:.0} menit dari jam server saat mengirim: waktu pada catatan ini tidak dapat dipercaya begitu saja."),
                format!("The device's clock was {a:.0} minutes off the server's when it sent this: the times in this record cannot be taken at face value."),
            ),
            FlagCode::BackdatedBurst => (
                format!("Salah satu dari {a:.0} catatan mundur tanggal yang dibuat petugas yang sama berdekatan waktunya (lima atau lebih dalam satu jam)."),
                format!("One of {a:.0} back-dated records the same officer entered close together (five or more within one hour)."),
            ),
        };
        if english { en } else { id }
    }
}

/// The start and end of the activity, as the record gives them.
fn activity_window(record: &Record) -> (Timestamp, Timestamp) {
    let start = record.started_at.unwrap_or(record.captured_at);
    (start, record.ended_at.unwrap_or(start).max(start))
}

/// The flags the document alone raises, given its unit's area (`None`: no area is set up).
pub fn document(record: &Record, area: Option<&Area>) -> Vec<Flag> {
    let mut out = Vec::new();
    if let (Some(area), Some(loc)) = (area, &record.location)
        && !area.contains(loc.lat, loc.lon)
    {
        out.push(Flag::new(FlagCode::OutsideArea, None, None, "record"));
    }
    let (start, end) = activity_window(record);
    for (key, photo) in &record.photos {
        let key = Some(key.as_str());
        if photo.source == "gallery" {
            out.push(Flag::new(FlagCode::GalleryImport, key, None, ""));
        }
        if photo.taken_at.is_none() && photo.gps.is_none() && photo.camera.is_empty() {
            out.push(Flag::new(FlagCode::ExifMissing, key, None, ""));
        }
        let software = photo.software.to_lowercase();
        if let Some(editor) = EDITORS.iter().find(|e| software.contains(*e)) {
            out.push(Flag::new(FlagCode::PhotoEdited, key, None, editor));
        }
        if let Some(taken) = photo.taken_at {
            let off = if taken < start {
                start.duration_since(taken)
            } else {
                taken.duration_since(end)
            };
            if off > PHOTO_TIME_TOLERANCE {
                let hours = off.as_secs_f64() / 3600.0;
                out.push(Flag::new(FlagCode::PhotoTimeFar, key, Some(hours), ""));
            }
        }
        let Some(gps) = &photo.gps else { continue };
        if let Some(area) = area
            && !area.contains(gps.lat, gps.lon)
        {
            out.push(Flag::new(FlagCode::OutsideArea, key, None, "EXIF"));
        }
        if let Some(loc) = &record.location {
            let metres = distance_m((loc.lat, loc.lon), (gps.lat, gps.lon));
            let tolerance = LOCATION_TOLERANCE_M.max(2.0 * loc.accuracy_m.unwrap_or(0.0));
            if metres > tolerance {
                out.push(Flag::new(FlagCode::LocationFar, key, Some(metres), ""));
            }
        }
    }
    out
}

/// The flags a push raises when it arrives at `received` (the server's clock), signed by a
/// device whose clock said `device_time`.
pub fn on_arrival(
    record: &Record,
    received: Timestamp,
    device_time: Option<Timestamp>,
) -> Vec<Flag> {
    let mut out = Vec::new();
    if let Some(device) = device_time {
        let off = received.duration_since(device).abs();
        if off > CLOCK_TOLERANCE {
            let minutes = off.as_secs_f64() / 60.0;
            out.push(Flag::new(FlagCode::DeviceClock, None, Some(minutes), ""));
        }
    }
    for (key, photo) in &record.photos {
        if let Some(taken) = photo.taken_at
            && taken.duration_since(received) > FUTURE_TOLERANCE
        {
            let minutes = taken.duration_since(received).as_secs_f64() / 60.0;
            out.push(Flag::new(
                FlagCode::PhotoAfterArrival,
                Some(key),
                Some(minutes),
                "",
            ));
        }
    }
    out
}

/// Whether a record was entered long after its activity began (see [`BACKDATE_AFTER`]).
pub fn is_backdated(captured_at: Timestamp, activity_at: Timestamp) -> bool {
    captured_at.duration_since(activity_at) > BACKDATE_AFTER
}

/// Of one officer's back-dated records' entry times, the indexes of those in a burst: at least
/// [`BURST_MIN_RECORDS`] of them entered within [`BURST_WINDOW`] of each other.
pub fn bursts(captured: &[Timestamp]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..captured.len()).collect();
    order.sort_by_key(|&i| captured[i]);
    let mut inside = vec![false; captured.len()];
    let mut first = 0;
    for last in 0..order.len() {
        while captured[order[last]].duration_since(captured[order[first]]) > BURST_WINDOW {
            first += 1;
        }
        if last + 1 - first >= BURST_MIN_RECORDS {
            for &i in &order[first..=last] {
                inside[i] = true;
            }
        }
    }
    (0..captured.len()).filter(|&i| inside[i]).collect()
}

/// What the server read from a photo's own bytes, to hold against what the record claims.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observed {
    pub taken_at: Option<Timestamp>,
    pub gps: Option<(f64, f64)>,
    pub camera: String,
    pub software: String,
}

/// Positions read from the same EXIF agree to the metre; this allows for rounding only.
const SAME_PLACE_M: f64 = 50.0;

/// Where an original's EXIF disagrees with what its record claims, as short notes ("EXIF time",
/// …). An EXIF time without an offset is read in the phone's zone on the phone and in the
/// unit's zone on the server, so whole hours apart is the same time.
pub fn original_mismatches(claim: &crate::record::PhotoRef, seen: &Observed) -> Vec<&'static str> {
    let mut out = Vec::new();
    let same_time = match (claim.taken_at, seen.taken_at) {
        (None, None) => true,
        (Some(a), Some(b)) => {
            let secs = a.duration_since(b).as_secs().unsigned_abs();
            let off_hour = secs % 3600;
            secs <= 60 || (secs <= 14 * 3600 && (off_hour <= 60 || off_hour >= 3540))
        }
        _ => false,
    };
    if !same_time {
        out.push("EXIF time");
    }
    let same_place = match (&claim.gps, seen.gps) {
        (None, None) => true,
        (Some(c), Some(s)) => distance_m((c.lat, c.lon), s) <= SAME_PLACE_M,
        _ => false,
    };
    if !same_place {
        out.push("EXIF location");
    }
    if claim.camera != seen.camera {
        out.push("camera");
    }
    if claim.software != seen.software {
        out.push("software");
    }
    out
}

/// Where a display copy disagrees with its record's claims: its size, or (by the perceptual
/// hash the phone took of it at capture) its picture.
pub fn display_mismatches(
    claim: &crate::record::Rendition,
    claimed_phash: Option<u64>,
    (width, height): (u32, u32),
    phash: u64,
) -> Vec<&'static str> {
    let mut out = Vec::new();
    if (claim.width, claim.height) != (width, height) {
        out.push("display copy size");
    }
    if claimed_phash.is_some_and(|c| (c ^ phash).count_ones() > SAME_PICTURE_BITS) {
        out.push("display copy picture");
    }
    out
}

/// Perceptual hashes this many bits apart are still one picture (re-encoding moves a few).
const SAME_PICTURE_BITS: u32 = 10;
