//! The records of one assigned partition not yet landed, and when to land them (rotation).

use std::time::{Duration, Instant};

use examlake_core::TenantId;

use crate::batch_writer::LandJob;
use crate::raw_batch::RawBatch;
use crate::validate::check_record;

/// When a partition's buffer becomes a file: whichever limit is reached first. `max_age` runs
/// on the wall clock from the first buffered message, so data becomes visible even when the
/// topic goes quiet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rotation {
    pub max_records: usize,
    pub max_bytes: usize,
    pub max_age: Duration,
}

impl Default for Rotation {
    fn default() -> Self {
        Rotation {
            max_records: 50_000,
            max_bytes: 128 * 1024 * 1024,
            max_age: Duration::from_secs(60),
        }
    }
}

/// What happened to one consumed message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Accepted {
    Landed,
    Quarantined,
    /// Already landed by an earlier run (offset below the resume position).
    AlreadyLanded,
}

/// One partition's pending batch plus its resume position.
#[derive(Debug)]
pub(crate) struct PartitionBuffer {
    pub topic: String,
    pub partition: i32,
    /// The next offset to land: everything below it is in landed files. Batches handed to the
    /// writer move it only once they are landed.
    pub next_offset: i64,
    pub landed: RawBatch,
    pub refused: RawBatch,
    first: Option<i64>,
    last: i64,
    opened_at: Option<Instant>,
}

impl PartitionBuffer {
    pub fn new(tenant: TenantId, topic: &str, partition: i32, next_offset: i64) -> Self {
        let source = super::topics::source_of_topic(topic);
        PartitionBuffer {
            topic: topic.to_string(),
            partition,
            next_offset,
            landed: RawBatch::new(tenant.clone(), source.clone(), partition, false),
            refused: RawBatch::new(tenant, source, partition, true),
            first: None,
            last: -1,
            opened_at: None,
        }
    }

    /// Take one message at `offset` (`payload` is `None` for a null message value).
    pub fn accept(
        &mut self,
        offset: i64,
        payload: Option<&[u8]>,
        max_record_bytes: usize,
    ) -> Accepted {
        if offset < self.next_offset || offset <= self.last {
            return Accepted::AlreadyLanded;
        }
        if self.first.is_none() {
            // The next offset expected: past the landed files and past the batches in flight.
            let expected = self.next_offset.max(self.last + 1);
            if offset > expected {
                tracing::warn!(
                    message = "offsets missing from Kafka (deleted by retention?)",
                    topic = %self.topic,
                    partition = self.partition,
                    from = expected,
                    to = offset - 1
                );
            }
            self.first = Some(offset);
            self.opened_at = Some(Instant::now());
        }
        self.last = offset;
        let verdict = match payload {
            None => Err("message has no value (null payload)".to_string()),
            Some(bytes) => check_record(bytes, max_record_bytes),
        };
        let bytes = payload.unwrap_or_default();
        match verdict {
            Ok(()) => {
                self.landed.push(offset, bytes, None);
                Accepted::Landed
            }
            Err(reason) => {
                self.refused.push(offset, bytes, Some(reason));
                Accepted::Quarantined
            }
        }
    }

    /// The offset range of the pending batch, if any.
    pub fn pending_range(&self) -> Option<(i64, i64)> {
        self.first.map(|first| (first, self.last))
    }

    /// Whether the pending batch must be landed now.
    pub fn is_due(&self, rotation: &Rotation, now: Instant) -> bool {
        let Some(opened) = self.opened_at else {
            return false;
        };
        self.landed.len() + self.refused.len() >= rotation.max_records
            || self.landed.n_bytes() + self.refused.n_bytes() >= rotation.max_bytes
            || now.duration_since(opened) >= rotation.max_age
    }

