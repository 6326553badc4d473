//! The landing consumer: a consumer group over the tenant topics that lands every message in
//! raw Parquet exactly once, as a daemon or until caught up with the high watermarks seen at
//! start.
//!
//! Exactly once, even under SIGKILL: a batch is landed with atomic writes (quarantine file, then
//! raw file, each to a temporary name, made durable, renamed); on every assignment a partition
//! resumes one past the highest offset in its landed file names; offsets are committed to Kafka
//! only afterwards, for lag monitoring. A crash anywhere re-reads at most the unlanded batches.
//! On revocation the pending batch is landed before the partition is given up (the eager
//! protocol lets no other member start it before this callback returns).
//!
//! Batches are encoded and written by a background thread ([`BatchWriter`]) while the poll loop
//! goes on receiving; a partition's resume position moves only when its batch comes back
//! landed. Revocation, a lost assignment and shutdown first wait for every batch in flight.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use examlake_core::{Storage, TenantId};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext};
use rdkafka::message::{BorrowedMessage, Message};
use rdkafka::types::RDKafkaRespErr;
use rdkafka::{ClientContext, Offset, TopicPartitionList};

use super::connection::KafkaConnection;
use super::partition_buffer::{Accepted, PartitionBuffer, Rotation};
use super::resume::landed_next_offset;
use super::topics::{subscription_pattern, tenant_of_topic};
use crate::batch_writer::{BatchWriter, LandOutcome};
use crate::error::{IngestError, Result};
use crate::raw_batch::{RawBatch, Retry};

/// What to consume and how to land it.
#[derive(Debug, Clone)]
pub struct LandingConfig {
    pub connection: KafkaConnection,
    /// The consumer group; every process of one group shares the partitions.
    pub group_id: String,
    /// Consume only this tenant's topic (a tenant-scoped credential can read nothing else).
    pub only_tenant: Option<TenantId>,
    pub rotation: Rotation,
    /// Messages longer than this are quarantined.
    pub max_record_bytes: usize,
    /// Drain to the high watermarks seen at start, then exit (the nightly job's mode).
    pub until_caught_up: bool,
    /// How often the one-line status (messages/s, lag per tenant) is logged.
    pub status_every: Duration,
    /// How often topic metadata is refreshed, i.e. how soon a new tenant's topic is seen.
    pub metadata_refresh: Duration,
}

/// Counts of one landing run. `consumed = landed + quarantined + already_landed + pending`, where
/// pending is whatever was read but given back on revocation or failure (it is read again).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct LandingSummary {
    pub consumed: u64,
    pub landed: u64,
    pub quarantined: u64,
    /// Redelivered messages below a partition's resume position, not landed again.
    pub already_landed: u64,
    pub raw_files: u64,
    pub quarantine_files: u64,
    /// Messages landed and quarantined per tenant.
    pub per_tenant: BTreeMap<String, TenantCounts>,
}

/// One tenant's share of a landing run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct TenantCounts {
    pub landed: u64,
    pub quarantined: u64,
}

const POLL_TIMEOUT: Duration = Duration::from_millis(100);
const METADATA_TIMEOUT: Duration = Duration::from_secs(15);

