//! The per-tenant exam models (ids, question pools, difficulty) and simulated attempts.

use chrono::{DateTime, NaiveDate, Utc};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::catalog::{self, EXAMS, START_HOUR_WEIGHTS, TEST_EXAM_ID, TEST_EXAM_NAME};

/// Questions in each exam's pool; an attempt presents a subset.
const POOL_SIZE: usize = 20;
/// Share of questions left unanswered.
const UNANSWERED_RATE: f64 = 0.04;
/// Share of unchecked options that were clicked and then unchecked (they keep `at`).
const UNCHECKED_CLICK_RATE: f64 = 0.03;

/// SplitMix64 finaliser: a stable 64-bit mix of two values (ids must not depend on rand's version).
pub fn mix(a: u64, b: u64) -> u64 {
    let mut z = a ^ b.wrapping_add(0x9e37_79b9_7f4a_7c15).rotate_left(17);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// FNV-1a of a string, for seeding from names.
pub fn hash_str(value: &str) -> u64 {
    examlake_core::fingerprint::fnv1a64(value.bytes())
}

fn uuid_v4(bits: u128) -> String {
    let b = (bits & !(0xf << 76) | (0x4 << 76)) & !(0x3 << 62) | (0x2 << 62);
    let hex = format!("{b:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A v1-looking id, like the older exams' `37f0a30a-7464-11e6-aa92-a8667f27e5dc`.
fn uuid_v1_style(bits: u128) -> String {
    let hex = format!("{bits:032x}");
    format!(
        "{}-{}-11e6-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[16..20],
        &hex[20..32]
    )
}

fn stable_uuid(seed: u64, parts: &[u64]) -> String {
    let hi = parts.iter().fold(seed, |h, p| mix(h, *p));
    uuid_v4((u128::from(hi) << 64) | u128::from(mix(hi, 0x5eed)))
}

fn random_uuid(rng: &mut impl Rng) -> String {
    uuid_v4(rng.random::<u128>())
}

#[derive(Debug, Clone)]
struct OptionModel {
    id: String,
    correct: bool,
}

#[derive(Debug, Clone)]
struct QuestionModel {
    id: String,
    options: Vec<OptionModel>,
    /// Probability that an average student answers right.
    easiness: f64,
}

#[derive(Debug, Clone)]
struct ExamModel {
    name: &'static str,
    base_exam_ids: Vec<String>,
    second_id_share: f64,
    sequence_id: String,
    /// Questions an attempt usually draws from (the pool's head).
    usual_size: usize,
    pool: Vec<QuestionModel>,
    is_test: bool,
}

/// All exams of one tenant; the test exam is the last index.
pub struct Catalog {
    exams: Vec<ExamModel>,
}

impl Catalog {
    pub fn new(seed: u64) -> Catalog {
        let mut exams: Vec<ExamModel> = EXAMS
            .iter()
            .enumerate()
            .map(|(idx, spec)| exam_model(seed, idx, spec))
            .collect();
        let mut test = exam_model(
            seed,
            exams.len(),
            &catalog::ExamSpec {
                name: TEST_EXAM_NAME,
                attempts: 0,
                mean_score: Some(0.5),
                second_id_share: 0.0,
            },
        );
        test.base_exam_ids = vec![TEST_EXAM_ID.to_string()];
        test.is_test = true;
        exams.push(test);
        Catalog { exams }
    }

    pub fn test_exam_index(&self) -> usize {
        self.exams.len() - 1
    }

    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.exams.iter().position(|e| e.name == name)
    }

    /// Attempts per exam index in the reference export.
    pub fn reference_attempts(&self) -> Vec<u64> {
        EXAMS
            .iter()
            .map(|e| u64::from(e.attempts))
            .chain([u64::from(catalog::TEST_RECORDS)])
            .collect()
    }

    /// Simulate one student's attempt at exam `exam_idx` with `n_questions` questions.
    pub fn attempt(&self, exam_idx: usize, n_questions: usize, rng: &mut ChaCha8Rng) -> Attempt {
        let exam = &self.exams[exam_idx];
        let ability = (rng.random::<f64>() + rng.random::<f64>() + rng.random::<f64>() - 1.5) * 1.6;
        let started_ms = started_at_ms(rng);
        let base_exam_id =
            if exam.base_exam_ids.len() > 1 && rng.random::<f64>() < exam.second_id_share {
                exam.base_exam_ids[1].clone()
            } else {
                exam.base_exam_ids[0].clone()
            };
        let n_questions = n_questions.clamp(1, POOL_SIZE);
        let head = exam.usual_size.max(n_questions);
        let mut chosen: Vec<&QuestionModel> = exam.pool[..head].iter().collect();
        chosen.shuffle(rng);
        chosen.truncate(n_questions);
        let mut clock_ms = started_ms + rng.random_range(2_000..8_000);
        let questions: Vec<AnsweredQuestion> = chosen
            .into_iter()
            .map(|q| {
                let answered = answer(q, ability, clock_ms, rng);
                clock_ms += rng.random_range(4_000..30_000);
                answered
            })
            .collect();
        let keen_micros = clock_ms * 1_000 + rng.random_range(2_000_000..4_000_000);
        let mut attempt = Attempt {
            is_test: exam.is_test,
            keen_micros,
            keen_extra_digit: if rng.random::<f64>() < 0.35 {
                Some(rng.random_range(1..10))
            } else {
                None
            },
            keen_id: format!(
                "{:08x}{:016x}",
                (keen_micros / 1_000_000) as u32,
                rng.random::<u64>()
            ),
            started_ms,
            base_exam_id,
            user_exam_id: random_uuid(rng),
            exam_name: exam.name,
            sequence_id: exam.sequence_id.clone(),
            questions,
            counts: None,
        };
        if exam.is_test {
            attempt
                .questions
                .iter_mut()
                .for_each(|q| q.omit_submitted_key = true);
        } else {
            attempt.counts = Some(Counts::of(&attempt.questions));
        }
        attempt
    }
}

fn exam_model(seed: u64, idx: usize, spec: &catalog::ExamSpec) -> ExamModel {
    let exam_seed = mix(seed, 1_000 + idx as u64);
    let mut rng = ChaCha8Rng::seed_from_u64(exam_seed);
    let mean = spec
        .mean_score
        .unwrap_or_else(|| rng.random_range(0.45..0.80));
    let id_style = rng.random::<f64>() < 0.5;
    let mut base_exam_ids = vec![if id_style {
        uuid_v1_style(rng.random())
    } else {
        uuid_v4(rng.random())
    }];
    if spec.second_id_share > 0.0 {
        base_exam_ids.push(uuid_v4(rng.random()));
    }
    let usual_size = *[3, 4, 4, 4, 5, 5, 6]
        .get(rng.random_range(0..7))
        .unwrap_or(&4);
    let pool = (0..POOL_SIZE)
        .map(|q| question_model(exam_seed, q, mean, &mut rng))
        .collect();
    ExamModel {
        name: spec.name,
        base_exam_ids,
        second_id_share: spec.second_id_share,
        sequence_id: stable_uuid(exam_seed, &[7]),
        usual_size,
        pool,
        is_test: false,
    }
}

fn question_model(exam_seed: u64, q: usize, mean: f64, rng: &mut ChaCha8Rng) -> QuestionModel {
    let n_options = [2, 3, 3, 4, 4, 4, 4, 4, 5, 6][rng.random_range(0..10)];
    let n_correct = match rng.random::<f64>() {
        x if x < 0.65 => 1,
        x if x < 0.9 => 2,
        _ => 3,
    }
    .min(n_options - 1);
    let options = (0..n_options)
        .map(|o| OptionModel {
            id: stable_uuid(exam_seed, &[q as u64, o as u64]),
            correct: o < n_correct,
        })
        .collect();
    let spread = (rng.random::<f64>() - 0.5) * 0.5;
    QuestionModel {
        id: stable_uuid(exam_seed, &[q as u64, 999]),
        options,
        easiness: (mean + spread).clamp(0.05, 0.98),
    }
}

/// started_at: a day in the reference range, an hour from the published profile.
fn started_at_ms(rng: &mut ChaCha8Rng) -> i64 {
    let first = NaiveDate::from_ymd_opt(2017, 11, 21).unwrap_or_default();
    let day = first + chrono::Days::new(rng.random_range(0..69));
    let total: u32 = START_HOUR_WEIGHTS.iter().sum();
    let mut ticket = rng.random_range(0..total);
    let hour = START_HOUR_WEIGHTS
        .iter()
        .position(|w| {
            if ticket < *w {
                true
            } else {
                ticket -= w;
                false
            }
        })
        .unwrap_or(12);
    let midnight = day
        .and_hms_opt(0, 0, 0)
        .unwrap_or_default()
        .and_utc()
        .timestamp_millis();
    let ms = midnight + hour as i64 * 3_600_000 + rng.random_range(0..3_600_000);
    let lo = DateTime::parse_from_rfc3339("2017-11-21T00:42:08.990Z")
        .map(|d| d.timestamp_millis())
        .unwrap_or(ms);
    let hi = DateTime::parse_from_rfc3339("2018-01-28T19:17:53.796Z")
        .map(|d| d.timestamp_millis())
        .unwrap_or(ms);
    ms.clamp(lo, hi)
}

fn logistic(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

fn logit(p: f64) -> f64 {
    (p / (1.0 - p)).ln()
}

/// Simulate one question: choose an outcome, then the option clicks that produce it.
fn answer(
    q: &QuestionModel,
    ability: f64,
    start_ms: i64,
    rng: &mut ChaCha8Rng,
) -> AnsweredQuestion {
    let n_correct_options = q.options.iter().filter(|o| o.correct).count();
    let p_right = logistic(logit(q.easiness) + ability);
    let result = if rng.random::<f64>() < UNANSWERED_RATE {
        "unanswered"
    } else if rng.random::<f64>() < p_right {
        "correct"
    } else if n_correct_options >= 2 && rng.random::<f64>() < 0.4 {
        "missed_some"
    } else {
        "incorrect"
    };
    answer_with(q, result, start_ms, rng)
}

fn answer_with(
    q: &QuestionModel,
    result: &'static str,
    start_ms: i64,
    rng: &mut ChaCha8Rng,
) -> AnsweredQuestion {
    let correct_idx: Vec<usize> = (0..q.options.len())
        .filter(|&i| q.options[i].correct)
        .collect();
    let wrong_idx: Vec<usize> = (0..q.options.len())
        .filter(|&i| !q.options[i].correct)
        .collect();
    let mut checked = vec![false; q.options.len()];
    match result {
        "correct" => correct_idx.iter().for_each(|&i| checked[i] = true),
        "missed_some" => {
            let keep = rng.random_range(1..correct_idx.len().max(2));
            correct_idx
                .iter()
                .take(keep)
                .for_each(|&i| checked[i] = true);
        }
        "incorrect" => {
            // The first wrong option is the popular distractor.
            let pick = if rng.random::<f64>() < 0.6 {
                wrong_idx[0]
            } else {
                wrong_idx[rng.random_range(0..wrong_idx.len())]
            };
            checked[pick] = true;
            if rng.random::<f64>() < 0.5 {
                correct_idx.iter().take(1).for_each(|&i| checked[i] = true);
            }
        }
        _ => {}
    }
    let mut order: Vec<usize> = (0..q.options.len()).collect();
    order.shuffle(rng);
    let options = order
        .into_iter()
        .map(|i| {
            let clicked = checked[i] || rng.random::<f64>() < UNCHECKED_CLICK_RATE;
            AnsweredOption {
                id: q.options[i].id.clone(),
                checked: checked[i],
                at_ms: clicked.then(|| start_ms + rng.random_range(500..20_000)),
                correct: q.options[i].correct,
            }
        })
        .collect();
    AnsweredQuestion {
        id: q.id.clone(),
        result,
        options,
        omit_submitted_key: false,
    }
}

/// One rendered-to-be attempt.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub is_test: bool,
    pub keen_micros: i64,
    pub keen_extra_digit: Option<u8>,
    pub keen_id: String,
    pub started_ms: i64,
    pub base_exam_id: String,
    pub user_exam_id: String,
    pub exam_name: &'static str,
    pub sequence_id: String,
    pub questions: Vec<AnsweredQuestion>,
    pub counts: Option<Counts>,
}

#[derive(Debug, Clone)]
pub struct AnsweredQuestion {
    pub id: String,
    pub result: &'static str,
    pub options: Vec<AnsweredOption>,
    /// Test records omit `user_submitted`, one of the "missing keys" traps.
    pub omit_submitted_key: bool,
}

#[derive(Debug, Clone)]
pub struct AnsweredOption {
    pub id: String,
    pub checked: bool,
    pub at_ms: Option<i64>,
    pub correct: bool,
}

/// The summary block, as the service reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub incomplete: i64,
    pub submitted: i64,
    pub incorrect: i64,
    pub correct: i64,
    pub total: i64,
    pub unanswered: i64,
    pub all_correct: bool,
}

impl Counts {
    pub fn of(questions: &[AnsweredQuestion]) -> Counts {
        let count = |r: &str| questions.iter().filter(|q| q.result == r).count() as i64;
        let total = questions.len() as i64;
        let correct = count("correct");
        let unanswered = count("unanswered");
        Counts {
            incomplete: count("missed_some"),
            submitted: total - unanswered,
            incorrect: count("incorrect"),
            correct,
            total,
            unanswered,
            all_correct: correct == total,
        }
    }
}

impl Attempt {
    /// Make the summary disagree with the details, the ways the seed analysis saw.
    pub fn break_counts(&mut self, rng: &mut ChaCha8Rng) {
        let Some(counts) = self.counts.as_mut() else {
            return;
        };
        match rng.random_range(0..3) {
            0 => counts.total += 1,
            1 if counts.incorrect > 0 => {
                counts.incorrect -= 1;
                counts.correct += 1;
            }
            _ => counts.correct = (counts.correct - 1).max(0),
        }
        if counts.correct == counts.total {
            counts.all_correct = true;
        }
        if Counts::of(&self.questions) == *counts {
            counts.total += 1;
        }
    }

    /// A redelivery of the same attempt (same keen_id and user_exam_id) whose details differ:
    /// one question regraded, and a record time later, earlier, or equal.
    pub fn regraded(&self, rng: &mut ChaCha8Rng) -> Attempt {
        let mut copy = self.clone();
        let n_questions = copy.questions.len();
        if n_questions > 0 {
            let idx = rng.random_range(0..n_questions);
            let question = &mut copy.questions[idx];
            let results = ["correct", "incorrect", "unanswered"];
            let others: Vec<&'static str> = results
                .into_iter()
                .filter(|r| *r != question.result)
                .collect();
            let new_result = others[rng.random_range(0..others.len())];
            regrade_options(question, new_result);
        }
        copy.keen_micros += match rng.random_range(0..3) {
            0 => 0,
            1 => rng.random_range(1..600) * 1_000_000,
            _ => -rng.random_range(1..600) * 1_000_000,
        };
        if copy.counts.is_some() {
            copy.counts = Some(Counts::of(&copy.questions));
        }
        copy
    }
}

/// Re-check options so that the question's details say `result`.
fn regrade_options(question: &mut AnsweredQuestion, result: &'static str) {
    question.result = result;
    let first_wrong = question.options.iter().position(|o| !o.correct);
    let at = question
        .options
        .iter()
        .filter_map(|o| o.at_ms)
        .min()
        .unwrap_or(0);
    for (i, option) in question.options.iter_mut().enumerate() {
        option.checked = match result {
            "correct" => option.correct,
            "incorrect" => Some(i) == first_wrong,
            _ => false,
        };
        if option.checked && option.at_ms.is_none() {
            option.at_ms = Some(at);
        }
    }
}

/// started_at as the service writes it: ISO-8601 UTC with milliseconds.
pub fn iso_ms(ms: i64) -> String {
    DateTime::<Utc>::from_timestamp_millis(ms)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}
