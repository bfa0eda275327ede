//! Human-readable output of the CLI: tables and views as plain text, times in the device's time
//! zone (WIB, WITA or WIT as the system is set).

use std::fmt::Write;

use jiff::{Timestamp, tz::TimeZone};

use crate::{
    catalogue::Catalogue,
    device::{DeviceStatus, RecordSummary, SyncReport, SyncState},
    record::Record,
};

fn time(t: Timestamp) -> String {
    t.to_zoned(TimeZone::system())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

fn sync_label(sync: &SyncState) -> String {
    match sync {
        SyncState::Synced => "synced".into(),
        SyncState::Waiting { last_error: None } => "waiting".into(),
        SyncState::Waiting {
            last_error: Some(e),
        } => format!("waiting (last attempt: {e})"),
        SyncState::Held { code, reason } => format!("HELD {code}: {reason}"),
    }
}

pub fn list(records: &[RecordSummary]) -> String {
    if records.is_empty() {
        return "No records yet: `bukti capture --help` shows how to capture one.\n".into();
    }
    let mut out = format!(
        "{:<36}  {:<20}  {:<18}  {:<9}  {:<14}  {:<7}  TITLE\n",
        "ID", "WHEN", "KIND", "STATUS", "VERDICT", "SYNC"
    );
    for r in records {
        let sync = match &r.sync {
            SyncState::Synced => "synced",
            SyncState::Waiting { .. } => "waiting",
            SyncState::Held { .. } => "HELD",
        };
        let _ = writeln!(
            out,
            "{:<36}  {:<20}  {:<18}  {:<9}  {:<14}  {:<7}  {}",
            r.id,
            time(r.started_at.unwrap_or(r.captured_at)),
            r.kind,
            r.status,
            r.verdict.as_deref().unwrap_or("-"),
            sync,
            r.title
        );
    }
    out
}

pub fn record(r: &Record, sync: Option<&SyncState>) -> String {
    let catalogue = Catalogue::builtin();
    let mut out = String::new();
    let mut line = |label: &str, value: &str| {
        let _ = writeln!(out, "{label:<15} {value}");
    };
    let kind_name = catalogue
        .activity_kind(&r.kind)
        .map_or(String::new(), |k| format!(" ({})", k.name));
    line("Id", &r.id.to_string());
    line("Title", &r.title);
    line("Kind", &format!("{}{kind_name}", r.kind));
    line("Status", r.status.as_str());
    line("Unit", &r.unit);
    line("Officer", &r.officer);
    line("Captured", &time(r.captured_at));
    line("Started", &r.started_at.map_or("-".into(), time));
    line("Ended", &r.ended_at.map_or("-".into(), time));
    let location = r.location.as_ref().map_or("-".into(), |l| {
        let accuracy = l.accuracy_m.map_or(String::new(), |a| format!(" ±{a} m"));
        format!("{}, {} ({}{accuracy})", l.lat, l.lon, l.source)
    });
    line("Location", &location);
    line("Place", if r.place.is_empty() { "-" } else { &r.place });
    let count = |n: Option<u64>| n.map_or("-".into(), |n| n.to_string());
    line("People served", &count(r.counts.people_served));
    line("Participants", &count(r.counts.participants));
    let services: Vec<String> = r
        .counts
        .services
        .iter()
        .map(|(code, n)| format!("{code}={n}"))
        .collect();
    line("Services", &none_if_empty(&services.join(", ")));
    let lke: Vec<&str> = r.lke.iter().map(String::as_str).collect();
    line("LKE", &none_if_empty(&lke.join(", ")));
    line("Photos", &r.photos.len().to_string());
    line("Sync", &sync.map_or("unknown".into(), sync_label));
    let verdict = r.review.verdict.map_or("not reviewed yet".into(), |v| {
        let by = r.review.verdict_by.as_deref().unwrap_or("?");
        let at = r
            .review
            .verdict_at
            .map_or(String::new(), |t| format!(" at {}", time(t)));
        format!("{} by {by}{at}", v.as_str())
    });
    line("Review", &verdict);
    if !r.narrative.is_empty() {
        let _ = write!(out, "\nNarrative:\n{}\n", r.narrative);
    }
    if !r.review.comments.is_empty() {
        out.push_str("\nReview comments:\n");
        for c in &r.review.comments {
            let _ = writeln!(out, "  [{}] {}: {}", time(c.at), c.author, c.text);
        }
    }
    out
}

fn none_if_empty(s: &str) -> String {
    if s.is_empty() { "-".into() } else { s.into() }
}

pub fn report(report: &SyncReport) -> String {
    let mut out = format!(
        "Pushed {} record(s) ({} already on the server); pulled {} ({} new, {} updated).\n",
        report.pushed, report.unchanged, report.pulled, report.new, report.merged
    );
    if !report.rejected.is_empty() {
        let _ = writeln!(
            out,
            "\n{} record(s) were refused by the server; fix them with `bukti edit ID`:",
            report.rejected.len()
        );
        for r in &report.rejected {
            let _ = writeln!(out, "  {}  {:?}: {}", r.id, r.code, r.reason);
            for p in &r.problems {
                let _ = writeln!(out, "      - {}: {}", p.path, p.message);
            }
        }
    }
    if report.photos_uploaded > 0 || report.photo_bytes_sent > 0 {
        let _ = writeln!(
            out,
            "Uploaded {} photo file(s) ({}).",
            report.photos_uploaded,
            bytes(report.photo_bytes_sent)
        );
    }
    if !report.photo_problems.is_empty() {
        let _ = writeln!(
            out,
            "\n{} photo file(s) wait for a later sync:",
            report.photo_problems.len()
        );
        for p in &report.photo_problems {
            let _ = writeln!(out, "  {}  {}", &p.hash[..p.hash.len().min(12)], p.reason);
        }
    }
    if !report.skipped.is_empty() {
        let _ = writeln!(
            out,
            "\n{} record(s) from the server could not be merged:",
            report.skipped.len()
        );
        for (id, reason) in &report.skipped {
            let _ = writeln!(out, "  {id}  {reason}");
        }
    }
    out
}

pub fn status(s: &DeviceStatus) -> String {
    let mut out = String::new();
    match &s.registration {
        None => out.push_str(
            "Not enrolled: run `bukti enroll --server URL --code CODE` with the code from your Kapolsek.\n",
        ),
        Some(r) => {
            let _ = writeln!(out, "Server     {}", r.server_url);
            let _ = writeln!(out, "Officer    {}", r.officer);
            let _ = writeln!(out, "Unit       {}", r.unit);
            let _ = writeln!(out, "Device     {} ({})", r.device_name, r.device_id);
        }
    }
    let last = s.last_sync_at.map_or("never".into(), time);
    let _ = writeln!(out, "Records    {}", s.records_total);
    let _ = writeln!(
        out,
        "Waiting    {} (sent on the next `bukti sync`)",
        s.waiting
    );
    let p = &s.photos;
    let _ = writeln!(
        out,
        "Photos     {} file(s), {} waiting to upload; {} original(s) HQ asked for ({})",
        p.renditions_waiting,
        bytes(p.rendition_bytes_waiting),
        p.originals_requested,
        bytes(p.original_bytes_requested)
    );
    let _ = writeln!(
        out,
        "Originals  {} kept on this device ({}){}",
        p.originals_kept,
        bytes(p.original_bytes_kept),
        if p.with_errors > 0 {
            format!("; {} file(s) failed their last upload", p.with_errors)
        } else {
            String::new()
        }
    );
    let _ = writeln!(out, "Last sync  {last} (pull cursor {})", s.pull_cursor);
    if !s.held.is_empty() {
        let _ = writeln!(
            out,
            "\n{} record(s) held after the server refused them; `bukti edit ID` releases them:",
            s.held.len()
        );
        for h in &s.held {
            let _ = writeln!(out, "  {}  {}  {}: {}", h.id, h.title, h.code, h.reason);
        }
    }
    out
}

pub fn kinds() -> String {
    let c = Catalogue::builtin();
    let mut out = format!(
        "Catalogue: {}\n\nActivity kinds (--kind):\n",
        c.edition_title
    );
    for k in &c.activity_kinds {
        let _ = writeln!(
            out,
            "  {:<22} {}  [LKE: {}]",
            k.code,
            k.name,
            k.default_lke.join(", ")
        );
    }
    out.push_str("\nService types (--service TYPE=N):\n");
    for s in &c.service_types {
        let _ = writeln!(out, "  {:<22} {}", s.code, s.name);
    }
    out.push_str("\nLKE sub-indicators (--lke CODE):\n");
    for area in &c.lke_areas {
        let _ = writeln!(
            out,
            "  {} {} (weight {})",
            area.code, area.name, area.weight
        );
        for sub in &area.sub_indicators {
            let _ = writeln!(out, "    {:<8} {} ({})", sub.code, sub.name, sub.part);
        }
    }
    out
}

/// Bytes for people: `812 B`, `3.4 MiB`.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}
