//! The Kafka baseline: read every message of a topic up to its high watermarks and discard it.
//! No parsing, no Parquet, no storage: what librdkafka alone costs, for `bench/compare_kafka_ingest.sh`.
//!
//! Usage: bare_consume BROKERS TOPIC

use std::collections::HashMap;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::Message;
use rdkafka::{ClientConfig, Offset, TopicPartitionList};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(brokers), Some(topic)) = (args.get(1), args.get(2)) else {
        return Err("usage: bare_consume BROKERS TOPIC".into());
    };
    let mut config = ClientConfig::new();
    // The same credential examlake uses (EXAMLAKE_KAFKA_USER/PASSWORD), if the broker wants one.
    if let (Ok(user), Ok(password)) = (
        std::env::var("EXAMLAKE_KAFKA_USER"),
        std::env::var("EXAMLAKE_KAFKA_PASSWORD"),
    ) {
        config
            .set("security.protocol", "SASL_PLAINTEXT")
            .set("sasl.mechanism", "SCRAM-SHA-256")
            .set("sasl.username", user)
            .set("sasl.password", password);
    }
    let consumer: BaseConsumer = config
        .set("bootstrap.servers", brokers)
        .set("group.id", "examlake-bench-bare")
        .set("enable.auto.commit", "false")
        .set("queued.max.messages.kbytes", "262144")
        .create()?;
    let metadata = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
    let mut assignment = TopicPartitionList::new();
    let mut remaining: HashMap<i32, i64> = HashMap::new();
    for t in metadata.topics() {
        for p in t.partitions() {
            let (low, high) = consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(10))?;
            if high > low {
                remaining.insert(p.id(), high);
                assignment.add_partition_offset(topic, p.id(), Offset::Beginning)?;
            }
        }
    }
    consumer.assign(&assignment)?;
    let start = Instant::now();
    let (mut messages, mut bytes) = (0u64, 0u64);
    while !remaining.is_empty() {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(message)) => {
                messages += 1;
                bytes += message.payload().map_or(0, <[u8]>::len) as u64;
                if remaining
                    .get(&message.partition())
                    .is_some_and(|high| message.offset() + 1 >= *high)
                {
                    remaining.remove(&message.partition());
                }
            }
            Some(Err(error)) => return Err(error.into()),
            None => {}
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!(
        "bare consume: {messages} messages, {} MB in {seconds:.1} s",
        bytes / 1_000_000
    );
    Ok(())
}
