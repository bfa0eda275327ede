//! Human-readable output of the CLI: tables and views as plain text. A record's times are in
//! its unit's zone (WITA for Bali: `2026-11-27 09:00 WITA`), the device's own in the system's.

use std::fmt::Write;

use jiff::{Timestamp, tz::TimeZone};

use crate::{
    catalogue::Catalogue,
    device::{DeviceStatus, RecordSummary, SyncReport, SyncState},
    record::{
        Record,
        workflow::{State, Workflow},
    },
    unit::UnitPath,
};

fn time(t: Timestamp) -> String {
    t.to_zoned(TimeZone::system())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

/// `t` in the time zone of the unit at `unit` (the system's when the path is not one).
fn time_in(unit: &str, t: Timestamp) -> String {
    UnitPath::parse(unit).map_or_else(|_| time(t), |u| u.time_zone().format(t))
}

/// Whether the server has signed for this device's copy of a record (`docs/evidence.md`).
pub fn receipt(unit: &str, receipt: Option<&crate::device::ReceiptStatus>) -> String {
    let text = match receipt {
        None => "none yet: the server has not signed for this record (run `bukti sync`)".into(),
        Some(r) if r.covers_local => format!(
            "signed by the server at {} for this version (server key {}…)",
            time_in(unit, r.at),
            &r.server_key[..r.server_key.len().min(16)]
        ),
        Some(r) => format!(
            "signed by the server at {} for an earlier version; run `bukti sync` for this one",
            time_in(unit, r.at)
        ),
    };
    format!("{:<15} {text}", "Receipt")
}

/// The state as the officer reads it: what it means and who acts next.
fn state_label(state: State) -> &'static str {
    match state {
        State::Captured => "captured (the Polsek operator curates it next)",
        State::Ready => "ready (the Kapolsek forwards it next)",
        State::Forwarded => "forwarded (the Polres reviews it)",
        State::Verified => "verified",
        State::NeedsRevision => "needs revision (edit the record, then sync)",
        State::Revised => "revised (the Polres reviews it again)",
        State::Rejected => "rejected",
    }
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
        "{:<36}  {:<21}  {:<18}  {:<9}  {:<14}  {:<14}  {:<7}  TITLE\n",
        "ID", "WHEN", "KIND", "STATUS", "STATE", "VERDICT", "SYNC"
    );
    for r in records {
        let sync = match &r.sync {
            SyncState::Synced => "synced",
            SyncState::Waiting { .. } => "waiting",
            SyncState::Held { .. } => "HELD",
        };
        let _ = writeln!(
            out,
            "{:<36}  {:<21}  {:<18}  {:<9}  {:<14}  {:<14}  {:<7}  {}",
            r.id,
            time_in(&r.unit, r.started_at.unwrap_or(r.captured_at)),
            r.kind,
            r.status,
            r.state,
            r.verdict.as_deref().unwrap_or("-"),
            sync,
            r.title
        );
    }
    out
}

/// One record with its review: state, verdict and reason, who curated and forwarded it, what
/// changed after the verdict, and the comment thread.
pub fn record(r: &Record, sync: Option<&SyncState>, workflow: Option<&Workflow>) -> String {
    let catalogue = Catalogue::builtin();
    let time = |t: Timestamp| time_in(&r.unit, t);
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
    let rv = &r.review;
    let step = |by: &Option<String>, at: Option<Timestamp>| {
        let at = at.map_or(String::new(), |t| format!(" at {}", time(t)));
        format!("by {}{at}", by.as_deref().unwrap_or("?"))
    };
    if let Some(w) = workflow {
        line("State", state_label(w.state));
    }
    if rv.ready_by.is_some() || rv.ready_at.is_some() {
        line("Ready", &step(&rv.ready_by, rv.ready_at));
    }
    if rv.forwarded_by.is_some() || rv.forwarded_at.is_some() {
        line("Forwarded", &step(&rv.forwarded_by, rv.forwarded_at));
    }
    let verdict = rv.verdict.map_or("not given yet".into(), |v| {
        format!("{} {}", v.as_str(), step(&rv.verdict_by, rv.verdict_at))
    });
    line("Verdict", &verdict);
    if let Some(reason) = &rv.verdict_reason {
        line("Reason", reason);
    }
    if let Some(w) = workflow.filter(|w| !w.edited_after_verdict.is_empty()) {
        let what = w.edited_after_verdict.join(", ");
        line("After verdict", &format!("edited: {what}"));
    }
    if !r.narrative.is_empty() {
        let _ = write!(out, "\nNarrative:\n{}\n", r.narrative);
    }
    if !rv.comments.is_empty() {
        out.push_str("\nComments:\n");
        for c in &rv.comments {
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
    if !report.evidence_problems.is_empty() {
        let _ = writeln!(
            out,
            "\nWARNING: the server's evidence does not check out; tell your Kapolsek and HQ:"
        );
        for p in &report.evidence_problems {
            let _ = writeln!(out, "  {p}");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::{Comment, Verdict};

    #[test]
    fn a_record_shows_its_review_in_the_units_time() {
        let mut r = Record::new("bali/buleleng/sawan", "87010123", "sambang", "Sambang");
        let at: Timestamp = "2026-11-28T01:30:00Z".parse().expect("time");
        r.review.ready_by = Some("Bripka Sari".into());
        r.review.ready_at = Some(at);
        r.review.forwarded_by = Some("Kapolsek Sawan".into());
        r.review.forwarded_at = Some(at);
        r.review.verdict = Some(Verdict::NeedsRevision);
        r.review.verdict_by = Some("Kasat Binmas".into());
        r.review.verdict_at = Some(at);
        r.review.verdict_reason = Some("Lengkapi daftar hadir".into());
        r.review.comments.push(Comment {
            id: "c1".into(),
            author: "Kasat Binmas".into(),
            at,
            text: "Foto peserta kurang".into(),
        });
        let workflow = Workflow {
            state: State::Revised,
            edited_after_verdict: vec!["counts.participants".into()],
        };
        let shown = record(&r, Some(&SyncState::Synced), Some(&workflow));
        for expected in [
            "State           revised (the Polres reviews it again)",
            "Ready           by Bripka Sari at 2026-11-28 09:30 WITA",
            "Forwarded       by Kapolsek Sawan at 2026-11-28 09:30 WITA",
            "Verdict         needs_revision by Kasat Binmas at 2026-11-28 09:30 WITA",
            "Reason          Lengkapi daftar hadir",
            "After verdict   edited: counts.participants",
            "  [2026-11-28 09:30 WITA] Kasat Binmas: Foto peserta kurang",
        ] {
            assert!(
                shown.contains(expected),
                "{expected:?} missing from\n{shown}"
            );
        }
    }
}
