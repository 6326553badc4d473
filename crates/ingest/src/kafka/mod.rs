//! Kafka: `produce` a file into a tenant's topic, and land topics exactly once as raw Parquet.
//!
//! One topic per tenant, `assessments.<tenant>`; a message's tenant comes from its topic, never
//! from its payload. Landing is exactly once because the resume position of every partition is
//! read back from the landed file names (`kafka-<topic>-p<partition>-<first>-<last>.parquet`);
//! offsets are committed to Kafka afterwards, for lag monitoring only.

mod connection;
mod landing;
mod partition_buffer;
mod produce;
mod resume;
mod topics;

pub use connection::KafkaConnection;
pub use landing::{run_landing, LandingConfig, LandingSummary, TenantCounts};
pub use partition_buffer::Rotation;
pub use produce::{ensure_topic, run_produce, ProduceConfig, ProduceSummary};
pub use resume::landed_next_offset;
pub use topics::{source_of_topic, subscription_pattern, tenant_of_topic, topic_for, TOPIC_PREFIX};
