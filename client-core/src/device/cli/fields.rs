//! The record flags `capture` and `edit` share, and how they become a [`Capture`] or an edit.

use std::collections::BTreeSet;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};
use jiff::Timestamp;

use crate::{
    device::Capture,
    record::{Location, Record, Status},
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LocationSource {
    Gps,
    Network,
    Manual,
}

impl LocationSource {
    fn as_str(self) -> &'static str {
        match self {
            LocationSource::Gps => "gps",
            LocationSource::Network => "network",
            LocationSource::Manual => "manual",
        }
    }
}

/// Record fields an officer may set; every flag is optional.
#[derive(Debug, Clone, Default, Args)]
pub struct FieldArgs {
    /// What happened, in the officer's words.
    #[arg(long)]
    pub narrative: Option<String>,
    /// When the activity started: RFC 3339 (2025-03-14T09:30:00+08:00) or `now`.
    #[arg(long, value_parser = parse_time)]
    pub start: Option<Timestamp>,
    /// When the activity ended: RFC 3339 or `now`.
    #[arg(long, value_parser = parse_time)]
    pub end: Option<Timestamp>,
    /// Latitude in decimal degrees (Bali is about -8.3); give --lon too.
    #[arg(long, allow_negative_numbers = true)]
    pub lat: Option<f64>,
    /// Longitude in decimal degrees (Bali is about 115.1); give --lat too.
    #[arg(long, allow_negative_numbers = true)]
    pub lon: Option<f64>,
    /// Horizontal accuracy of the position, in metres.
    #[arg(long)]
    pub accuracy: Option<f64>,
    /// Where the position came from [default when typed in: manual].
    #[arg(long, value_enum)]
    pub location_source: Option<LocationSource>,
    /// Place name (village, building), e.g. "Balai Desa Sudaji".
    #[arg(long)]
    pub place: Option<String>,
    /// Number of members of the public served.
    #[arg(long)]
    pub people_served: Option<u64>,
    /// Number of participants (officers and others) in the activity.
    #[arg(long)]
    pub participants: Option<u64>,
    /// Services delivered, TYPE=COUNT (e.g. --service skck=3); repeat for more types.
    #[arg(long = "service", value_name = "TYPE=N", value_parser = parse_service)]
    pub services: Vec<(String, u64)>,
    /// LKE sub-indicator this activity evidences (e.g. --lke PP.P2); repeat for more.
    #[arg(long = "lke", value_name = "CODE")]
    pub lke: Vec<String>,
    /// Submit the record for review (otherwise it stays a draft).
    #[arg(long)]
    pub submit: bool,
}

fn parse_time(s: &str) -> Result<Timestamp, String> {
    let t = if s.eq_ignore_ascii_case("now") {
        Timestamp::now()
    } else {
        s.parse::<Timestamp>().map_err(|e| {
            format!("{e}; use RFC 3339 with an offset, e.g. 2025-03-14T09:30:00+08:00, or `now`")
        })?
    };
    // Documents keep milliseconds; truncating here keeps what is shown equal to what is stored.
    Timestamp::from_millisecond(t.as_millisecond()).map_err(|e| e.to_string())
}

fn parse_service(s: &str) -> Result<(String, u64), String> {
    let (code, n) = s
        .split_once('=')
        .ok_or_else(|| format!("expected TYPE=COUNT, e.g. skck=3, got {s:?}"))?;
    let n = n
        .trim()
        .parse()
        .map_err(|_| format!("the count in {s:?} is not a whole number"))?;
    Ok((code.trim().to_owned(), n))
}

