//! The data-quality report: per rule its policy, count, rate, examples and status against
//! configurable warn/error thresholds, plus the reconciliation
//! `raw records = kept + quarantined + dropped duplicates`. Pure: built from counts and examples.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

/// Rule names, as in the `rule` column of `quarantine/transform` and the report.
pub const SCHEMA_VIOLATION: &str = "schema_violation";
pub const TEST_RECORD: &str = "test_record";
pub const EXACT_DUPLICATE: &str = "exact_duplicate";
pub const SUPERSEDED_VERSION: &str = "superseded_version";
pub const COUNTS_MISMATCH: &str = "counts_mismatch";
pub const COUNTS_MISSING: &str = "counts_missing";

/// Every rule with its documented policy, in report order.
pub const RULES: [(&str, &str); 6] = [
    (SCHEMA_VIOLATION, "quarantined: not a usable attempt (missing id, unparsable timestamp, no questions, wrong shape)"),
    (TEST_RECORD, "quarantined: test/dev record matched by the configured exam-name patterns or ids"),
    (EXACT_DUPLICATE, "dropped: an exact redelivery (same keen_id, same bytes) of an attempt already kept"),
    (SUPERSEDED_VERSION, "quarantined: an older version of a keen_id (latest keen_timestamp wins, ties to the later arrival)"),
    (COUNTS_MISMATCH, "kept, flagged counts_consistent=false: the summary counts disagree with the question details; details win"),
    (COUNTS_MISSING, "kept, flagged: the attempt has no summary counts"),
];

/// Warn and error thresholds as a share of raw records, per rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Thresholds(pub BTreeMap<String, (f64, f64)>);

impl Default for Thresholds {
    /// Defaults: the reference data has 0.15% test records, 1.2% repeats and about 0.5% mismatched counts.
    fn default() -> Self {
        let pairs = [
            (SCHEMA_VIOLATION, (0.001, 0.05)),
            (TEST_RECORD, (0.01, 0.20)),
            (EXACT_DUPLICATE, (0.05, 0.50)),
            (SUPERSEDED_VERSION, (0.02, 0.20)),
            (COUNTS_MISMATCH, (0.02, 0.20)),
            (COUNTS_MISSING, (0.01, 0.50)),
        ];
        Thresholds(
            pairs
                .into_iter()
                .map(|(rule, t)| (rule.to_string(), t))
                .collect(),
        )
    }
}

impl Thresholds {
    /// Parse `RULE=WARN:ERROR` (shares, e.g. `schema_violation=0.001:0.05`) and set it.
    pub fn set(&mut self, spec: &str) -> Result<(), String> {
        let (rule, values) = spec
            .split_once('=')
            .ok_or_else(|| format!("threshold {spec:?} is not RULE=WARN:ERROR"))?;
        if !RULES.iter().any(|(name, _)| *name == rule) {
            let known: Vec<&str> = RULES.iter().map(|(name, _)| *name).collect();
            return Err(format!(
                "unknown data-quality rule {rule:?} (known: {})",
                known.join(", ")
            ));
        }
        let (warn, error) = values
            .split_once(':')
            .ok_or_else(|| format!("threshold {spec:?} is not RULE=WARN:ERROR"))?;
        let share = |text: &str| text.parse::<f64>().ok().filter(|v| (0.0..=1.0).contains(v));
        match (share(warn), share(error)) {
            (Some(warn), Some(error)) if warn <= error => {
                self.0.insert(rule.to_string(), (warn, error));
                Ok(())
            }
            _ => Err(format!(
                "threshold {spec:?}: WARN and ERROR must be shares in 0..=1 with WARN <= ERROR"
            )),
        }
    }
}

/// ok, warn or error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    Warn,
    Error,
}

/// One rule's outcome.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleOutcome {
    pub rule: &'static str,
    pub policy: &'static str,
    pub count: usize,
    pub rate: f64,
    pub warn_at: f64,
    pub error_at: f64,
    pub status: Status,
    /// Up to 3 examples: where the record came from and why.
    pub examples: Vec<String>,
}

