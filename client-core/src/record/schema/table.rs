//! The table itself: every field of the record document, with the reusable parts (location,
//! counts, photos, review) it is built from.

use super::{Field, Kind, Text};
use crate::record::validate::{
    MAX_COMMENT, MAX_COUNT, MAX_NARRATIVE, MAX_PHOTO_TEXT, MAX_PLACE, MAX_TITLE,
};

const SHA256: &str = "^[0-9a-f]{64}$";
const COUNT: Kind = Kind::Uint {
    max: Some(MAX_COUNT),
};
const LAT: Kind = Kind::F64 {
    min: -90.0,
    max: 90.0,
};
const LON: Kind = Kind::F64 {
    min: -180.0,
    max: 180.0,
};

const LOCATION: &[Field] = &[
    Field::new("lat", LAT, "Latitude, WGS 84 degrees.").required(),
    Field::new("lon", LON, "Longitude, WGS 84 degrees.").required(),
    Field::new(
        "accuracy_m",
        Kind::F64 {
            min: 0.0,
            max: 100_000.0,
        },
        "Horizontal accuracy radius in metres, as the positioning source reported it.",
    ),
    Field::new(
        "source",
        Kind::Str(Text::one_of(&["gps", "network", "manual"])),
        "Where the position came from.",
    )
    .required(),
];

const COUNTS: &[Field] = &[
    Field::new("people_served", COUNT, "Members of the public served."),
    Field::new(
        "participants",
        COUNT,
        "Participants (socialisation, meetings).",
    ),
    Field::new(
        "services",
        Kind::MapOf {
            key: "service type code",
            key_catalogue: Some("service_types"),
            value: &COUNT,
        },
        "Services delivered, by service type code (`skck` → 3). One key per type, so two \
         devices' counts of different types merge.",
    )
    .container(),
];

const RENDITION: &[Field] = &[
    Field::new(
        "hash",
        Kind::Str(Text::pattern(SHA256)),
        "SHA-256 of the rendition's bytes, lowercase hex.",
    )
    .required(),
    Field::new("size", Kind::Uint { max: None }, "Bytes.").required(),
    Field::new("width", Kind::Uint { max: None }, "Pixels, non-zero.").required(),
    Field::new("height", Kind::Uint { max: None }, "Pixels, non-zero.").required(),
];

const GPS: &[Field] = &[
    Field::new("lat", LAT, "Latitude from EXIF.").required(),
    Field::new("lon", LON, "Longitude from EXIF.").required(),
];

const PHOTO: &[Field] = &[
    Field::new("size", Kind::Uint { max: None }, "Bytes of the original.").required(),
    Field::new(
        "content_type",
        Kind::Str(Text::one_of(&["image/jpeg", "image/png"])),
        "Media type of the original.",
    )
    .required(),
    Field::new(
        "source",
        Kind::Str(Text::one_of(&["camera", "gallery"])),
        "Taken in the app, or imported from the gallery (weaker evidence).",
    )
    .required(),
    Field::new(
        "taken_at",
        Kind::Timestamp,
        "EXIF time the photo was taken.",
    ),
    Field::new("gps", Kind::Map(GPS), "EXIF position."),
    Field::new(
        "camera",
        Kind::Str(Text::max(MAX_PHOTO_TEXT)),
        "EXIF make and model; empty when absent.",
    ),
    Field::new(
        "software",
        Kind::Str(Text::max(MAX_PHOTO_TEXT)),
        "EXIF software tag; empty when absent.",
    ),
    Field::new(
        "phash",
        Kind::Str(Text::max(MAX_PHOTO_TEXT)),
        "64-bit perceptual hash of the derivative, 16 hex digits.",
    ),
    Field::new(
        "derivative",
        Kind::Map(RENDITION),
        "The display JPEG (long edge ≤ 1600 px, no EXIF).",
    ),
    Field::new(
        "thumbnail",
        Kind::Map(RENDITION),
        "The list thumbnail (≤ 320 px, no EXIF).",
    ),
];

const PERSON: Text = Text::any();

const COMMENT: &[Field] = &[
    Field::new("id", Kind::Str(Text::any()), "Unique within the thread.").required(),
    Field::new("author", Kind::Str(PERSON), "Name of the writer.").required(),
    Field::new("at", Kind::Timestamp, "When it was written.").required(),
    Field::new(
        "text",
        Kind::Str(Text {
            multiline: true,
            ..Text::max(MAX_COMMENT)
        }),
        "The comment.",
    )
    .required(),
];

