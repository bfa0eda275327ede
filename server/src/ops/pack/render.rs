//! The pack's printable pages and its CSV: `record.html` per record, and `index.html` and
//! `records.csv` over all of them, grown in temporary files while records are written and copied
//! into the zip at the end. Every value is escaped (HTML) or quoted and defused (CSV).

use std::{
    fmt::Write as _,
    fs::File,
    io::{BufWriter, Read, Seek, Write},
};

use bukti_core::{Record, evidence::log::LogEntry};

use super::{PackOptions, zipout::ZipOut};
use crate::ops::OpsError;

/// Text made safe inside HTML elements and attribute values.
pub(super) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A CSV cell: quoted, with quotes doubled, and a leading formula character neutralised.
fn cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    format!("\"{}\"", s.replace('"', "\"\""))
}

const STYLE: &str = "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}\
td,th{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top}\
table{border-collapse:collapse}</style>";

fn verdict(rec: &Record) -> &'static str {
    rec.review.verdict.map_or("", |v| v.as_str())
}

/// A record's printable page.
pub(super) fn record_html(rec: &Record, log: &[LogEntry]) -> String {
    let mut h = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{}</title>{STYLE}</head><body>\
         <h1>{}</h1><table>",
        esc(&rec.title),
        esc(&rec.title)
    );
    let location = rec
        .location
        .as_ref()
        .map(|l| format!("{}, {} ({})", l.lat, l.lon, l.source))
        .unwrap_or_default();
    let services: Vec<String> = rec
        .counts
        .services
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let rows = [
        ("Record", rec.id.to_string()),
        ("Unit", rec.unit.clone()),
        ("Officer (NRP)", rec.officer.clone()),
        ("Kind", rec.kind.clone()),
        (
            "Started",
            rec.started_at.map(|t| t.to_string()).unwrap_or_default(),
        ),
        (
            "Ended",
            rec.ended_at.map(|t| t.to_string()).unwrap_or_default(),
        ),
        ("Captured", rec.captured_at.to_string()),
        ("Place", rec.place.clone()),
        ("Location", location),
        (
            "People served",
            rec.counts
                .people_served
                .map(|n| n.to_string())
                .unwrap_or_default(),
        ),
        ("Services", services.join(", ")),
        (
            "LKE",
            rec.lke.iter().cloned().collect::<Vec<_>>().join(", "),
        ),
        ("Status", rec.status.as_str().to_owned()),
        ("Verdict", verdict(rec).to_owned()),
        (
            "Reason",
            rec.review.verdict_reason.clone().unwrap_or_default(),
        ),
    ];
    for (k, v) in rows {
        let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", esc(k), esc(&v));
    }
    let _ = write!(
        h,
        "</table><h2>Narrative</h2><p>{}</p><h2>Photos</h2><ul>",
        esc(&rec.narrative)
    );
    for (hash, p) in &rec.photos {
        let _ = write!(
            h,
            "<li>{} ({} bytes, {}, taken {})</li>",
            esc(hash),
            p.size,
            esc(&p.source),
            esc(&p.taken_at.map(|t| t.to_string()).unwrap_or_default())
        );
    }
    h.push_str("</ul><h2>Evidence log</h2><table><tr><th>Entry</th><th>Time (ms)</th><th>By</th><th>Hash</th></tr>");
    for e in log {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            e.seq,
            e.time_ms,
            esc(&e.by),
            esc(&e.hash)
        );
    }
    h.push_str("</table></body></html>\n");
    h
}

/// `index.html` and `records.csv`, growing in temporary files.
pub(super) struct SideFiles {
    index: BufWriter<File>,
    csv: BufWriter<File>,
}

impl std::fmt::Debug for SideFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SideFiles").finish_non_exhaustive()
    }
}

impl SideFiles {
    pub fn new() -> std::io::Result<Self> {
        let mut csv = BufWriter::new(tempfile::tempfile()?);
        csv.write_all(
            b"\xEF\xBB\xBFid,unit,officer,kind,title,started_at,captured_at,status,verdict,lke,photos,folder\r\n",
        )?;
        Ok(Self {
            index: BufWriter::new(tempfile::tempfile()?),
            csv,
        })
    }

    pub fn add(&mut self, rec: &Record, folders: &[String]) -> std::io::Result<()> {
        let folder = folders.first().map(String::as_str).unwrap_or_default();
        let lke = rec.lke.iter().cloned().collect::<Vec<_>>().join(" ");
        writeln!(
            self.index,
            "<tr><td><a href=\"{}/record.html\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(folder),
            esc(&rec.title),
            esc(&rec.unit),
            esc(&rec.kind),
            esc(&rec.started_at.unwrap_or(rec.captured_at).to_string()),
            esc(&lke),
            esc(verdict(rec)),
            rec.photos.len()
        )?;
        let cells = [
            rec.id.to_string(),
            rec.unit.clone(),
            rec.officer.clone(),
            rec.kind.clone(),
            rec.title.clone(),
            rec.started_at.map(|t| t.to_string()).unwrap_or_default(),
            rec.captured_at.to_string(),
            rec.status.as_str().to_owned(),
            verdict(rec).to_owned(),
            lke,
            rec.photos.len().to_string(),
            folder.to_owned(),
        ];
        let line: Vec<String> = cells.iter().map(|c| cell(c)).collect();
        write!(self.csv, "{}\r\n", line.join(","))
    }

    /// Copies both into the zip.
    pub fn finish(self, out: &mut ZipOut, opts: &PackOptions) -> Result<(), OpsError> {
        let head = format!(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>Evidence pack {unit}</title>{STYLE}</head><body>\
             <h1>Evidence pack: {unit}</h1><p>Period: {from} to {to}. Areas: {areas}. Check it with <code>bukti verify</code>.</p>\
             <table><tr><th>Record</th><th>Unit</th><th>Kind</th><th>When</th><th>LKE</th><th>Verdict</th><th>Photos</th></tr>\n",
            unit = esc(opts.unit.as_str()),
            from = opts
                .from
                .map(|t| t.to_string())
                .unwrap_or_else(|| "the start".into()),
            to = opts
                .to
                .map(|t| t.to_string())
                .unwrap_or_else(|| "now".into()),
            areas = esc(&if opts.areas.is_empty() {
                "all".to_owned()
            } else {
                opts.areas.join(", ")
            }),
        );
        out.start("index.html", true)?;
        out.write(head.as_bytes())?;
        copy(self.index, out)?;
        out.write(b"</table></body></html>\n")?;
        out.end()?;
        out.start("records.csv", true)?;
        copy(self.csv, out)?;
        out.end()
    }
}

fn copy(file: BufWriter<File>, out: &mut ZipOut) -> Result<(), OpsError> {
    let mut file = file.into_inner().map_err(|e| out.io(e.into_error()))?;
    file.rewind().map_err(|e| out.io(e))?;
    let mut buf = vec![0; 64 * 1024];
    loop {
        let n = file.read(&mut buf).map_err(|e| out.io(e))?;
        if n == 0 {
            return Ok(());
        }
        out.write(&buf[..n])?;
    }
}