impl FieldArgs {
    /// The position the flags give, if any, on top of `current`.
    fn location(&self, current: Option<&Location>) -> anyhow::Result<Option<Location>> {
        let point = match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => Some((lat, lon)),
            (None, None) => None,
            _ => bail!("give both --lat and --lon"),
        };
        let touched = point.is_some() || self.accuracy.is_some() || self.location_source.is_some();
        if !touched {
            return Ok(current.cloned());
        }
        let (lat, lon) = match (point, current) {
            (Some(p), _) => p,
            (None, Some(loc)) => (loc.lat, loc.lon),
            (None, None) => {
                bail!("--accuracy and --location-source need a position: add --lat and --lon")
            }
        };
        let keep = current.filter(|_| point.is_none());
        Ok(Some(Location {
            lat,
            lon,
            accuracy_m: self.accuracy.or(keep.and_then(|l| l.accuracy_m)),
            source: match (self.location_source, keep) {
                (Some(s), _) => s.as_str().to_owned(),
                (None, Some(loc)) => loc.source.clone(),
                (None, None) => LocationSource::Manual.as_str().to_owned(),
            },
        }))
    }

    pub fn into_capture(self, kind: String, title: String) -> anyhow::Result<Capture> {
        let location = self.location(None)?;
        Ok(Capture {
            kind,
            title,
            narrative: self.narrative.unwrap_or_default(),
            started_at: self.start,
            ended_at: self.end,
            location,
            place: self.place.unwrap_or_default(),
            people_served: self.people_served,
            participants: self.participants,
            services: self.services.into_iter().collect(),
            lke: self.lke.into_iter().collect::<BTreeSet<_>>(),
            submit: self.submit,
        })
    }

    /// Applies the flags that were given to `record`; others stay as they are.
    pub fn apply(&self, record: &mut Record) -> anyhow::Result<()> {
        record.location = self
            .location(record.location.as_ref())
            .context("cannot change the location")?;
        if let Some(v) = &self.narrative {
            record.narrative.clone_from(v);
        }
        if let Some(v) = self.start {
            record.started_at = Some(v);
        }
        if let Some(v) = self.end {
            record.ended_at = Some(v);
        }
        if let Some(v) = &self.place {
            record.place.clone_from(v);
        }
        if let Some(v) = self.people_served {
            record.counts.people_served = Some(v);
        }
        if let Some(v) = self.participants {
            record.counts.participants = Some(v);
        }
        for (code, n) in &self.services {
            record.counts.services.insert(code.clone(), *n);
        }
        record.lke.extend(self.lke.iter().cloned());
        if self.submit {
            record.status = Status::Submitted;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_and_times_parse_with_helpful_errors() {
        assert_eq!(parse_service("skck=3"), Ok(("skck".into(), 3)));
        assert!(parse_service("skck").is_err());
        assert!(parse_service("skck=three").is_err());
        let t = parse_time("2025-03-14T09:30:00.1234+08:00").expect("rfc 3339");
        assert_eq!(t.as_millisecond() % 1000, 123);
        assert!(parse_time("14/03/2025").is_err());
    }

    #[test]
    fn a_typed_position_defaults_to_manual_and_edits_keep_what_was_not_given() {
        let args = FieldArgs {
            lat: Some(-8.1),
            lon: Some(115.1),
            ..FieldArgs::default()
        };
        let loc = args.location(None).expect("both").expect("some");
        assert_eq!((loc.source.as_str(), loc.accuracy_m), ("manual", None));

        let gps = Location {
            lat: -8.0,
            lon: 115.0,
            accuracy_m: Some(5.0),
            source: "gps".into(),
        };
        let accuracy_only = FieldArgs {
            accuracy: Some(20.0),
            ..FieldArgs::default()
        };
        let loc = accuracy_only
            .location(Some(&gps))
            .expect("ok")
            .expect("some");
        assert_eq!(
            (loc.lat, loc.accuracy_m, loc.source.as_str()),
            (-8.0, Some(20.0), "gps")
        );
        assert!(accuracy_only.location(None).is_err());
        let half = FieldArgs {
            lat: Some(1.0),
            ..FieldArgs::default()
        };
        assert!(half.location(None).is_err());
    }
}
