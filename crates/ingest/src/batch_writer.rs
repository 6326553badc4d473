//! Landing batches on background threads, so that receiving and checking the next batches
//! overlaps encoding and writing earlier ones (zstd and Parquet encoding were most of the
//! landing time when done in line).
//!
//! Order is what keeps resuming exact: a source's resume point is the highest position in its
//! landed raw file names, so no batch of a source may land after an earlier one failed (its
//! records would be skipped by the next run). So every batch of a source with batches in
//! flight goes to the same thread, which lands its jobs in order; a source with nothing in
//! flight goes to the least busy thread. The first failure stops every thread: each batch not
//! yet written comes back as [`IngestError::NotLanded`], and is read again by the next run.

use std::collections::HashMap;
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use examlake_core::Storage;

use crate::error::{IngestError, Result};
use crate::raw_batch::{land_batch, LandedFiles, RawBatch, Retry};

/// One batch to land: positions `first..=last` of a source (`slug` names it in file names).
#[derive(Debug)]
pub(crate) struct LandJob {
    pub slug: String,
    pub first: i64,
    pub last: i64,
    pub landed: RawBatch,
    pub refused: RawBatch,
}

/// A job back from the writer, with its batches (still filled, for counting, then reuse).
#[derive(Debug)]
pub(crate) struct LandOutcome {
    pub job: LandJob,
    pub result: Result<LandedFiles>,
}

/// The writer threads plus the jobs submitted and not yet collected.
pub(crate) struct BatchWriter {
    workers: Vec<Worker>,
    outcomes: Receiver<(usize, LandOutcome)>,
    /// Sources with batches in flight: their worker and how many.
    routes: HashMap<String, (usize, usize)>,
    retry: Retry,
}

struct Worker {
    jobs: Option<SyncSender<LandJob>>,
    in_flight: usize,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for BatchWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let in_flight: Vec<usize> = self.workers.iter().map(|w| w.in_flight).collect();
        f.debug_struct("BatchWriter")
            .field("in_flight", &in_flight)
            .finish()
    }
}

/// Jobs waiting per thread while one is written. None: submission blocks until a thread takes
/// the job, so memory holds at most one batch per thread in flight besides the ones being
/// filled. (One queued job per thread measured no faster on 2 cores and took 120 MB more.)
const QUEUED: usize = 0;

/// The first failure, shared by the threads: once set, nothing more is written.
type FirstFailure = Arc<Mutex<Option<String>>>;

impl BatchWriter {
    /// A writer with `threads` threads (at least one).
    pub fn spawn(store: Arc<dyn Storage>, retry: Retry, threads: usize) -> Self {
        let (done, outcomes) = mpsc::channel();
        let failure = FirstFailure::default();
        let workers = (0..threads.max(1))
            .map(|index| Worker::spawn(index, store.clone(), retry, &done, &failure))
            .collect();
        BatchWriter {
            workers,
            outcomes,
            routes: HashMap::new(),
            retry,
        }
    }

    /// Writer threads for this machine: one per core, at most four.
    pub fn default_threads() -> usize {
        std::thread::available_parallelism().map_or(1, |n| n.get().min(4))
    }

    /// Queue a job (blocks while its thread's queue is full). When its thread is gone (it
    /// could not be started), the job is landed right here instead.
    pub fn submit(&mut self, job: LandJob, store: &dyn Storage) -> Option<LandOutcome> {
        let index = match self.routes.get(&job.slug) {
            Some(&(index, _)) => index,
            None => self.least_busy(),
        };
        let slug = job.slug.clone();
        let worker = &mut self.workers[index];
        let job = match &worker.jobs {
            Some(jobs) => match jobs.send(job) {
                Ok(()) => {
                    worker.in_flight += 1;
                    self.routes.entry(slug).or_insert((index, 0)).1 += 1;
                    return None;
                }
                Err(mpsc::SendError(job)) => job,
            },
            None => job,
        };
        Some(land_job(store, job, self.retry))
    }

