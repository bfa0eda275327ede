//! Evidence packs made while the server runs: HQ starts one from the console's export page or
//! the JSON API, a background task writes it with the same code as `bukti-server pack`
//! ([`crate::ops::pack::pack`], whose progress callback feeds the job), and its starter watches
//! the progress and downloads the zip when it is complete.
//!
//! **Jobs live in memory** ([`PackJobs`], held in the server's state), not in a table: a running
//! job is a few counters that change with every record written, its file is in this process's
//! data folder, and the pack can be made again from the same evidence at any time. A restart
//! therefore forgets its jobs (the export page says so) but loses no evidence; files a restart
//! orphaned are swept by age like expired ones ([`files`]). With several server processes
//! behind one address, a job's status and download must reach the process that runs it.
//!
//! A pack holds a unit's whole evidence, so a job is its starter's alone: another person asking
//! for it is told it does not exist, as for a job that never did. Each start is audited before
//! any byte is written. At most [`PackJobsConfig::max_running`] packs are written at once, so
//! exports cannot starve the sync endpoints of disk and CPU; more are refused with a clear
//! message rather than queued behind work nobody watches.

mod files;
mod request;

pub use request::PackRequest;

use std::{
    collections::HashMap,
    path::PathBuf,
    sync::{Arc, Mutex, MutexGuard},
    time::Duration,
};

use jiff::Timestamp;
use serde::Serialize;
use uuid::Uuid;

use crate::{
    audit::{Action, Actor, AuditEvent},
    blob::DynBlobs,
    directory::{Permission, Principal},
    evidence::ServerKey,
    ops::pack::{PackOptions, PackProgress, PackSummary},
    pack_jobs::request::{given, options},
    store::{DynStore, StoreError},
};

/// How many packs a server writes at once, how long finished ones are kept, and where.
#[derive(Debug, Clone)]
pub struct PackJobsConfig {
    /// Where packs are written (a `packs` folder in the server's data folder).
    pub dir: PathBuf,
    pub max_running: usize,
    /// How long a finished pack (and the record of a failed one) stays downloadable.
    pub keep: Duration,
    /// When set, a job waits for a permit of this before it writes anything. Tests hold the
    /// permits back to see jobs running; a server leaves it unset.
    pub gate: Option<Arc<tokio::sync::Semaphore>>,
}

impl PackJobsConfig {
    /// Two packs at once, each kept six hours, in `<data>/packs`.
    pub fn in_data_dir(data_dir: &std::path::Path) -> Self {
        Self {
            dir: data_dir.join("packs"),
            max_running: 2,
            keep: Duration::from_secs(6 * 3600),
            gate: None,
        }
    }
}

/// Why a job could not be started, seen or downloaded.
#[derive(Debug, thiserror::Error)]
pub enum PackJobError {
    #[error("{0}")]
    NotAllowed(String),
    #[error(
        "unit {unit} is outside your scope ({yours}); you may export only your own unit and the units below it"
    )]
    OutsideScope { unit: String, yours: String },
    #[error("{0}")]
    Invalid(String),
    #[error(
        "this server is already making {running} evidence packs, the most it makes at once; wait until one is finished and start again"
    )]
    TooMany { running: usize },
    #[error(
        "no such export: it was started by someone else, has expired, or the server restarted since"
    )]
    NotFound,
    #[error("this evidence pack is not ready yet; wait until its page says it is finished")]
    NotReady,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Where a job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Running,
    Done,
    Failed,
}

/// A job as its starter sees it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PackJobView {
    pub id: Uuid,
    pub unit: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub areas: Vec<String>,
    pub state: JobState,
    #[schema(value_type = String, format = DateTime)]
    pub started_at: String,
    #[schema(value_type = Option<String>, format = DateTime)]
    pub finished_at: Option<String>,
    /// Records of the store read so far, of `total` (the pack walks the whole store).
    pub read: u64,
    pub total: u64,
    /// Records written into the pack so far.
    pub records: u64,
    /// Bytes of the pack's files written so far, before compression.
    pub bytes: u64,
    /// Photos in the pack, and photos its records name that the server does not hold (when done).
    pub photos: u64,
    pub photos_missing: u64,
    /// The finished zip's size.
    pub zip_bytes: u64,
    /// Why it failed.
    pub error: Option<String>,
    /// When a finished pack is deleted.
    #[schema(value_type = Option<String>, format = DateTime)]
    pub expires_at: Option<String>,
}

impl PackJobView {
    /// The state as the API names it (`running`, `done`, `failed`).
    pub fn state_name(&self) -> &'static str {
        match self.state {
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Failed => "failed",
        }
    }

    /// Percent of the store read, for a progress bar.
    pub fn percent(&self) -> u64 {
        (self.read * 100).checked_div(self.total).unwrap_or(100)
    }
}

#[derive(Debug)]
struct Job {
    view: PackJobView,
    /// The person (or token) who started it: the only one who sees it.
    owner: Uuid,
    finished: Option<Timestamp>,
}

/// The server's export jobs.
#[derive(Debug, Clone)]
pub struct PackJobs {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: PackJobsConfig,
    jobs: Mutex<HashMap<Uuid, Job>>,
}

/// Who owns a job: the person behind a session or token, else the credential itself.
fn owner_of(p: &Principal) -> Uuid {
    p.person.unwrap_or(p.id)
}

impl PackJobs {
    /// The registry, after sweeping files an earlier run left in `config.dir`.
    pub fn new(config: PackJobsConfig) -> Self {
        let jobs = Self {
            inner: Arc::new(Inner {
                config,
                jobs: Mutex::default(),
            }),
        };
        jobs.sweep();
        jobs
    }

    pub fn config(&self) -> &PackJobsConfig {
        &self.inner.config
    }

