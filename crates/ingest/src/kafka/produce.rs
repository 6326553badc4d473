//! `produce`: stream a JSON array or NDJSON file into a tenant's topic in constant memory.
//!
//! Every record is sent as it is, byte for byte, malformed or not (the landing side quarantines
//! what is malformed, so nothing is lost on the way). The key is the record's `user_exam_id`
//! when it has one. The run waits for every delivery report and counts failures.

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use examlake_core::TenantId;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::types::RDKafkaErrorCode as Code;
use rdkafka::ClientContext;

use super::connection::KafkaConnection;
use super::topics::topic_for;
use crate::error::{IngestError, Result};
use crate::file::open_records;

/// What to produce where.
#[derive(Debug, Clone)]
pub struct ProduceConfig {
    pub connection: KafkaConnection,
    pub tenant: TenantId,
    pub input: PathBuf,
    /// Partitions of the tenant's topic if it has to be created.
    pub partitions: i32,
    pub replication: i32,
}

/// Counts of one produce run: `read == delivered + failed`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct ProduceSummary {
    pub topic: String,
    pub read: u64,
    pub delivered: u64,
    pub failed: u64,
    /// Records sent without a key (no readable `user_exam_id`).
    pub without_key: u64,
    /// The first few delivery failures: input position and error.
    pub failures: Vec<(i64, String)>,
}

/// Send every record of `config.input` to the tenant's topic, creating the topic if needed.
/// `progress` receives the input bytes consumed so far.
pub fn run_produce(config: &ProduceConfig, progress: &dyn Fn(u64)) -> Result<ProduceSummary> {
    let topic = topic_for(&config.tenant);
    let producer: BaseProducer<DeliveryReports> = producer_config(&config.connection)
        .create_with_context(DeliveryReports::default())
        .map_err(IngestError::kafka(
            "creating producer",
            &config.connection.brokers,
        ))?;
    // A tenant credential may describe and write its topic but not create topics: create the
    // topic only when the broker says it does not exist.
    if !topic_exists(producer.client(), &topic)? {
        ensure_topic(
            &config.connection,
            &topic,
            config.partitions,
            config.replication,
        )?;
    }
    let (mut records, consumed) = open_records(&config.input)?;
    let mut summary = ProduceSummary {
        topic: topic.clone(),
        ..ProduceSummary::default()
    };
    let mut position = 0;
    while let Some(record) = records
        .next_record()
        .map_err(|source| IngestError::ReadInput {
            path: config.input.clone(),
            position,
            source,
        })?
    {
        position = record.position;
        summary.read += 1;
        let key = record_key(&record.bytes);
        summary.without_key += u64::from(key.is_none());
        send(
            &producer,
            &topic,
            &record.bytes,
            key.as_deref(),
            record.position,
        )?;
        if summary.read.is_multiple_of(10_000) {
            progress(consumed.get());
        }
    }
    producer
        .flush(Duration::from_secs(300))
        .map_err(IngestError::kafka("flushing", &topic))?;
    progress(consumed.get());
    let reports = producer.context();
    summary.delivered = reports.delivered.load(Ordering::Relaxed);
    summary.failed = reports.failed.load(Ordering::Relaxed);
    summary.failures = reports
        .failures
        .lock()
        .map(|f| f.clone())
        .unwrap_or_default();
    Ok(summary)
}

/// Send one record, waiting for room in the producer queue when it is full (constant memory).
fn send(
    producer: &BaseProducer<DeliveryReports>,
    topic: &str,
    payload: &[u8],
    key: Option<&str>,
    position: i64,
) -> Result<()> {
    let mut record = BaseRecord::with_opaque_to(topic, position as usize).payload(payload);
    if let Some(key) = key {
        record = record.key(key);
    }
    loop {
        match producer.send(record) {
            Ok(()) => {
                producer.poll(Duration::ZERO);
                return Ok(());
            }
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), returned)) => {
                producer.poll(Duration::from_millis(50));
                record = returned;
            }
            Err((error, _)) => {
                return Err(IngestError::Kafka {
                    action: "sending",
                    target: format!("{topic} (input record {position})"),
                    source: error,
                })
            }
        }
    }
}