    fn least_busy(&self) -> usize {
        (0..self.workers.len())
            .min_by_key(|&i| self.workers[i].in_flight)
            .unwrap_or(0)
    }

    /// Jobs landed since the last call, without waiting.
    pub fn finished(&mut self) -> Vec<LandOutcome> {
        let mut outcomes = Vec::new();
        while let Ok((index, outcome)) = self.outcomes.try_recv() {
            self.collected(index, &outcome);
            outcomes.push(outcome);
        }
        outcomes
    }

    /// Wait for every submitted job. Outcomes of one source come in submission order.
    pub fn wait_all(&mut self) -> Vec<LandOutcome> {
        let mut outcomes = self.finished();
        while self.workers.iter().any(|w| w.in_flight > 0) {
            match self.outcomes.recv() {
                Ok((index, outcome)) => {
                    self.collected(index, &outcome);
                    outcomes.push(outcome);
                }
                Err(mpsc::RecvError) => break, // every thread is gone; nothing more will come
            }
        }
        outcomes
    }

    fn collected(&mut self, index: usize, outcome: &LandOutcome) {
        self.workers[index].in_flight -= 1;
        let slug = &outcome.job.slug;
        if let Some(route) = self.routes.get_mut(slug) {
            route.1 -= 1;
            if route.1 == 0 {
                self.routes.remove(slug);
            }
        }
    }
}

impl Worker {
    fn spawn(
        index: usize,
        store: Arc<dyn Storage>,
        retry: Retry,
        done: &Sender<(usize, LandOutcome)>,
        failure: &FirstFailure,
    ) -> Self {
        let (jobs, queue) = mpsc::sync_channel::<LandJob>(QUEUED);
        let (done, failure) = (done.clone(), failure.clone());
        let thread = std::thread::Builder::new()
            .name(format!("land-batches-{index}"))
            .spawn(move || write_in_order(index, store.as_ref(), retry, &queue, &done, &failure))
            .ok();
        Worker {
            jobs: thread.is_some().then_some(jobs),
            in_flight: 0,
            thread,
        }
    }
}

impl Drop for BatchWriter {
    fn drop(&mut self) {
        for worker in &mut self.workers {
            worker.jobs = None; // closes the queue: the thread finishes what it holds and exits
        }
        for worker in &mut self.workers {
            if let Some(thread) = worker.thread.take() {
                let _ = thread.join();
            }
        }
    }
}

/// One writer thread: land jobs in order until the first failure (of any thread), then refuse
/// the rest.
fn write_in_order(
    index: usize,
    store: &dyn Storage,
    retry: Retry,
    queue: &Receiver<LandJob>,
    done: &Sender<(usize, LandOutcome)>,
    failure: &FirstFailure,
) {
    for job in queue {
        let earlier = lock(failure).clone();
        let outcome = match earlier {
            Some(earlier) => LandOutcome {
                result: Err(IngestError::NotLanded {
                    first: job.first,
                    last: job.last,
                    slug: job.slug.clone(),
                    earlier,
                }),
                job,
            },
            None => land_job(store, job, retry),
        };
        if let Err(error) = &outcome.result {
            lock(failure).get_or_insert_with(|| error.to_string());
        }
        if done.send((index, outcome)).is_err() {
            return;
        }
    }
}

fn lock(failure: &FirstFailure) -> std::sync::MutexGuard<'_, Option<String>> {
    failure
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn land_job(store: &dyn Storage, job: LandJob, retry: Retry) -> LandOutcome {
    let result = land_batch(
        store,
        &job.slug,
        job.first,
        job.last,
        &job.landed,
        &job.refused,
        retry,
    );
    LandOutcome { job, result }
}

#[cfg(test)]
mod tests {
    use super::*;
    use examlake_core::storage::LocalStorage;
    use examlake_core::{layout, TenantId};

    fn local(dir: &std::path::Path) -> Arc<dyn Storage> {
        Arc::new(LocalStorage::new(dir).unwrap_or_else(|e| panic!("{e}")))
    }

    fn job(tenant: &TenantId, first: i64, last: i64) -> LandJob {
        job_of("t", tenant, first, last)
    }

