//! A job's file and the task that writes it. The pack is written to `<id>.zip.part` and renamed
//! to `<id>.zip` only once complete and flushed, so a download never sees half a pack, and a
//! crash leaves only a `.part` file the next sweep removes.

use std::{
    path::{Path, PathBuf},
    time::{Duration, SystemTime},
};

use uuid::Uuid;

use super::{PackJobs, PackOptions};
use crate::{
    blob::DynBlobs,
    evidence::ServerKey,
    ops::pack::{self, PackProgress},
    store::DynStore,
};

/// Where a finished pack is.
pub(super) fn done_path(dir: &Path, id: Uuid) -> PathBuf {
    dir.join(format!("{id}.zip"))
}

fn part_path(dir: &Path, id: Uuid) -> PathBuf {
    dir.join(format!("{id}.zip.part"))
}

/// Marks the job failed if its task ends without saying how (a panic), so it neither shows as
/// running forever nor holds one of the server's export slots.
struct Ending {
    jobs: PackJobs,
    id: Uuid,
    ended: bool,
}

impl Drop for Ending {
    fn drop(&mut self) {
        if !self.ended {
            self.jobs.finish(
                self.id,
                Err("the export stopped unexpectedly; start it again".into()),
            );
        }
    }
}

/// Writes the pack of job `id` in a background task, on a blocking-pool thread: the pack code
/// deflates and writes its zip synchronously, and on one of the runtime's few workers (two on a
/// 2-core server) that would stall the sync and console requests sharing it. Its database and
/// blob reads still go through the runtime, from that thread.
pub(super) fn spawn(
    jobs: PackJobs,
    id: Uuid,
    opts: PackOptions,
    (store, blobs, key): (DynStore, DynBlobs, ServerKey),
) {
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        runtime.block_on(async move {
            let mut ending = Ending {
                jobs: jobs.clone(),
                id,
                ended: false,
            };
            let config = jobs.config().clone();
            let _permit = match &config.gate {
                Some(gate) => gate.clone().acquire_owned().await.ok(),
                None => None,
            };
            let (part, done) = (part_path(&config.dir, id), done_path(&config.dir, id));
            let opts = PackOptions {
                out: part.clone(),
                ..opts
            };
            let watcher = jobs.clone();
            let mut progress = move |p: PackProgress| watcher.progress(id, p);
            let outcome = match std::fs::create_dir_all(&config.dir) {
                Err(e) => Err(format!("{}: {e}", config.dir.display())),
                Ok(()) => match pack::pack(&store, &blobs, &key, &opts, &mut progress).await {
                    Ok(summary) => std::fs::rename(&part, &done)
                        .and_then(|()| std::fs::metadata(&done))
                        .map(|m| (summary, m.len()))
                        .map_err(|e| format!("{}: {e}", done.display())),
                    Err(e) => Err(e.to_string()),
                },
            };
            if let Err(why) = &outcome {
                tracing::error!(pack = %id, error = %why, "evidence pack failed");
                let _ = std::fs::remove_file(&part);
            } else {
                tracing::info!(pack = %id, "evidence pack finished");
            }
            jobs.finish(id, outcome);
            ending.ended = true;
        });
    });
}

/// Deletes the packs in `dir` that no live job names and that are older than `keep`: expired
/// ones, and those a restart (or a crash mid-write) orphaned. A young file no job here names
/// may be another server process's over the same data folder, so age alone decides.
pub(super) fn sweep(dir: &Path, keep: Duration, live: &[Uuid]) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = SystemTime::now();
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(id) = name
            .strip_suffix(".zip")
            .or_else(|| name.strip_suffix(".zip.part"))
            .and_then(|s| Uuid::parse_str(s).ok())
        else {
            continue;
        };
        let age = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|m| now.duration_since(m).ok())
            .unwrap_or_default();
        let named = live.contains(&id);
        if !named && age >= keep {
            match std::fs::remove_file(&path) {
                Ok(()) => tracing::info!(file = %path.display(), "expired evidence pack deleted"),
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "could not delete an expired evidence pack");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(dir: &Path, name: &str, age: Duration) -> PathBuf {
        let path = dir.join(name);
        let f = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
        f.set_modified(SystemTime::now() - age)
            .unwrap_or_else(|e| panic!("{e}"));
        path
    }

    #[test]
    fn the_sweep_deletes_old_packs_no_job_names_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let hour = Duration::from_secs(3600);
        let (named, other) = (Uuid::now_v7(), Uuid::now_v7());
        let expired = file(dir.path(), &format!("{other}.zip"), 2 * hour);
        let crashed = file(
            dir.path(),
            &format!("{}.zip.part", Uuid::now_v7()),
            2 * hour,
        );
        let kept = file(dir.path(), &format!("{named}.zip"), 2 * hour);
        let young = file(
            dir.path(),
            &format!("{}.zip", Uuid::now_v7()),
            Duration::ZERO,
        );
        let foreign = file(dir.path(), "notes.txt", 2 * hour);
        sweep(dir.path(), hour, &[named]);
        assert!(
            !expired.exists() && !crashed.exists(),
            "old and unnamed: gone"
        );
        assert!(kept.exists(), "a live job's pack stays");
        assert!(young.exists(), "maybe another process's: stays until old");
        assert!(foreign.exists(), "not a pack: not ours to delete");
    }
}
