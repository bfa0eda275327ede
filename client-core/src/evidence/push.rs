//! The message a device signs for each push batch. It binds the batch to the device's actor
//! (so another device cannot present it), to the server it was meant for (so it cannot be
//! replayed to another server), to the device's clock at sending, and to the exact changes: each
//! record's id and the Automerge hashes of the changes pushed for it, in request order.
//!
//! ```text
//! bukti-push/1
//! server <server public key, hex>
//! device <actor id, hex>
//! time <device clock, Unix milliseconds>
//! record <record id> <change hash>,<change hash>,...
//! ```
//!
//! One `record` line per pushed record; every line ends with `\n`.

use super::{SignatureError, field};
use crate::RecordId;

const HEADER: &str = "bukti-push/1";

/// What a push signature covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedPush {
    pub server_key: String,
    pub device: String,
    pub time_ms: i64,
    /// Each pushed record with the hashes of its changes, in request order.
    pub records: Vec<(RecordId, Vec<String>)>,
}

impl SignedPush {
    /// The exact text the device signs.
    pub fn message(&self) -> String {
        let mut m = format!(
            "{HEADER}\nserver {}\ndevice {}\ntime {}\n",
            self.server_key, self.device, self.time_ms
        );
        for (id, hashes) in &self.records {
            m.push_str(&format!("record {id} {}\n", hashes.join(",")));
        }
        m
    }

    /// Reads a message back (from an evidence pack or the server's store).
    pub fn parse(message: &str) -> Result<Self, SignatureError> {
        let malformed = SignatureError::Malformed {
            what: "signed push",
            expected: "in the bukti-push/1 layout",
        };
        let body = message.strip_suffix('\n').ok_or(malformed.clone())?;
        let mut lines = body.split('\n');
        if lines.next() != Some(HEADER) {
            return Err(malformed);
        }
        let server_key = field(lines.next(), "server")?.to_owned();
        let device = field(lines.next(), "device")?.to_owned();
        let time_ms = field(lines.next(), "time")?
            .parse()
            .map_err(|_| malformed.clone())?;
        let mut records = Vec::new();
        for line in lines {
            let (id, hashes) = field(Some(line), "record")?
                .split_once(' ')
                .ok_or(malformed.clone())?;
            let id: RecordId = id.parse().map_err(|_| malformed.clone())?;
            let hashes = hashes.split(',').map(str::to_owned).collect();
            records.push((id, hashes));
        }
        let parsed = Self {
            server_key,
            device,
            time_ms,
            records,
        };
        // Only the canonical text is accepted, so one batch has exactly one message.
        if parsed.message() == message {
            Ok(parsed)
        } else {
            Err(malformed)
        }
    }
}