    /// The pending batch as a landing job; empty batches (built from `spare`'s buffers, when
    /// given) take its place. Offsets up to its last stay taken until the job comes back.
    pub fn take_batch(&mut self, spare: Option<RawBatch>) -> Option<LandJob> {
        let (first, last) = self.pending_range()?;
        self.first = None;
        self.opened_at = None;
        Some(LandJob {
            slug: super::resume::partition_slug(&self.topic, self.partition),
            first,
            last,
            landed: self.landed.take_filled(spare),
            refused: self.refused.take_filled(None),
        })
    }

    /// A batch ending at `last` is landed: resume after it.
    pub fn confirm_landed(&mut self, last: i64) {
        self.next_offset = self.next_offset.max(last + 1);
    }

    /// Forget the pending batch without landing it (it will be consumed again). Batches handed
    /// to the writer must have come back first: the resume position is taken as final.
    pub fn discard(&mut self) {
        self.landed.clear();
        self.refused.clear();
        self.first = None;
        self.last = self.next_offset - 1;
        self.opened_at = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffer(next: i64) -> PartitionBuffer {
        let tenant = TenantId::parse("acme").unwrap_or_else(|e| panic!("{e}"));
        PartitionBuffer::new(tenant, "assessments.acme", 0, next)
    }

    #[test]
    fn already_landed_and_redelivered_offsets_are_not_taken_twice() {
        let mut b = buffer(10);
        assert_eq!(b.accept(9, Some(b"{}"), 100), Accepted::AlreadyLanded);
        assert_eq!(b.accept(10, Some(b"{}"), 100), Accepted::Landed);
        assert_eq!(b.accept(10, Some(b"{}"), 100), Accepted::AlreadyLanded);
        assert_eq!(b.accept(11, Some(b"not json"), 100), Accepted::Quarantined);
        assert_eq!(b.accept(12, None, 100), Accepted::Quarantined);
        assert_eq!(b.pending_range(), Some((10, 12)));
        let job = b
            .take_batch(None)
            .unwrap_or_else(|| panic!("a pending batch"));
        assert_eq!(
            (job.first, job.last, job.landed.len(), job.refused.len()),
            (10, 12, 1, 2)
        );
        assert_eq!(b.pending_range(), None);
        // In flight: not landed yet, but its offsets are not taken again.
        assert_eq!(b.next_offset, 10);
        assert_eq!(b.accept(12, Some(b"{}"), 100), Accepted::AlreadyLanded);
        b.confirm_landed(job.last);
        assert_eq!(b.next_offset, 13);
        assert_eq!(b.accept(13, Some(b"{}"), 100), Accepted::Landed);
    }

    #[test]
    fn rotation_by_records_bytes_and_age() {
        let rotation = Rotation {
            max_records: 2,
            max_bytes: 1000,
            max_age: Duration::from_secs(60),
        };
        let now = Instant::now();
        let mut b = buffer(0);
        assert!(!b.is_due(&rotation, now));
        b.accept(0, Some(b"{}"), 100);
        assert!(!b.is_due(&rotation, Instant::now()));
        b.accept(1, Some(b"{}"), 100);
        assert!(b.is_due(&rotation, Instant::now()));

        let by_bytes = Rotation {
            max_records: 100,
            max_bytes: 4,
            max_age: Duration::from_secs(60),
        };
        let mut b = buffer(0);
        b.accept(0, Some(b"{\"a\":1}"), 100);
        assert!(b.is_due(&by_bytes, Instant::now()));

        let by_age = Rotation {
            max_records: 100,
            max_bytes: 1000,
            max_age: Duration::from_millis(0),
        };
        let mut b = buffer(0);
        b.accept(0, Some(b"{}"), 100);
        assert!(b.is_due(&by_age, Instant::now()));
    }

    #[test]
    fn discard_rewinds_to_the_resume_position() {
        let mut b = buffer(5);
        b.accept(5, Some(b"{}"), 100);
        b.accept(6, Some(b"{}"), 100);
        b.discard();
        assert_eq!(b.accept(5, Some(b"{}"), 100), Accepted::Landed);
    }
}
