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
//!
//! On a store where each write waits on a remote service (HDFS: about half a second for the
//! NameNode to complete a file), a thread keeps a few of its jobs in flight: each is encoded on
//! the thread, written under a temporary name on a thread of its own, and published (renamed into
//! place) in submission order, so the order above still holds.

use std::collections::{HashMap, VecDeque};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender, SyncSender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use examlake_core::storage::Staged;
use examlake_core::Storage;

use crate::error::{IngestError, Result};
use crate::raw_batch::{batch_files, land_batch, retrying, LandedFiles, RawBatch, Retry};

/// One batch to land: positions `first..=last` of a source (`slug` names it in file names).
#[derive(Debug)]
pub(crate) struct LandJob {
    pub slug: String,
    pub first: i64,
    pub last: i64,
    pub landed: RawBatch,
    pub refused: RawBatch,
}

impl LandJob {
    /// The error of this job when an earlier batch failed first.
    fn not_landed(&self, earlier: String) -> IngestError {
        IngestError::NotLanded {
            first: self.first,
            last: self.last,
            slug: self.slug.clone(),
            earlier,
        }
    }
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

/// What one writer thread needs besides its store and queue.
struct Lane {
    index: usize,
    retry: Retry,
    /// Jobs encoded and staged at once (see [`jobs_in_flight`]).
    in_flight: usize,
    done: Sender<(usize, LandOutcome)>,
    failure: FirstFailure,
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
        let in_flight = jobs_in_flight(store.as_ref(), threads);
        let workers = (0..threads.max(1))
            .map(|index| {
                let lane = Lane {
                    index,
                    retry,
                    in_flight,
                    done: done.clone(),
                    failure: failure.clone(),
                };
                Worker::spawn(lane, store.clone())
            })
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
    fn spawn(lane: Lane, store: Arc<dyn Storage>) -> Self {
        let (jobs, queue) = mpsc::sync_channel::<LandJob>(QUEUED);
        let thread = std::thread::Builder::new()
            .name(format!("land-batches-{}", lane.index))
            .spawn(move || write_in_order(&lane, store.as_ref(), &queue))
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
/// the rest. Up to `in_flight` jobs are landed at once, each encoded and staged (written under a
/// temporary name, or held) on a thread of its own, and published in submission order as each
/// one and those before it are done.
fn write_in_order(lane: &Lane, store: &dyn Storage, queue: &Receiver<LandJob>) {
    let Lane {
        index,
        retry,
        in_flight,
        ref done,
        ref failure,
    } = *lane;
    std::thread::scope(|scope| {
        let mut landing: VecDeque<Landing> = VecDeque::new();
        let publish_front = |landing: &mut VecDeque<Landing>| {
            landing.pop_front().is_none_or(|front| {
                let outcome = published(store, retry, front, failure);
                done.send((index, outcome)).is_ok()
            })
        };
        loop {
            while landing.front().is_some_and(Landing::is_ready) {
                if !publish_front(&mut landing) {
                    return;
                }
            }
            if landing.len() >= in_flight.max(1) {
                if !publish_front(&mut landing) {
                    return;
                }
                continue;
            }
            let next = if landing.is_empty() {
                queue.recv().ok()
            } else {
                match queue.recv_timeout(POLL) {
                    Ok(job) => Some(job),
                    Err(RecvTimeoutError::Timeout) => continue,
                    Err(RecvTimeoutError::Disconnected) => None,
                }
            };
            let Some(job) = next else { break };
            landing.push_back(start_landing(scope, store, retry, job, failure));
        }
        while !landing.is_empty() {
            if !publish_front(&mut landing) {
                return;
            }
        }
    });
}

/// Jobs a thread keeps in flight on a store whose writes overlap (HDFS).
const OVERLAPPED_JOBS: usize = 3;

/// How long a thread with jobs in flight waits for a new job before it looks at them again.
const POLL: std::time::Duration = std::time::Duration::from_millis(10);

/// Jobs each of `threads` writer threads keeps in flight: on a store whose writes overlap,
/// [`OVERLAPPED_JOBS`]; else enough to encode on every core (one writer thread on 2 cores
/// encodes 2 batches at once: one zstd stream per raw file was the bottleneck of file ingest).
fn jobs_in_flight(store: &dyn Storage, threads: usize) -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    jobs_in_flight_for(store.overlaps_writes(), cores, threads)
}

fn jobs_in_flight_for(overlaps_writes: bool, cores: usize, threads: usize) -> usize {
    let to_fill_cores = (cores / threads.max(1)).max(1);
    if overlaps_writes {
        to_fill_cores.max(OVERLAPPED_JOBS)
    } else {
        to_fill_cores
    }
}

/// A job whose files are being encoded and staged on a thread of its own.
enum Landing<'scope> {
    /// Not started: an earlier batch had failed.
    Refused(Box<LandJob>, String),
    /// The job back with its files staged (or the failure), and the raw file's key.
    Staging(std::thread::ScopedJoinHandle<'scope, (LandJob, Result<StagedBatch>)>),
}

/// A batch's files, staged and ready to publish.
struct StagedBatch {
    landed: LandedFiles,
    raw_key: String,
    files: Vec<Staged>,
}

impl Landing<'_> {
    fn is_ready(&self) -> bool {
        match self {
            Landing::Staging(staging) => staging.is_finished(),
            Landing::Refused(..) => true,
        }
    }
}

/// Encode `job`'s files and stage them, on a thread of its own.
fn start_landing<'scope>(
    scope: &'scope std::thread::Scope<'scope, '_>,
    store: &'scope dyn Storage,
    retry: Retry,
    job: LandJob,
    failure: &FirstFailure,
) -> Landing<'scope> {
    if let Some(earlier) = lock(failure).clone() {
        return Landing::Refused(Box::new(job), earlier);
    }
    Landing::Staging(scope.spawn(move || {
        let staged = staged_batch(store, retry, &job);
        (job, staged)
    }))
}

