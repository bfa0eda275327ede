//! Times as the JSON API shows them: RFC 3339 in UTC (`2026-11-20T04:00:00.123Z`), the format of
//! a record view's own times. The stores keep Unix milliseconds (integers index and compare
//! cheaply), so their summaries serialize through this module: `#[serde(with = "rfc3339")]` on an
//! `i64` of milliseconds, `rfc3339::option` on an `Option<i64>`. Deserializing reads the string
//! back to the same milliseconds, so a client holding these types round-trips exactly.
//!
//! Times inside a signed message (`time_ms` of a push signature, receipt or log head) stay the
//! integer that was signed: the signature covers those digits.

use jiff::Timestamp;
use serde::{Deserialize, Deserializer, Serializer, de::Error as _, ser::Error as _};

/// The time of `ms` (Unix milliseconds) as RFC 3339, `None` outside jiff's range (±9999 years).
pub fn format(ms: i64) -> Option<String> {
    Timestamp::from_millisecond(ms).ok().map(|t| t.to_string())
}

pub fn serialize<S: Serializer>(ms: &i64, s: S) -> Result<S::Ok, S::Error> {
    let text = format(*ms).ok_or_else(|| S::Error::custom(format!("time {ms} ms out of range")))?;
    s.serialize_str(&text)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    let text = String::deserialize(d)?;
    text.parse::<Timestamp>()
        .map(|t| t.as_millisecond())
        .map_err(|e| D::Error::custom(format!("{text:?} is not an RFC 3339 time: {e}")))
}

/// The same for an optional time (`null` when absent).
pub mod option {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(ms: &Option<i64>, s: S) -> Result<S::Ok, S::Error> {
        match ms {
            Some(ms) => super::serialize(ms, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                super::deserialize(serde::de::value::StringDeserializer::<D::Error>::new(text))
            })
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Times {
        #[serde(with = "super")]
        at: i64,
        #[serde(with = "super::option")]
        until: Option<i64>,
    }

    #[test]
    fn milliseconds_round_trip_through_rfc3339() {
        let times = Times {
            at: 1_763_611_200_123,
            until: None,
        };
        let json = serde_json::to_value(&times).expect("serialize");
        assert_eq!(
            json,
            serde_json::json!({"at": "2025-11-20T04:00:00.123Z", "until": null})
        );
        let back: Times = serde_json::from_value(json).expect("deserialize");
        assert_eq!(back, times);
        let whole: Times = serde_json::from_value(
            serde_json::json!({"at": "2025-11-20T12:00:00+08:00", "until": "1970-01-01T00:00:00Z"}),
        )
        .expect("offset");
        assert_eq!((whole.at, whole.until), (1_763_611_200_000, Some(0)));
    }
}