const REVIEW: &[Field] = &[
    Field::new(
        "verdict",
        Kind::Str(Text::one_of(&["valid", "needs_revision", "rejected"])),
        "The Polres's verdict (`valid` is the verified state).",
    )
    .hq(),
    Field::new("verdict_by", Kind::Str(PERSON), "Who gave the verdict.").hq(),
    Field::new("verdict_at", Kind::Timestamp, "When.").hq(),
    Field::new(
        "verdict_reason",
        Kind::Str(Text {
            multiline: true,
            ..Text::max(MAX_COMMENT)
        }),
        "Why the record needs revision or was rejected.",
    )
    .hq(),
    Field::new(
        "ready_by",
        Kind::Str(PERSON),
        "The Polsek operator who marked it ready.",
    )
    .hq(),
    Field::new("ready_at", Kind::Timestamp, "When.").hq(),
    Field::new(
        "forwarded_by",
        Kind::Str(PERSON),
        "The Kapolsek who forwarded it to the Polres.",
    )
    .hq(),
    Field::new("forwarded_at", Kind::Timestamp, "When.").hq(),
    Field::new(
        "comments",
        Kind::ListOf(&Kind::Map(COMMENT)),
        "The comment thread, append-only.",
    )
    .hq(),
];

/// The fields of a record document's root map.
pub const RECORD: &[Field] = &[
    Field::new(
        "id",
        Kind::Str(Text::pattern(
            "^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$",
        )),
        "The record's UUID (Bukti makes UUIDv7), lowercase with hyphens; the id it is pushed \
         under.",
    )
    .required(),
    Field::new(
        "schema",
        Kind::Uint { max: None },
        "Schema version of the writer (this is version 1).",
    )
    .required(),
    Field::new(
        "unit",
        Kind::Str(Text::pattern("^[a-z0-9-]+(/[a-z0-9-]+)*$")),
        "Unit path the record was captured in, e.g. `bali/buleleng/sawan`; inside the device's \
         unit, never changed.",
    )
    .required(),
    Field::new(
        "officer",
        Kind::Str(Text::pattern("^[0-9]{8,18}$")),
        "NRP (8 digits) or NIP (18 digits) of the officer who captured it: the device's \
         officer; never changed.",
    )
    .required(),
    Field::new(
        "kind",
        Kind::Str(Text {
            catalogue: Some("activity_kinds"),
            ..Text::any()
        }),
        "Activity kind code.",
    )
    .required(),
    Field::new(
        "title",
        Kind::Str(Text::max(MAX_TITLE)),
        "Short title, not blank.",
    )
    .required(),
    Field::new(
        "narrative",
        Kind::Str(Text {
            multiline: true,
            ..Text::max(MAX_NARRATIVE)
        }),
        "What happened (last writer wins on concurrent rewrites).",
    ),
    Field::new(
        "place",
        Kind::Str(Text::max(MAX_PLACE)),
        "Place name; a location or a place is required before submitting.",
    ),
    Field::new(
        "status",
        Kind::Str(Text::one_of(&["draft", "submitted"])),
        "`draft` when absent.",
    ),
    Field::new(
        "captured_at",
        Kind::Timestamp,
        "When the device created the record (device clock); never changed.",
    )
    .required(),
    Field::new(
        "started_at",
        Kind::Timestamp,
        "When the activity started; required before submitting.",
    ),
    Field::new(
        "ended_at",
        Kind::Timestamp,
        "When it ended; not before `started_at`.",
    ),
    Field::new("location", Kind::Map(LOCATION), "Where it took place."),
    Field::new("counts", Kind::Map(COUNTS), "How many.").container(),
    Field::new(
        "lke",
        Kind::MapOf {
            key: "LKE sub-indicator code",
            key_catalogue: Some("lke_areas[].sub_indicators"),
            value: &Kind::True,
        },
        "LKE sub-indicators the activity evidences, as a set: code → true.",
    )
    .container(),
    Field::new(
        "photos",
        Kind::MapOf {
            key: "SHA-256 of the original photo's bytes, lowercase hex",
            key_catalogue: None,
            value: &Kind::Map(PHOTO),
        },
        "Photos by hash; each entry is written once, whole, at capture.",
    )
    .container(),
    Field::new(
        "review",
        Kind::Map(REVIEW),
        "The two-level review, written only by HQ; a device creates it empty.",
    )
    .container(),
];