    fn job_of(slug: &str, tenant: &TenantId, first: i64, last: i64) -> LandJob {
        let mut landed = RawBatch::new(tenant.clone(), format!("file:{slug}"), 0, false);
        for position in first..=last {
            landed.push(position, br#"{"a":1}"#, None);
        }
        let refused = RawBatch::new(tenant.clone(), format!("file:{slug}"), 0, true);
        LandJob {
            slug: slug.into(),
            first,
            last,
            landed,
            refused,
        }
    }

    #[test]
    fn jobs_land_in_submission_order() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = local(dir.path());
        let tenant = TenantId::parse("acme").unwrap_or_else(|e| panic!("{e}"));
        let mut writer = BatchWriter::spawn(store.clone(), Retry::NEVER, 2);
        for first in [1, 4, 7] {
            assert!(writer
                .submit(job(&tenant, first, first + 2), store.as_ref())
                .is_none());
        }
        let outcomes = writer.wait_all();
        let ranges: Vec<(i64, i64)> = outcomes.iter().map(|o| (o.job.first, o.job.last)).collect();
        assert_eq!(ranges, [(1, 3), (4, 6), (7, 9)]);
        assert!(outcomes.iter().all(|o| o.result.is_ok()));
        let files = store
            .list(&layout::raw_dir(&tenant))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(files.len(), 3);
        assert!(writer.finished().is_empty());
    }

    #[test]
    fn each_source_lands_in_order_across_threads() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = local(dir.path());
        let tenant = TenantId::parse("acme").unwrap_or_else(|e| panic!("{e}"));
        let mut writer = BatchWriter::spawn(store.clone(), Retry::NEVER, 2);
        let mut outcomes = Vec::new();
        for first in (1..60).step_by(3) {
            for slug in ["a", "b", "c"] {
                outcomes
                    .extend(writer.submit(job_of(slug, &tenant, first, first + 2), store.as_ref()));
                outcomes.extend(writer.finished());
            }
        }
        outcomes.extend(writer.wait_all());
        assert_eq!(outcomes.len(), 60);
        for slug in ["a", "b", "c"] {
            let firsts: Vec<i64> = outcomes
                .iter()
                .filter(|o| o.job.slug == slug)
                .map(|o| o.job.first)
                .collect();
            assert_eq!(
                firsts,
                (1..60).step_by(3).collect::<Vec<_>>(),
                "source {slug}"
            );
        }
        assert!(outcomes.iter().all(|o| o.result.is_ok()));
        let files = store
            .list(&layout::raw_dir(&tenant))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(files.len(), 60);
    }

    #[test]
    fn nothing_lands_after_a_failed_batch() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = local(dir.path());
        let tenant = TenantId::parse("acme").unwrap_or_else(|e| panic!("{e}"));
        // A non-empty directory where the second batch's raw file goes: its rename fails.
        let blocked = layout::raw_file(&tenant, chrono::Utc::now().date_naive(), "t", 4, 6);
        let blocked = dir.path().join(blocked.to_string()).join("occupied");
        std::fs::create_dir_all(&blocked).unwrap_or_else(|e| panic!("{e}"));
        let mut writer = BatchWriter::spawn(store.clone(), Retry::NEVER, 2);
        for first in [1, 4, 7] {
            writer.submit(job(&tenant, first, first + 2), store.as_ref());
        }
        let outcomes = writer.wait_all();
        assert!(outcomes[0].result.is_ok());
        assert!(matches!(outcomes[1].result, Err(IngestError::Storage(_))));
        assert!(matches!(
            outcomes[2].result,
            Err(IngestError::NotLanded { first: 7, .. })
        ));
        let files = store
            .list(&layout::raw_dir(&tenant))
            .unwrap_or_else(|e| panic!("{e}"));
        let landed: Vec<_> = files
            .iter()
            .filter(|k| !k.to_string().contains("occupied"))
            .collect();
        assert_eq!(
            landed.len(),
            1,
            "only the batch before the failure: {files:?}"
        );
    }
}