    fn jobs(&self) -> MutexGuard<'_, HashMap<Uuid, Job>> {
        // A panic while holding the lock leaves counters, never a broken invariant: go on.
        self.inner
            .jobs
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Checks the request, records it in the audit log and starts writing the pack.
    pub async fn start(
        &self,
        store: &DynStore,
        blobs: &DynBlobs,
        key: &ServerKey,
        principal: &Principal,
        request: &PackRequest,
    ) -> Result<PackJobView, PackJobError> {
        principal
            .require(Permission::Export, "exporting evidence packs")
            .map_err(|e| PackJobError::NotAllowed(e.0))?;
        let opts = options(principal, request, PathBuf::new())?;
        self.sweep();
        let id = Uuid::now_v7();
        let view = PackJobView {
            id,
            unit: opts.unit.to_string(),
            from: given(&request.from).map(str::to_owned),
            to: given(&request.to).map(str::to_owned),
            areas: opts.areas.clone(),
            state: JobState::Running,
            started_at: Timestamp::now().to_string(),
            finished_at: None,
            read: 0,
            total: 0,
            records: 0,
            bytes: 0,
            photos: 0,
            photos_missing: 0,
            zip_bytes: 0,
            error: None,
            expires_at: None,
        };
        {
            // The count and the insert under one lock: two starts cannot both take the last slot.
            let mut jobs = self.jobs();
            let running = jobs
                .values()
                .filter(|j| j.view.state == JobState::Running)
                .count();
            if running >= self.inner.config.max_running {
                return Err(PackJobError::TooMany { running });
            }
            jobs.insert(
                id,
                Job {
                    view: view.clone(),
                    owner: owner_of(principal),
                    finished: None,
                },
            );
        }
        let event = AuditEvent::new(
            Actor::principal(principal),
            Action::Export,
            format!("pack:{id}"),
        )
        .in_unit(opts.unit.as_str())
        .with_detail(serde_json::json!({
            "format": "evidence-pack",
            "from": view.from,
            "to": view.to,
            "areas": view.areas,
        }));
        if let Err(e) = crate::audit::append(store, &[event]).await {
            self.jobs().remove(&id);
            return Err(e.into());
        }
        tracing::info!(pack = %id, by = %principal.name, unit = %opts.unit, "evidence pack started");
        files::spawn(
            self.clone(),
            id,
            opts,
            (store.clone(), blobs.clone(), key.clone()),
        );
        Ok(view)
    }

    /// A job of `principal`'s.
    pub fn get(&self, principal: &Principal, id: Uuid) -> Result<PackJobView, PackJobError> {
        self.jobs()
            .get(&id)
            .filter(|j| j.owner == owner_of(principal))
            .map(|j| j.view.clone())
            .ok_or(PackJobError::NotFound)
    }

    /// `principal`'s jobs, the newest first.
    pub fn list(&self, principal: &Principal) -> Vec<PackJobView> {
        self.sweep();
        let owner = owner_of(principal);
        let mut mine: Vec<PackJobView> = self
            .jobs()
            .values()
            .filter(|j| j.owner == owner)
            .map(|j| j.view.clone())
            .collect();
        mine.sort_by_key(|j| std::cmp::Reverse(j.id));
        mine
    }

    /// The finished zip of a job of `principal`'s, and a name to save it under.
    pub fn download(
        &self,
        principal: &Principal,
        id: Uuid,
    ) -> Result<(PathBuf, String), PackJobError> {
        let view = self.get(principal, id)?;
        match view.state {
            JobState::Done => {}
            JobState::Running => return Err(PackJobError::NotReady),
            JobState::Failed => return Err(PackJobError::NotFound),
        }
        let name = format!(
            "bukti-pack-{}-{}.zip",
            view.unit.replace('/', "-"),
            view.started_at.get(..10).unwrap_or_default()
        );
        Ok((files::done_path(&self.inner.config.dir, id), name))
    }

    fn progress(&self, id: Uuid, p: PackProgress) {
        if let Some(job) = self.jobs().get_mut(&id) {
            job.view.read = p.read;
            job.view.total = p.total;
            job.view.records = p.records;
            job.view.bytes = p.bytes;
        }
    }

    /// Ends a job: its summary and zip size, or why it failed.
    fn finish(&self, id: Uuid, outcome: Result<(PackSummary, u64), String>) {
        let now = Timestamp::now();
        let keep = jiff::SignedDuration::try_from(self.inner.config.keep).unwrap_or_default();
        let mut jobs = self.jobs();
        let Some(job) = jobs.get_mut(&id) else { return };
        job.finished = Some(now);
        job.view.finished_at = Some(now.to_string());
        job.view.expires_at = now.checked_add(keep).ok().map(|t| t.to_string());
        match outcome {
            Ok((summary, zip_bytes)) => {
                job.view.state = JobState::Done;
                job.view.records = summary.records;
                job.view.bytes = summary.bytes;
                job.view.photos = summary.photos;
                job.view.photos_missing = summary.photos_missing;
                job.view.zip_bytes = zip_bytes;
                job.view.read = job.view.total.max(job.view.read);
            }
            Err(why) => {
                job.view.state = JobState::Failed;
                job.view.error = Some(why);
            }
        }
    }

    /// Forgets jobs finished longer ago than `keep` and deletes files nothing refers to.
    fn sweep(&self) {
        let keep = self.inner.config.keep;
        let now = Timestamp::now();
        let live: Vec<Uuid> = {
            let mut jobs = self.jobs();
            jobs.retain(|_, j| {
                j.finished
                    .is_none_or(|f| now.duration_since(f).unsigned_abs() < keep)
            });
            jobs.keys().copied().collect()
        };
        files::sweep(&self.inner.config.dir, keep, &live);
    }
}
