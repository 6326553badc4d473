//! Transform settings: which tenant, and the data-quality rules.

use examlake_core::TenantId;

use crate::data_quality::Thresholds;

/// What to transform.
#[derive(Debug, Clone)]
pub struct TransformConfig {
    pub tenant: TenantId,
    pub rules: DataQualityRules,
    /// Warn/error thresholds per data-quality rule.
    pub thresholds: Thresholds,
    /// New raw files are applied in batches of about this many records (memory is bounded by it).
    pub batch_records: usize,
    /// A batch's latest arrivals, up to this many kept attempts, form a part of their own (0: never).
    /// Redeliveries and regraded versions arrive soon after the original, so a later batch that
    /// re-decides them rewrites this small part instead of the whole batch's part.
    pub recent_part_attempts: usize,
    /// Rebuild every table from all raw files instead of applying only new ones.
    pub full_rebuild: bool,
    /// At the end of a run, merge runs of small parts (see `compaction`). Off, every batch's
    /// parts stay as written.
    pub merge_small_parts: bool,
    /// Take the tenant's transform lock even when its holder may still be running (see `lock`).
    pub break_lock: bool,
    /// The keen_id index keeps up to this many attempts in memory (about 14 bytes each); past
    /// that it moves them to a scratch file in the temporary directory, so memory stops growing
    /// with the tenant's history.
    pub index_memory_attempts: usize,
}

/// Default batch size: about 0.9 GB of peak memory on the reference data (1.0 GB before a batch
/// dropped its raw files before building frames, 1.1 GB before the read-ahead handed parsed files
/// over through a rendezvous channel). Measured on 1M attempts
/// (full rebuilds, 2 cores): 50k took 36-43 s and 1.13 GB, 100k 41-45 s and 1.66-1.70 GB (more
/// memory to fault in), 25k 48.8 s and 0.93 GB (more per-batch work).
pub const DEFAULT_BATCH_RECORDS: usize = 50_000;

/// Default for [`TransformConfig::index_memory_attempts`]: about 15 MB of index in memory.
pub const DEFAULT_INDEX_MEMORY_ATTEMPTS: usize = crate::part_map::SPILL_AT;

/// Default size of a batch's part of latest arrivals (see [`TransformConfig::recent_part_attempts`]).
pub const DEFAULT_RECENT_PART_ATTEMPTS: usize = 5_000;

impl TransformConfig {
    /// Standard rules and thresholds, incremental, default batch size.
    pub fn new(tenant: TenantId) -> TransformConfig {
        TransformConfig {
            tenant,
            rules: DataQualityRules::standard(),
            thresholds: Thresholds::default(),
            batch_records: DEFAULT_BATCH_RECORDS,
            recent_part_attempts: DEFAULT_RECENT_PART_ATTEMPTS,
            full_rebuild: false,
            merge_small_parts: true,
            break_lock: false,
            index_memory_attempts: DEFAULT_INDEX_MEMORY_ATTEMPTS,
        }
    }

    /// Changes when the rules that decide what is kept change (thresholds do not count).
    pub fn rules_fingerprint(&self) -> String {
        let text = format!(
            "{:?}|{:?}",
            self.rules.test_exam_name_patterns, self.rules.test_exam_ids
        );
        format!("{:016x}", examlake_core::fingerprint::fnv1a64(text.bytes()))
    }
}

/// The configurable part of the data-quality rules.
#[derive(Debug, Clone)]
pub struct DataQualityRules {
    /// An attempt whose exam_name contains one of these (case-insensitive) is a test record.
    pub test_exam_name_patterns: Vec<String>,
    /// An attempt with one of these base_exam_ids is a test record.
    pub test_exam_ids: Vec<String>,
}

impl DataQualityRules {
    /// The rules for the data we know: the "Example Exam For Development and Testing" records.
    pub fn standard() -> Self {
        DataQualityRules {
            test_exam_name_patterns: vec!["example exam for development and testing".to_string()],
            test_exam_ids: vec!["example-id".to_string()],
        }
    }

    /// Whether an attempt is a test record under these rules.
    pub fn is_test(&self, exam_name: &str, base_exam_id: &str) -> bool {
        self.test_exam_ids.iter().any(|id| id == base_exam_id)
            || !self.test_exam_name_patterns.is_empty() && {
                let name = exam_name.to_lowercase();
                self.test_exam_name_patterns
                    .iter()
                    .any(|p| name.contains(&p.to_lowercase()))
            }
    }
}