fn producer_config(connection: &KafkaConnection) -> rdkafka::ClientConfig {
    let mut client = connection.client_config();
    client
        .set("client.id", "examlake-produce")
        .set("enable.idempotence", "true")
        .set("acks", "all")
        .set("linger.ms", "20")
        .set("compression.type", "lz4")
        .set("queue.buffering.max.kbytes", "65536")
        .set("message.max.bytes", "10485760");
    for (key, value) in &connection.options {
        client.set(key, value);
    }
    client
}

/// The record's `user_exam_id` as text (string or number), if it has one.
fn record_key(bytes: &[u8]) -> Option<String> {
    #[derive(serde::Deserialize)]
    struct KeyOnly {
        user_exam_id: Option<serde_json::Value>,
    }
    match serde_json::from_slice::<KeyOnly>(bytes)
        .ok()?
        .user_exam_id?
    {
        serde_json::Value::String(s) if !s.is_empty() => Some(s),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Whether `topic` exists; an authorization error is an error naming the topic.
pub(crate) fn topic_exists<C: rdkafka::ClientContext>(
    client: &rdkafka::client::Client<C>,
    topic: &str,
) -> Result<bool> {
    let metadata = client
        .fetch_metadata(Some(topic), Duration::from_secs(15))
        .map_err(IngestError::kafka("fetching metadata", topic))?;
    let Some(found) = metadata.topics().iter().find(|t| t.name() == topic) else {
        return Ok(false);
    };
    match found.error() {
        None => Ok(!found.partitions().is_empty()),
        Some(code) => {
            let code = RDKafkaErrorCode::from(code);
            if code == RDKafkaErrorCode::UnknownTopicOrPartition {
                Ok(false)
            } else {
                Err(IngestError::KafkaProtocol(format!("topic {topic}: {code}")))
            }
        }
    }
}

/// Create the tenant's topic if it does not exist yet.
pub fn ensure_topic(
    connection: &KafkaConnection,
    topic: &str,
    partitions: i32,
    replication: i32,
) -> Result<()> {
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = connection
        .client_config()
        .create()
        .map_err(IngestError::kafka(
            "creating admin client",
            &connection.brokers,
        ))?;
    let new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = futures::executor::block_on(admin.create_topics([&new_topic], &options))
        .map_err(IngestError::kafka("creating topic", topic))?;
    for result in results {
        match result {
            Ok(_) | Err((_, Code::TopicAlreadyExists)) => {}
            Err((name, code)) => {
                return Err(IngestError::KafkaProtocol(format!(
                    "creating topic {name}: {code}"
                )))
            }
        }
    }
    Ok(())
}

/// Counts delivery reports as librdkafka hands them back.
#[derive(Default)]
struct DeliveryReports {
    delivered: AtomicU64,
    failed: AtomicU64,
    failures: Mutex<Vec<(i64, String)>>,
}

impl ClientContext for DeliveryReports {}

impl ProducerContext for DeliveryReports {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, position: usize) {
        match result {
            Ok(_) => {
                self.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err((error, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                if let Ok(mut failures) = self.failures.lock() {
                    if failures.len() < 10 {
                        failures.push((position as i64, error.to_string()));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_the_user_exam_id_as_text() {
        assert_eq!(
            record_key(br#"{"user_exam_id":"abc","x":1}"#),
            Some("abc".into())
        );
        assert_eq!(record_key(br#"{"user_exam_id":123}"#), Some("123".into()));
        assert_eq!(record_key(br#"{"user_exam_id":null}"#), None);
        assert_eq!(record_key(br#"{"other":1}"#), None);
        assert_eq!(record_key(b"not json"), None);
    }
}