/// Encode a job's files and stage every one of them, or none.
fn staged_batch(store: &dyn Storage, retry: Retry, job: &LandJob) -> Result<StagedBatch> {
    let files = batch_files(&job.slug, job.first, job.last, &job.landed, &job.refused)?;
    let staged = retrying(retry, &job.landed.source, job.first, job.last, || {
        staged_all(store, &files.files)
    })?;
    Ok(StagedBatch {
        landed: files.landed(),
        raw_key: files.raw_key(),
        files: staged,
    })
}

/// Every file staged, or none (those staged before a failure are discarded).
fn staged_all(
    store: &dyn Storage,
    files: &[(examlake_core::layout::Key, examlake_core::storage::Bytes)],
) -> Result<Vec<Staged>> {
    let mut staged = Vec::with_capacity(files.len());
    for (key, bytes) in files {
        match store.stage(key, bytes.clone()) {
            Ok(file) => staged.push(file),
            Err(error) => {
                staged.iter().for_each(|file| store.discard(file));
                return Err(error.into());
            }
        }
    }
    Ok(staged)
}

/// The outcome of a job once its files are staged: published in order, unless a batch failed
/// before (then they are discarded, and the job is not landed).
fn published(
    store: &dyn Storage,
    retry: Retry,
    landing: Landing,
    failure: &FirstFailure,
) -> LandOutcome {
    let (job, result) = match landing {
        Landing::Refused(job, earlier) => {
            let refused = Err(job.not_landed(earlier));
            (*job, refused)
        }
        Landing::Staging(staging) => {
            let (job, staged) = staging
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
            let result = match (staged, lock(failure).clone()) {
                (Err(error), _) => Err(error),
                (Ok(staged), Some(earlier)) => {
                    staged.files.iter().for_each(|file| store.discard(file));
                    Err(job.not_landed(earlier))
                }
                (Ok(staged), None) => publish_in_order(store, retry, &job, &staged.files).map(|()| {
                    tracing::debug!(message = "landed batch", key = %staged.raw_key, first = job.first, last = job.last);
                    staged.landed
                }),
            };
            (job, result)
        }
    };
    if let Err(error) = &result {
        lock(failure).get_or_insert_with(|| error.to_string());
    }
    LandOutcome { job, result }
}