/// Consume and land until `stop` is set (SIGINT/SIGTERM) or, with `until_caught_up`, until every
/// partition is landed up to its start high watermark. Pending batches are landed before return.
pub fn run_landing(
    config: &LandingConfig,
    store: Arc<dyn Storage>,
    stop: &AtomicBool,
) -> Result<LandingSummary> {
    let context = LandingContext {
        store: store.clone(),
        only_tenant: config.only_tenant.clone(),
        state: Mutex::new(LandingState::new(store.clone())),
    };
    let consumer: BaseConsumer<LandingContext> = consumer_config(config)
        .create_with_context(context)
        .map_err(IngestError::kafka(
            "creating consumer",
            &config.connection.brokers,
        ))?;
    let pattern = subscription_pattern(config.only_tenant.as_ref());
    consumer
        .subscribe(&[&pattern])
        .map_err(IngestError::kafka("subscribing", &pattern))?;
    let targets = match config.until_caught_up {
        true => Some(start_watermarks(&consumer, config)?),
        false => None,
    };
    let mut status = Status::new(config.status_every);
    let mut landed_elsewhere = LandedElsewhere::default();
    let outcome = loop {
        if stop.load(Ordering::Relaxed) {
            break Ok(());
        }
        match consumer.poll(POLL_TIMEOUT) {
            Some(Ok(message)) => take_message(&consumer, &message, config.max_record_bytes),
            Some(Err(error)) => tracing::warn!(message = "kafka consumer error", %error),
            None => {}
        }
        if let Some(error) = lock(&consumer.context().state).fatal.take() {
            break Err(error);
        }
        if let Err(error) = land_due(&consumer, config, targets.as_deref()) {
            break Err(error);
        }
        status.maybe_log(&consumer);
        if let Some(targets) = &targets {
            match landed_elsewhere.all_caught_up(&consumer, targets, store.as_ref()) {
                Ok(true) => break Ok(()),
                Ok(false) => {}
                Err(error) => break Err(error),
            }
        }
    };
    let finished = land_all(&consumer);
    let summary = lock(&consumer.context().state).summary.clone();
    outcome.and(finished).map(|()| summary)
}

fn consumer_config(config: &LandingConfig) -> rdkafka::ClientConfig {
    let mut client = config.connection.client_config();
    client
        .set("group.id", &config.group_id)
        .set("client.id", "examlake-ingest")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "6000")
        .set("heartbeat.interval.ms", "2000")
        // The prefetch queue: librdkafka's default (64 MB) held the landing at ~38k msgs/s and
        // 16 MB at ~13k on 2.5 kB attempts; 256 MB lets the fetcher stay ahead (~70k/s measured).
        // Memory = this + the pending batches (rotation size per partition).
        .set("queued.max.messages.kbytes", "262144")
        .set(
            "topic.metadata.refresh.interval.ms",
            config.metadata_refresh.as_millis().to_string(),
        );
    // Anything the operator passed explicitly wins over the defaults above.
    for (key, value) in &config.connection.options {
        client.set(key, value);
    }
    client
}

/// Shared between the poll loop and the rebalance callback (which runs inside `poll`).
struct LandingContext {
    store: Arc<dyn Storage>,
    only_tenant: Option<TenantId>,
    state: Mutex<LandingState>,
}

struct LandingState {
    buffers: Vec<PartitionBuffer>,
    summary: LandingSummary,
    /// An error met inside a callback or by the writer, raised by the poll loop.
    fatal: Option<IngestError>,
    writer: BatchWriter,
    /// Landed batches' buffers, reused for the next batches.
    spares: Vec<RawBatch>,
}

impl LandingState {
    fn new(store: Arc<dyn Storage>) -> Self {
        LandingState {
            buffers: Vec::new(),
            summary: LandingSummary::default(),
            fatal: None,
            writer: BatchWriter::spawn(store, Retry::STORAGE, BatchWriter::default_threads()),
            spares: Vec::new(),
        }
    }

    /// Hand buffer `index`'s pending batch (if any) to the writer.
    fn hand_off(&mut self, index: usize, store: &dyn Storage, commits: &mut TopicPartitionList) {
        let spare = self.spares.pop();
        let Some(job) = self.buffers[index].take_batch(spare) else {
            return;
        };
        if let Some(outcome) = self.writer.submit(job, store) {
            self.record(outcome, Some(commits));
        }
    }

    /// Record the batches the writer finished (waiting for all in flight with `wait`).
    fn collect_landed(&mut self, wait: bool, mut commits: Option<&mut TopicPartitionList>) {
        let outcomes = match wait {
            true => self.writer.wait_all(),
            false => self.writer.finished(),
        };
        for outcome in outcomes {
            self.record(outcome, commits.as_deref_mut());
        }
    }

