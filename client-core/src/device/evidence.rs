//! Verifiable evidence on the device (`docs/evidence.md`). Every push is signed with the key
//! made at enrollment, for the server key pinned then; the receipts the server answers with and
//! the signed heads of its evidence log are checked against that key as they arrive and kept
//! after the sync. A head showing the server's log cut short or rewritten since this device last
//! saw it is not kept: it is reported, so the officer and HQ can act on it.

use std::sync::Mutex;

use ed25519_dalek::SigningKey;

use crate::{
    evidence::{
        self,
        log::{HeadConflict, SignedHead, check_head},
        push::SignedPush,
        receipt::Receipt,
    },
    protocol::{PullResponse, PushRequest, PushResponse, PushSignature},
};

/// The device's side of one sync: what it signs with, and what it has seen come back.
pub(crate) struct Evidence {
    key: SigningKey,
    actor: String,
    server_key: String,
    seen: Mutex<Seen>,
}

/// What the answers of one sync carried, checked.
#[derive(Debug, Default)]
pub(crate) struct Seen {
    pub receipts: Vec<Receipt>,
    /// The newest log head that checked out.
    pub head: Option<SignedHead>,
    /// Answers whose signatures did not check out, said plainly.
    pub problems: Vec<String>,
}

impl Evidence {
    pub(crate) fn new(key: SigningKey, actor: &str, server_key: &str) -> Self {
        Self {
            key,
            actor: actor.to_lowercase(),
            server_key: server_key.to_lowercase(),
            seen: Mutex::default(),
        }
    }

    /// `push` signed at the device's clock `time_ms`.
    pub(crate) fn sign(&self, push: &PushRequest, time_ms: i64) -> PushRequest {
        let message = SignedPush {
            server_key: self.server_key.clone(),
            device: self.actor.clone(),
            time_ms,
            records: push
                .records
                .iter()
                .map(|r| {
                    let hashes = r.changes.iter().map(|c| evidence::change_hash(c)).collect();
                    (r.id, hashes)
                })
                .collect(),
        }
        .message();
        PushRequest {
            records: push.records.clone(),
            signature: Some(PushSignature {
                server_key: self.server_key.clone(),
                time_ms,
                signature: evidence::sign(&self.key, &message),
            }),
        }
    }

    pub(crate) fn pushed(&self, answer: &PushResponse) {
        let Some(receipt) = &answer.receipt else {
            return;
        };
        let mut seen = self.seen.lock().expect("evidence lock");
        match receipt.verify(&self.server_key) {
            Ok(()) => seen.receipts.push(receipt.clone()),
            Err(e) => seen.problems.push(format!("a receipt was refused: {e}")),
        }
    }

    pub(crate) fn pulled(&self, page: &PullResponse) {
        let Some(head) = &page.log_head else {
            return;
        };
        let mut seen = self.seen.lock().expect("evidence lock");
        if !head.server_key.eq_ignore_ascii_case(&self.server_key) {
            seen.problems.push(format!(
                "the server's log head is signed with key {}, not the key {} this device trusts",
                head.server_key, self.server_key
            ));
        } else if let Err(e) = head.verify() {
            seen.problems
                .push(format!("the server's log head was refused: {e}"));
        } else if seen.head.as_ref().is_none_or(|h| h.seq <= head.seq) {
            seen.head = Some(head.clone());
        }
    }

    pub(crate) fn take(&self) -> Seen {
        std::mem::take(&mut self.seen.lock().expect("evidence lock"))
    }
}

/// Whether the head `now` may replace the head the device `kept`, given the hash the server now
/// gives for entry `kept.seq`; the problem to report when it may not.
pub(crate) fn follow(
    kept: Option<&SignedHead>,
    now: &SignedHead,
    entry_at_kept: Option<&str>,
) -> Result<(), HeadConflict> {
    match kept {
        None => Ok(()),
        Some(kept) => check_head(&kept.head(), &now.head(), entry_at_kept),
    }
}

/// Whether the server holds this device's copy of a record, by the newest receipt naming it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReceiptStatus {
    /// The receipt's heads cover every change this device has of the record.
    pub covers_local: bool,
    /// When the server signed it.
    pub at: jiff::Timestamp,
    /// The server key it checks out under.
    pub server_key: String,
}