/// Publish a job's staged files in order; after a failure, the rest are discarded.
fn publish_in_order(
    store: &dyn Storage,
    retry: Retry,
    job: &LandJob,
    staged: &[Staged],
) -> Result<()> {
    for (at, file) in staged.iter().enumerate() {
        let published = retrying(retry, &job.landed.source, job.first, job.last, || {
            store.publish(file).map_err(IngestError::from)
        });
        if let Err(error) = published {
            staged[at..].iter().for_each(|file| store.discard(file));
            return Err(error);
        }
    }
    Ok(())
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
    fn jobs_encoded_at_once_are_published_in_submission_order() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = local(dir.path());
        let tenant = TenantId::parse("acme").unwrap_or_else(|e| panic!("{e}"));
        // One thread: on 2 cores it encodes 2 jobs at once. Large jobs first and small ones
        // after, so a later job is often encoded before the one ahead of it.
        let mut writer = BatchWriter::spawn(store.clone(), Retry::NEVER, 1);
        let mut outcomes = Vec::new();
        let mut first = 1;
        for size in (1..=20).rev().map(|n| n * 500) {
            outcomes.extend(writer.submit(job(&tenant, first, first + size - 1), store.as_ref()));
            outcomes.extend(writer.finished());
            first += size;
        }
        outcomes.extend(writer.wait_all());
        let firsts: Vec<i64> = outcomes.iter().map(|o| o.job.first).collect();
        let mut sorted = firsts.clone();
        sorted.sort_unstable();
        assert_eq!(firsts, sorted);
        assert_eq!(firsts.len(), 20);
        assert!(outcomes.iter().all(|o| o.result.is_ok()));
        let files = store
            .list(&layout::raw_dir(&tenant))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(files.len(), 20);
    }

    #[test]
    fn a_thread_keeps_enough_jobs_in_flight_to_use_every_core() {
        assert_eq!(jobs_in_flight_for(false, 2, 1), 2);
        assert_eq!(jobs_in_flight_for(false, 2, 2), 1);
        assert_eq!(jobs_in_flight_for(false, 1, 4), 1);
        assert_eq!(jobs_in_flight_for(false, 8, 4), 2);
        // Writes that wait on a remote service: at least OVERLAPPED_JOBS.
        assert_eq!(jobs_in_flight_for(true, 2, 2), OVERLAPPED_JOBS);
        assert_eq!(jobs_in_flight_for(true, 16, 1), 16);
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
        nothing_lands_after_a_failed_batch_in(dir.path(), local(dir.path()));
    }

    #[test]
    fn nothing_lands_after_a_failed_batch_when_writes_overlap() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        nothing_lands_after_a_failed_batch_in(dir.path(), Arc::new(Overlapping::new(dir.path())));
    }

    #[test]
    fn overlapped_writes_are_published_in_submission_order() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let store = Arc::new(Overlapping::new(dir.path()));
        let tenant = TenantId::parse("acme").unwrap_or_else(|e| panic!("{e}"));
        let mut writer = BatchWriter::spawn(store.clone(), Retry::NEVER, 2);
        let firsts: Vec<i64> = (0..8).map(|n| 1 + 3 * n).collect();
        for &first in &firsts {
            writer.submit(job(&tenant, first, first + 2), store.as_ref());
        }
        let outcomes = writer.wait_all();
        assert!(outcomes.iter().all(|o| o.result.is_ok()));
        let landed: Vec<i64> = outcomes.iter().map(|o| o.job.first).collect();
        assert_eq!(landed, firsts);
        let date = chrono::Utc::now().date_naive();
        let expected: Vec<String> = firsts
            .iter()
            .map(|&first| layout::raw_file(&tenant, date, "t", first, first + 2).to_string())
            .collect();
        let published = store
            .published
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        assert_eq!(published, expected, "published out of order");
        // Later jobs staged first (the stage of the n-th file sleeps 80/n ms), so the order
        // above is the writer's doing, not the timing's.
        let max_in_flight = store
            .max_in_flight
            .load(std::sync::atomic::Ordering::SeqCst);
        assert!(max_in_flight > 1, "stages never overlapped");
        let files = store
            .list(&layout::raw_dir(&tenant))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(files.len(), firsts.len());
    }

    /// Local storage that says its writes overlap: staging holds the bytes after a sleep that is
    /// longest for the first file, so later jobs finish staging first.
    #[derive(Debug)]
    struct Overlapping {
        inner: LocalStorage,
        staged: std::sync::atomic::AtomicU64,
        in_flight: std::sync::atomic::AtomicU64,
        max_in_flight: std::sync::atomic::AtomicU64,
        published: Mutex<Vec<String>>,
    }

    impl Overlapping {
        fn new(dir: &std::path::Path) -> Self {
            Overlapping {
                inner: LocalStorage::new(dir).unwrap_or_else(|e| panic!("{e}")),
                staged: 0.into(),
                in_flight: 0.into(),
                max_in_flight: 0.into(),
                published: Mutex::new(Vec::new()),
            }
        }
    }

    impl Storage for Overlapping {
        fn url(&self) -> String {
            self.inner.url()
        }
        fn write_atomic(&self, key: &layout::Key, bytes: &[u8]) -> examlake_core::Result<()> {
            self.inner.write_atomic(key, bytes)
        }
        fn create_new(&self, key: &layout::Key, bytes: &[u8]) -> examlake_core::Result<bool> {
            self.inner.create_new(key, bytes)
        }
        fn read(&self, key: &layout::Key) -> examlake_core::Result<Vec<u8>> {
            self.inner.read(key)
        }
        fn list(&self, prefix: &layout::Key) -> examlake_core::Result<Vec<layout::Key>> {
            self.inner.list(prefix)
        }
        fn list_unfinished(&self, prefix: &layout::Key) -> examlake_core::Result<Vec<layout::Key>> {
            self.inner.list_unfinished(prefix)
        }
        fn root_dirs(&self) -> examlake_core::Result<Vec<String>> {
            self.inner.root_dirs()
        }
        fn exists(&self, key: &layout::Key) -> examlake_core::Result<bool> {
            self.inner.exists(key)
        }
        fn delete(&self, key: &layout::Key) -> examlake_core::Result<()> {
            self.inner.delete(key)
        }
        fn local_path(&self, key: &layout::Key) -> Option<std::path::PathBuf> {
            self.inner.local_path(key)
        }
        fn stage(
            &self,
            key: &layout::Key,
            bytes: examlake_core::storage::Bytes,
        ) -> examlake_core::Result<Staged> {
            use std::sync::atomic::Ordering::SeqCst;
            let n = self.staged.fetch_add(1, SeqCst) + 1;
            let now = self.in_flight.fetch_add(1, SeqCst) + 1;
            self.max_in_flight.fetch_max(now, SeqCst);
            std::thread::sleep(std::time::Duration::from_millis(80 / n));
            self.in_flight.fetch_sub(1, SeqCst);
            Ok(Staged::Held {
                key: key.clone(),
                bytes,
            })
        }
        fn publish(&self, staged: &Staged) -> examlake_core::Result<()> {
            self.inner.publish(staged)?;
            let (Staged::Held { key, .. } | Staged::Written { key, .. }) = staged;
            self.published
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .push(key.to_string());
            Ok(())
        }
        fn overlaps_writes(&self) -> bool {
            true
        }
    }

    fn nothing_lands_after_a_failed_batch_in(dir: &std::path::Path, store: Arc<dyn Storage>) {
        let tenant = TenantId::parse("acme").unwrap_or_else(|e| panic!("{e}"));
        // A non-empty directory where the second batch's raw file goes: its rename fails.
        let blocked = layout::raw_file(&tenant, chrono::Utc::now().date_naive(), "t", 4, 6);
        let blocked = dir.join(blocked.to_string()).join("occupied");
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