    /// One batch back from the writer: count it and move its partition's resume position, or
    /// keep its error for the poll loop (its records are read again by the next run).
    fn record(&mut self, outcome: LandOutcome, commits: Option<&mut TopicPartitionList>) {
        let job = outcome.job;
        let files = match outcome.result {
            Ok(files) => files,
            Err(error) => {
                tracing::error!(message = "a batch could not be landed; it will be read again", source = %job.landed.source, first = job.first, last = job.last, %error);
                self.fatal.get_or_insert(error);
                return;
            }
        };
        let (landed, quarantined) = (job.landed.len() as u64, job.refused.len() as u64);
        let summary = &mut self.summary;
        summary.landed += landed;
        summary.quarantined += quarantined;
        summary.raw_files += 1;
        summary.quarantine_files += u64::from(files.quarantine_file);
        let counts = summary
            .per_tenant
            .entry(job.landed.tenant.to_string())
            .or_default();
        counts.landed += landed;
        counts.quarantined += quarantined;
        let partition = job.landed.partition;
        if let Some(buffer) = self
            .buffers
            .iter_mut()
            .find(|b| b.partition == partition && b.landed.source == job.landed.source)
        {
            buffer.confirm_landed(job.last);
            if let Some(commits) = commits {
                add_commit(commits, buffer);
            }
        }
        if self.spares.len() < MAX_SPARE_BATCHES {
            self.spares.push(job.landed);
        }
    }
}

/// Landed batches kept for their buffers: about one per batch in flight.
const MAX_SPARE_BATCHES: usize = 2;

fn lock(state: &Mutex<LandingState>) -> MutexGuard<'_, LandingState> {
    state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl ClientContext for LandingContext {}

impl ConsumerContext for LandingContext {
    fn rebalance(
        &self,
        consumer: &BaseConsumer<Self>,
        err: RDKafkaRespErr,
        tpl: &mut TopicPartitionList,
    ) {
        match err {
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS => self.assign(consumer, tpl),
            RDKafkaRespErr::RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS => self.revoke(consumer, tpl),
            other => {
                tracing::error!(message = "rebalance error; giving up the assignment", error = ?other);
                let mut state = lock(&self.state);
                state.collect_landed(true, None);
                state.buffers.clear();
                let _ = consumer.unassign();
            }
        }
    }
}

impl LandingContext {
    /// Start every assigned partition at one past its highest landed offset.
    fn assign(&self, consumer: &BaseConsumer<Self>, tpl: &TopicPartitionList) {
        let mut state = lock(&self.state);
        let mut assignment = TopicPartitionList::new();
        for element in tpl.elements() {
            let (topic, partition) = (element.topic(), element.partition());
            let tenant = tenant_of_topic(topic)
                .filter(|t| self.only_tenant.as_ref().is_none_or(|only| only == t));
            let Some(tenant) = tenant else {
                tracing::error!(message = "not a tenant topic; left unconsumed", topic);
                continue;
            };
            let next = match landed_next_offset(self.store.as_ref(), &tenant, topic, partition) {
                Ok(next) => next,
                Err(error) => {
                    state.fatal.get_or_insert(error);
                    continue;
                }
            };
            let offset = if next == 0 {
                Offset::Beginning
            } else {
                Offset::Offset(next)
            };
            if let Err(error) = assignment.add_partition_offset(topic, partition, offset) {
                state.fatal.get_or_insert(IngestError::Kafka {
                    action: "assigning",
                    target: format!("{topic}/{partition}"),
                    source: error,
                });
                continue;
            }
            tracing::info!(
                message = "partition assigned",
                topic,
                partition,
                resume_at = next
            );
            state
                .buffers
                .push(PartitionBuffer::new(tenant, topic, partition, next));
        }
        if let Err(error) = consumer.assign(&assignment) {
            state.fatal.get_or_insert(IngestError::Kafka {
                action: "assigning",
                target: "partitions".into(),
                source: error,
            });
        }
    }

    /// Land the pending batches of the revoked partitions, then give them up.
    fn revoke(&self, consumer: &BaseConsumer<Self>, tpl: &TopicPartitionList) {
        let mut state = lock(&self.state);
        let revoked: Vec<(String, i32)> = tpl
            .elements()
            .iter()
            .map(|e| (e.topic().to_string(), e.partition()))
            .collect();
        let is_revoked = |b: &PartitionBuffer| revoked.contains(&(b.topic.clone(), b.partition));
        let mut commits = TopicPartitionList::new();
        for index in 0..state.buffers.len() {
            if is_revoked(&state.buffers[index]) {
                state.hand_off(index, self.store.as_ref(), &mut commits);
            }
        }
        state.collect_landed(true, Some(&mut commits));
        state.buffers.retain(|buffer| {
            if is_revoked(buffer) {
                tracing::info!(message = "partition revoked", topic = %buffer.topic, partition = buffer.partition);
            }
            !is_revoked(buffer)
        });
        drop(state);
        commit(consumer, &commits, CommitMode::Sync);
        let _ = consumer.unassign();
    }
}

