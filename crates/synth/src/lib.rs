//! Deterministic synthetic attempt events with the published shape of the real dataset.
//!
//! [`generate`] streams `attempts` events for one tenant to any writer, as NDJSON or one JSON
//! array, in memory that does not grow with `attempts`. At 3,280 attempts the output reproduces
//! the reference export (see [`catalog`]): the exam catalog and its popularity, the
//! questions-per-attempt distribution, the 5 test records, 20 repeated attempts (some identical
//! redeliveries, some with different details), summary counts that disagree with the details at
//! a small rate, every option key variant, and started_at over 2017-11-21..2018-01-28 with the
//! published hour-of-day profile, not in time order. Other sizes scale every count.

pub mod catalog;
mod exams;
mod render;
mod sampler;

use std::collections::VecDeque;
use std::io::Write;

use examlake_core::TenantId;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use exams::mix;
use exams::{Attempt, Catalog};
use sampler::{scale, ExactSampler};

/// Output framing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line.
    Ndjson,
    /// One JSON array, one element per line.
    JsonArray,
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct GenerateConfig {
    pub tenant: TenantId,
    pub attempts: u64,
    pub seed: u64,
    pub format: Format,
    /// Share of attempts whose summary counts are made to disagree with the details.
    pub counts_mismatch_rate: f64,
}

/// What was generated, for the caller's summary.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GenerateSummary {
    pub attempts: u64,
    pub test_records: u64,
    pub duplicate_copies: u64,
    pub differing_copies: u64,
    pub counts_mismatches: u64,
    pub bytes: u64,
}

/// Errors writing the generated stream.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    #[error("writing generated attempts: {0}")]
    Write(#[from] std::io::Error),
}

/// A planned repeat of an attempt: emitted again once `due` events have been written.
struct PendingCopy {
    due: u64,
    attempt: Attempt,
}

/// Stream `config.attempts` events to `out`. `progress` is called every 10,000 events.
pub fn generate(
    config: &GenerateConfig,
    out: &mut impl Write,
    mut progress: impl FnMut(u64),
) -> Result<GenerateSummary, SynthError> {
    let seed = mix(config.seed, exams::hash_str(config.tenant.as_str()));
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let catalog = Catalog::new(seed);
    let plan = Plan::new(config.attempts, &catalog);
    let mut exam_sampler = ExactSampler::new(plan.originals_per_exam.clone());
    let mut questions_sampler =
        ExactSampler::new(plan.questions_per_attempt.iter().map(|(_, n)| *n).collect());
    let mut duplicates = plan.duplicates_by_exam.clone();
    let mut pending: VecDeque<PendingCopy> = VecDeque::new();
    let mut summary = GenerateSummary::default();
    let mut writer = render::Framing::new(config.format, out);

    while summary.attempts < config.attempts {
        let attempt = match pending.front() {
            Some(copy) if copy.due <= summary.attempts || exam_sampler.remaining() == 0 => {
                let copy = pending.pop_front().map(|c| c.attempt);
                summary.duplicate_copies += 1;
                copy
            }
            _ => None,
        };
        let attempt = match attempt {
            Some(attempt) => attempt,
            None => {
                let Some(exam_idx) = exam_sampler.draw(&mut rng) else {
                    break;
                };
                let n_questions = if exam_idx == catalog.test_exam_index() {
                    3
                } else {
                    let bucket = questions_sampler.draw(&mut rng).unwrap_or(3);
                    plan.questions_per_attempt[bucket].0
                };
                let mut attempt = catalog.attempt(exam_idx, n_questions as usize, &mut rng);
                if exam_idx != catalog.test_exam_index()
                    && rng.random::<f64>() < config.counts_mismatch_rate
                {
                    attempt.break_counts(&mut rng);
                    summary.counts_mismatches += 1;
                }
                let originals_left = exam_sampler.remaining_of(exam_idx) + 1;
                let owed = &mut duplicates[exam_idx];
                if !owed.is_empty() && rng.random_range(0..originals_left) < owed.len() as u64 {
                    let copies = owed.pop().unwrap_or(0);
                    schedule_copies(
                        copies,
                        &attempt,
                        summary.attempts,
                        &mut pending,
                        &mut summary,
                        &mut rng,
                    );
                }
                attempt
            }
        };
        if attempt.is_test {
            summary.test_records += 1;
        }
        summary.bytes += writer.write(&attempt)?;
        summary.attempts += 1;
        if summary.attempts % 10_000 == 0 {
            progress(summary.attempts);
        }
    }
    writer.finish()?;
    progress(summary.attempts);
    Ok(summary)
}

/// Queue `copies` later redeliveries of `attempt`: some identical, some with different details.
/// Groups are taken with probability owed / originals left, so every owed group is placed.
fn schedule_copies(
    copies: u32,
    attempt: &Attempt,
    position: u64,
    pending: &mut VecDeque<PendingCopy>,
    summary: &mut GenerateSummary,
    rng: &mut ChaCha8Rng,
) {
    let mut due = position;
    for _ in 0..copies {
        due += rng.random_range(1..400);
        let copy = if rng.random::<f64>() < 0.5 {
            attempt.clone()
        } else {
            summary.differing_copies += 1;
            attempt.regraded(rng)
        };
        pending.push_back(PendingCopy { due, attempt: copy });
    }
    pending.make_contiguous().sort_by_key(|c| c.due);
}

/// How many of what: every count scaled from the reference export to the requested size.
struct Plan {
    /// Originals (first deliveries) per exam index; the test exam is the last index.
    originals_per_exam: Vec<u64>,
    /// Extra copies still owed, per exam: one entry per repeated attempt, its number of copies.
    duplicates_by_exam: Vec<Vec<u32>>,
    questions_per_attempt: Vec<(u32, u64)>,
}

impl Plan {
    fn new(attempts: u64, catalog: &Catalog) -> Plan {
        let reference: Vec<u64> = catalog.reference_attempts();
        let per_exam = scale(&reference, attempts);
        let factor = attempts as f64 / f64::from(catalog::REFERENCE_ATTEMPTS);
        let mut duplicates_by_exam = vec![Vec::new(); per_exam.len()];
        let mut originals_per_exam = per_exam.clone();
        for (name, ids, copies) in catalog::DUPLICATE_GROUPS {
            let Some(idx) = catalog.index_of(name) else {
                continue;
            };
            let groups = (f64::from(ids) * factor).round() as u64;
            for _ in 0..groups {
                let extra = u64::from(copies - 1);
                // An exam keeps at least one original of its own.
                if originals_per_exam[idx] > extra + 1 {
                    originals_per_exam[idx] -= extra;
                    duplicates_by_exam[idx].push(copies - 1);
                }
            }
        }
        let non_test: u64 =
            originals_per_exam.iter().sum::<u64>() - originals_per_exam[catalog.test_exam_index()];
        let reference_questions: Vec<u64> = catalog::QUESTIONS_PER_ATTEMPT
            .iter()
            .map(|(_, n)| u64::from(*n))
            .collect();
        let questions = scale(&reference_questions, non_test);
        let questions_per_attempt = catalog::QUESTIONS_PER_ATTEMPT
            .iter()
            .map(|(q, _)| *q)
            .zip(questions)
            .collect();
        Plan {
            originals_per_exam,
            duplicates_by_exam,
            questions_per_attempt,
        }
    }
}

#[cfg(test)]
mod tests;