/// Records of one run, accounted for.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reconciliation {
    pub raw_records: usize,
    pub kept: usize,
    pub quarantined: usize,
    pub dropped_duplicates: usize,
    pub holds: bool,
}

/// Build every rule's outcome from its count and examples.
pub fn evaluate(
    raw_records: usize,
    counts: &BTreeMap<&'static str, (usize, Vec<String>)>,
    thresholds: &Thresholds,
) -> Vec<RuleOutcome> {
    RULES
        .iter()
        .map(|(rule, policy)| {
            let (count, examples) = counts.get(rule).cloned().unwrap_or_default();
            let rate = if raw_records == 0 {
                0.0
            } else {
                count as f64 / raw_records as f64
            };
            let (warn_at, error_at) = thresholds.0.get(*rule).copied().unwrap_or((1.0, 1.0));
            let status = if count > 0 && rate > error_at {
                Status::Error
            } else if count > 0 && rate > warn_at {
                Status::Warn
            } else {
                Status::Ok
            };
            RuleOutcome {
                rule,
                policy,
                count,
                rate,
                warn_at,
                error_at,
                status,
                examples: examples.into_iter().take(3).collect(),
            }
        })
        .collect()
}

/// The report as Markdown.
pub fn to_markdown(
    tenant: &str,
    reconciliation: &Reconciliation,
    rules: &[RuleOutcome],
    upkeep_warnings: &[String],
) -> String {
    let r = reconciliation;
    let mut out = format!(
        "# Data quality — tenant {tenant}\n\nReconciliation: {} raw records = {} kept + {} quarantined + {} dropped duplicates ({}).\n\n",
        r.raw_records, r.kept, r.quarantined, r.dropped_duplicates, if r.holds { "holds" } else { "DOES NOT HOLD" }
    );
    out += "| rule | status | count | rate | warn at | error at | policy |\n|---|---|---|---|---|---|---|\n";
    for rule in rules {
        let _ = writeln!(
            out,
            "| {} | {:?} | {} | {:.3}% | {:.3}% | {:.3}% | {} |",
            rule.rule,
            rule.status,
            rule.count,
            rule.rate * 100.0,
            rule.warn_at * 100.0,
            rule.error_at * 100.0,
            rule.policy
        );
    }
    for rule in rules.iter().filter(|r| !r.examples.is_empty()) {
        let _ = writeln!(out, "\n**{}** examples:\n", rule.rule);
        for example in &rule.examples {
            let _ = writeln!(out, "- {example}");
        }
    }
    if !upkeep_warnings.is_empty() {
        out += "\n**Upkeep warnings** (the run's data is committed; these did not fail it):\n\n";
        for warning in upkeep_warnings {
            let _ = writeln!(out, "- {warning}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_decide_the_status() {
        let mut counts = BTreeMap::new();
        counts.insert(
            SCHEMA_VIOLATION,
            (6, vec!["a".into(), "b".into(), "c".into(), "d".into()]),
        );
        counts.insert(COUNTS_MISMATCH, (3, vec![]));
        let outcomes = evaluate(100, &counts, &Thresholds::default());
        let by_rule = |name: &str| outcomes.iter().find(|o| o.rule == name).cloned();
        let schema = by_rule(SCHEMA_VIOLATION).unwrap_or_else(|| panic!("missing"));
        assert_eq!((schema.status, schema.examples.len()), (Status::Error, 3));
        assert_eq!(
            by_rule(COUNTS_MISMATCH).map(|o| o.status),
            Some(Status::Warn)
        );
        assert_eq!(by_rule(TEST_RECORD).map(|o| o.status), Some(Status::Ok));
    }

    #[test]
    fn thresholds_parse_and_reject() {
        let mut t = Thresholds::default();
        assert!(t.set("schema_violation=0.0:0.01").is_ok());
        assert_eq!(t.0.get(SCHEMA_VIOLATION), Some(&(0.0, 0.01)));
        assert!(t
            .set("nonsense=0:1")
            .err()
            .unwrap_or_default()
            .contains("unknown data-quality rule"));
        assert!(t.set("test_record=0.5:0.1").is_err());
        assert!(t.set("test_record").is_err());
    }
}