fn take_message(
    consumer: &BaseConsumer<LandingContext>,
    message: &BorrowedMessage<'_>,
    max_record_bytes: usize,
) {
    let mut state = lock(&consumer.context().state);
    let (topic, partition) = (message.topic(), message.partition());
    let state = &mut *state;
    let Some(buffer) = state
        .buffers
        .iter_mut()
        .find(|b| b.partition == partition && b.topic == topic)
    else {
        return; // not (or no longer) ours: its owner reads it
    };
    state.summary.consumed += 1;
    if buffer.accept(message.offset(), message.payload(), max_record_bytes)
        == Accepted::AlreadyLanded
    {
        state.summary.already_landed += 1;
    }
}

/// Land every buffer whose rotation is due, or that reached its until-caught-up target.
fn land_due(
    consumer: &BaseConsumer<LandingContext>,
    config: &LandingConfig,
    targets: Option<&[Target]>,
) -> Result<()> {
    let context = consumer.context();
    let mut state = lock(&context.state);
    if consumer.assignment_lost() {
        tracing::warn!(message = "assignment lost; pending batches given back");
        state.collect_landed(true, None);
        state.buffers.iter_mut().for_each(PartitionBuffer::discard);
        return state.fatal.take().map_or(Ok(()), Err);
    }
    let now = Instant::now();
    let mut commits = TopicPartitionList::new();
    state.collect_landed(false, Some(&mut commits));
    for index in 0..state.buffers.len() {
        let buffer = &state.buffers[index];
        let reached_target = targets.is_some_and(|targets| {
            buffer.pending_range().is_some_and(|(_, last)| {
                targets.iter().any(|t| {
                    t.partition == buffer.partition && t.topic == buffer.topic && last + 1 >= t.high
                })
            })
        });
        if reached_target || buffer.is_due(&config.rotation, now) {
            state.hand_off(index, context.store.as_ref(), &mut commits);
        }
    }
    commit(consumer, &commits, CommitMode::Async);
    state.fatal.take().map_or(Ok(()), Err)
}

/// Land every pending batch and wait for all in flight (shutdown), then commit synchronously.
fn land_all(consumer: &BaseConsumer<LandingContext>) -> Result<()> {
    let context = consumer.context();
    let mut state = lock(&context.state);
    let mut commits = TopicPartitionList::new();
    for index in 0..state.buffers.len() {
        state.hand_off(index, context.store.as_ref(), &mut commits);
    }
    state.collect_landed(true, Some(&mut commits));
    commit(consumer, &commits, CommitMode::Sync);
    state.fatal.take().map_or(Ok(()), Err)
}

fn add_commit(commits: &mut TopicPartitionList, buffer: &PartitionBuffer) {
    let _ = commits.add_partition_offset(
        &buffer.topic,
        buffer.partition,
        Offset::Offset(buffer.next_offset),
    );
}

/// Commit landed positions, for lag monitoring only (resume positions come from the files).
fn commit(consumer: &BaseConsumer<LandingContext>, commits: &TopicPartitionList, mode: CommitMode) {
    if commits.count() == 0 {
        return;
    }
    if let Err(error) = consumer.commit(commits, mode) {
        tracing::warn!(message = "offset commit failed (lag monitoring only; landing unaffected)", %error);
    }
}

/// A partition and its high watermark when an until-caught-up run started.
#[derive(Debug, Clone)]
struct Target {
    tenant: TenantId,
    topic: String,
    partition: i32,
    high: i64,
}

