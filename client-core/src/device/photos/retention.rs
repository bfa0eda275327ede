//! Which photo files may be deleted to free space, and the two prunes that act on it: the one
//! every sync runs by itself, and `bukti photos --prune`.
//!
//! The rule is pure ([`may_delete`]) so it is tested without files or a store. After a sync only
//! files the server has confirmed whole ever go: a derivative at once, an original once it is
//! also past the retention period. The officer's explicit prune goes further and drops originals
//! past retention that were never asked for (HQ can no longer get them; that is the point of a
//! retention period), but never one HQ asked for and has not received. Thumbnails always stay:
//! the device's own lists show them.

use std::time::{Duration, SystemTime};

use crate::device::{
    Device, DeviceError,
    store::{KeptFile, Role},
};

/// Leftover files younger than this are left alone by pruning: another `bukti` process may be
/// between writing them and committing its capture.
const LEFTOVER_GRACE: Duration = Duration::from_secs(3600);

const DAY_MS: i64 = 86_400_000;

/// Who is pruning, which decides how far it may go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Prune {
    /// Automatically after a sync: only what the server confirmed.
    AfterSync,
    /// The officer asked (`bukti photos --prune`).
    Requested,
}

/// Whether `file` may be deleted by `prune` when originals captured before `kept_since_ms` are
/// past retention.
pub(crate) fn may_delete(file: &KeptFile, prune: Prune, kept_since_ms: i64) -> bool {
    let past_retention = file.created_at_ms < kept_since_ms;
    match (file.role, prune) {
        (Role::Thumbnail, _) => false,
        (Role::Derivative, _) => file.confirmed,
        (Role::Original, Prune::AfterSync) => file.confirmed && past_retention,
        (Role::Original, Prune::Requested) => past_retention && (file.confirmed || !file.requested),
    }
}

impl Device {
    /// Frees the space of photo files the server has confirmed it holds whole: derivatives, and
    /// originals past retention. Nothing unconfirmed is touched. The `bukti` CLI runs it after
    /// every sync; an app embedding the device does the same after its own. Returns the number
    /// of files removed.
    pub async fn prune_confirmed_photos(&self) -> Result<u64, DeviceError> {
        self.prune(Prune::AfterSync).await
    }

    /// Deletes photo files that are no longer needed: originals past the retention period
    /// (never one HQ asked for that has not reached the server), derivatives the server has,
    /// and leftovers of interrupted captures. Returns the number of files removed.
    pub async fn prune_photos(&self) -> Result<u64, DeviceError> {
        let mut removed = self.prune(Prune::Requested).await?;
        let known = self.store.known_blob_hashes().await?;
        let cutoff = SystemTime::now() - LEFTOVER_GRACE;
        for (name, path) in self.files.list() {
            let old = std::fs::metadata(&path)
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < cutoff);
            if old && !known.contains(&name) && std::fs::remove_file(&path).is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    async fn prune(&self, prune: Prune) -> Result<u64, DeviceError> {
        let retention = i64::from(self.photo_retention_days().await?) * DAY_MS;
        let kept_since = jiff::Timestamp::now().as_millisecond() - retention;
        let mut removed = 0;
        for file in self.store.kept_files().await? {
            if !may_delete(&file, prune, kept_since) {
                continue;
            }
            self.files.remove(&file.hash)?;
            let mut tx = self.store.begin().await?;
            tx.mark_pruned(&file.hash).await?;
            tx.commit().await?;
            removed += 1;
        }
        Ok(removed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 100 * DAY_MS;
    const KEPT_SINCE: i64 = NOW - 30 * DAY_MS;

    fn file(role: Role, age_days: i64, confirmed: bool, requested: bool) -> KeptFile {
        KeptFile {
            hash: "h".into(),
            role,
            created_at_ms: NOW - age_days * DAY_MS,
            confirmed,
            requested,
        }
    }

    fn after_sync(f: &KeptFile) -> bool {
        may_delete(f, Prune::AfterSync, KEPT_SINCE)
    }

    fn requested(f: &KeptFile) -> bool {
        may_delete(f, Prune::Requested, KEPT_SINCE)
    }

    #[test]
    fn after_a_sync_only_confirmed_files_go() {
        assert!(after_sync(&file(Role::Derivative, 0, true, false)));
        assert!(!after_sync(&file(Role::Derivative, 400, false, false)));
        assert!(after_sync(&file(Role::Original, 31, true, false)));
        assert!(!after_sync(&file(Role::Original, 29, true, true)));
        assert!(!after_sync(&file(Role::Original, 400, false, false)));
        assert!(!after_sync(&file(Role::Thumbnail, 400, true, false)));
    }

    #[test]
    fn the_officers_prune_drops_old_unrequested_originals_but_never_a_requested_one() {
        assert!(requested(&file(Role::Original, 31, false, false)));
        assert!(!requested(&file(Role::Original, 31, false, true)));
        assert!(requested(&file(Role::Original, 31, true, true)));
        assert!(!requested(&file(Role::Original, 29, false, false)));
        assert!(!requested(&file(Role::Derivative, 400, false, false)));
        assert!(!requested(&file(Role::Thumbnail, 400, true, false)));
    }
}