impl super::Device {
    /// The evidence side of a sync: the device's key, its actor, and the server key pinned at
    /// enrollment (fetched and pinned at the first sync for a device enrolled before servers
    /// had keys).
    pub(super) async fn evidence(
        &self,
        transport: &super::SyncClient,
        within: std::time::Duration,
    ) -> Result<Evidence, super::DeviceError> {
        use super::key;
        let secret = self.store.meta(key::SIGNING_KEY).await?.unwrap_or_default();
        let secret: [u8; 32] = hex::decode(&secret)
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or_else(|| {
                super::DeviceError::Corrupt(
                    "this device's signing key is missing or damaged; enroll it again".into(),
                )
            })?;
        let actor = self.store.meta(key::ACTOR_ID).await?.unwrap_or_default();
        let server_key = match self
            .store
            .meta(key::SERVER_KEY)
            .await?
            .filter(|k| !k.is_empty())
        {
            Some(k) => k,
            None => {
                let k = transport.server_key(within).await?;
                let mut tx = self.store.begin().await?;
                tx.set_meta(key::SERVER_KEY, &k).await?;
                tx.commit().await?;
                k
            }
        };
        Ok(Evidence::new(
            SigningKey::from_bytes(&secret),
            &actor,
            &server_key,
        ))
    }

    /// Stores what a sync's answers carried: the receipts, and the newest log head once it is
    /// shown to extend the one kept. Returns the problems to report.
    pub(super) async fn keep_evidence(
        &self,
        evidence: &Evidence,
        transport: &super::SyncClient,
        within: std::time::Duration,
    ) -> Result<Vec<String>, super::DeviceError> {
        use super::key;
        let mut seen = evidence.take();
        let kept: Option<SignedHead> = self
            .store
            .meta(key::LOG_HEAD)
            .await?
            .and_then(|j| serde_json::from_str(&j).ok());
        let mut new_head = None;
        if let Some(now) = seen.head.take() {
            // The entry the kept head names must still be there, unchanged.
            let entry = match &kept {
                Some(k) if k.seq < now.seq && k.seq > 0 => {
                    transport.log_entry(k.seq, within).await.ok()
                }
                _ => None,
            };
            match follow(kept.as_ref(), &now, entry.as_deref()) {
                Ok(()) => new_head = Some(now),
                Err(conflict) => {
                    tracing::error!(%conflict, "the server's evidence log does not extend the head this device kept");
                    seen.problems.push(conflict.to_string());
                }
            }
        }
        let mut tx = self.store.begin().await?;
        for receipt in &seen.receipts {
            tx.put_receipt(receipt).await?;
        }
        if let Some(head) = new_head {
            let json = serde_json::to_string(&head).unwrap_or_default();
            tx.set_meta(key::LOG_HEAD, &json).await?;
        }
        tx.commit().await?;
        Ok(seen.problems)
    }

    /// Whether the server's newest receipt for `id` covers this device's copy.
    pub async fn receipt(
        &self,
        id: crate::RecordId,
    ) -> Result<Option<ReceiptStatus>, super::DeviceError> {
        let Some(receipt) = self.store.receipt(id).await? else {
            return Ok(None);
        };
        let heads = receipt.heads_of(id).unwrap_or_default();
        let local = self.heads(id).await?.unwrap_or_default();
        let covers_local = match (self.document(id).await?, crate::ingest::parse_heads(heads)) {
            (Some(bytes), Ok(receipted)) => crate::ingest::load_document(&bytes)
                .map(|mut doc| {
                    local.iter().all(|h| receipted.contains(h))
                        || (receipted
                            .iter()
                            .all(|h| doc.get_change_by_hash(h).is_some())
                            && doc.get_changes(&receipted).is_empty())
                })
                .unwrap_or(false),
            _ => false,
        };
        Ok(Some(ReceiptStatus {
            covers_local,
            at: jiff::Timestamp::from_millisecond(receipt.time_ms).unwrap_or_default(),
            server_key: receipt.server_key,
        }))
    }
}
