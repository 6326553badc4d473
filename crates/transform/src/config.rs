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
        let name = exam_name.to_lowercase();
        self.test_exam_ids.iter().any(|id| id == base_exam_id)
            || self
                .test_exam_name_patterns
                .iter()
                .any(|p| name.contains(&p.to_lowercase()))
    }
}