fn start_watermarks(
    consumer: &BaseConsumer<LandingContext>,
    config: &LandingConfig,
) -> Result<Vec<Target>> {
    // One tenant: ask for its topic by name, so a credential that may not read it is an error
    // naming the topic rather than an empty, "caught up" run.
    if let Some(tenant) = &config.only_tenant {
        let topic = super::topics::topic_for(tenant);
        if !super::produce::topic_exists(consumer.client(), &topic)? {
            return Err(IngestError::KafkaProtocol(format!(
                "topic {topic} does not exist"
            )));
        }
    }
    let metadata = consumer
        .fetch_metadata(None, METADATA_TIMEOUT)
        .map_err(IngestError::kafka(
            "fetching metadata",
            &config.connection.brokers,
        ))?;
    let mut targets = Vec::new();
    for topic in metadata.topics() {
        let Some(tenant) = tenant_of_topic(topic.name()) else {
            continue;
        };
        if config
            .only_tenant
            .as_ref()
            .is_some_and(|only| only != &tenant)
        {
            continue;
        }
        for partition in topic.partitions() {
            let (low, high) = consumer
                .fetch_watermarks(topic.name(), partition.id(), METADATA_TIMEOUT)
                .map_err(IngestError::kafka(
                    "fetching watermarks",
                    format!("{}/{}", topic.name(), partition.id()),
                ))?;
            if high > low {
                targets.push(Target {
                    tenant: tenant.clone(),
                    topic: topic.name().to_string(),
                    partition: partition.id(),
                    high,
                });
            }
        }
    }
    tracing::info!(
        message = "draining to the start high watermarks",
        partitions = targets.len()
    );
    Ok(targets)
}

/// Progress of partitions this process does not own, read from the landed files now and then.
#[derive(Default)]
struct LandedElsewhere {
    checked_at: Option<Instant>,
    next: BTreeMap<(String, i32), i64>,
}

impl LandedElsewhere {
    fn all_caught_up(
        &mut self,
        consumer: &BaseConsumer<LandingContext>,
        targets: &[Target],
        store: &dyn Storage,
    ) -> Result<bool> {
        let refresh = self
            .checked_at
            .is_none_or(|at| at.elapsed() >= Duration::from_secs(2));
        if refresh {
            self.checked_at = Some(Instant::now());
        }
        let state = lock(&consumer.context().state);
        for target in targets {
            let owned = state
                .buffers
                .iter()
                .find(|b| b.partition == target.partition && b.topic == target.topic);
            let next = match owned {
                Some(buffer) => buffer.next_offset,
                None => {
                    let key = (target.topic.clone(), target.partition);
                    if refresh || !self.next.contains_key(&key) {
                        let next = landed_next_offset(
                            store,
                            &target.tenant,
                            &target.topic,
                            target.partition,
                        )?;
                        self.next.insert(key.clone(), next);
                    }
                    self.next.get(&key).copied().unwrap_or(0)
                }
            };
            if next < target.high {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

/// The periodic one-line status: messages/s and lag per tenant.
struct Status {
    every: Duration,
    last_at: Instant,
    last_consumed: u64,
}

impl Status {
    fn new(every: Duration) -> Self {
        Status {
            every,
            last_at: Instant::now(),
            last_consumed: 0,
        }
    }

    fn maybe_log(&mut self, consumer: &BaseConsumer<LandingContext>) {
        if self.last_at.elapsed() < self.every {
            return;
        }
        let (consumed, positions) = {
            let state = lock(&consumer.context().state);
            let positions: Vec<(String, String, i32, i64)> = state
                .buffers
                .iter()
                .map(|b| {
                    (
                        b.landed.tenant.to_string(),
                        b.topic.clone(),
                        b.partition,
                        b.next_offset,
                    )
                })
                .collect();
            (state.summary.consumed, positions)
        };
        let mut lag: BTreeMap<String, i64> = BTreeMap::new();
        for (tenant, topic, partition, next) in positions {
            if let Ok((_, high)) =
                consumer.fetch_watermarks(&topic, partition, Duration::from_secs(1))
            {
                *lag.entry(tenant).or_default() += (high - next).max(0);
            }
        }
        let seconds = self.last_at.elapsed().as_secs_f64().max(0.001);
        let rate = (consumed - self.last_consumed) as f64 / seconds;
        let lag_text: Vec<String> = lag.iter().map(|(t, l)| format!("{t}={l}")).collect();
        tracing::info!(
            message = "status",
            messages_per_s = format!("{rate:.0}"),
            lag = lag_text.join(" "),
        );
        self.last_at = Instant::now();
        self.last_consumed = consumed;
    }
}
