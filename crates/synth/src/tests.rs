//! Shape tests: the generator reproduces the reference export at 3,280 attempts.

use std::collections::HashMap;

use examlake_core::event::{parse_event, UserResult};

use super::*;

fn generate_reference(format: Format) -> (Vec<u8>, GenerateSummary) {
    let config = GenerateConfig {
        tenant: TenantId::parse("acme").unwrap_or_else(|e| panic!("{e}")),
        attempts: 3280,
        seed: 42,
        format,
        counts_mismatch_rate: 0.005,
    };
    let mut out = Vec::new();
    let summary = generate(&config, &mut out, |_| {}).unwrap_or_else(|e| panic!("{e}"));
    (out, summary)
}

#[test]
fn reference_size_reproduces_the_published_shape() -> Result<(), String> {
    let (bytes, summary) = generate_reference(Format::Ndjson);
    let lines: Vec<&[u8]> = bytes
        .split(|b| *b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    assert_eq!(lines.len(), 3280);
    assert_eq!(summary.test_records, 5);
    assert_eq!(summary.duplicate_copies, 38);
    assert!(summary.differing_copies > 0 && summary.differing_copies < 38);
    assert!(
        (5..=40).contains(&summary.counts_mismatches),
        "{}",
        summary.counts_mismatches
    );

    let mut per_exam: HashMap<String, u32> = HashMap::new();
    let mut per_total: HashMap<i64, u32> = HashMap::new();
    let mut ids_per_name: HashMap<String, std::collections::HashSet<String>> = HashMap::new();
    let mut per_user_exam: HashMap<String, u32> = HashMap::new();
    let (mut no_counts, mut unchecked_clicks, mut started) = (0, 0, Vec::new());
    for line in &lines {
        let event = parse_event(line)?;
        let name = event.exam_name.clone().ok_or("exam_name")?;
        *per_exam.entry(name.clone()).or_default() += 1;
        ids_per_name
            .entry(name)
            .or_default()
            .insert(event.base_exam_id.clone().ok_or("id")?);
        *per_user_exam
            .entry(event.user_exam_id.clone().ok_or("user_exam_id")?)
            .or_default() += 1;
        let sequences = event.sequences.ok_or("sequences")?;
        if sequences.counts.is_none() {
            no_counts += 1;
        }
        if event.base_exam_id.as_deref() != Some(catalog::TEST_EXAM_ID) {
            *per_total
                .entry(sequences.questions.len() as i64)
                .or_default() += 1;
        }
        for q in &sequences.questions {
            assert!(matches!(
                q.user_result,
                Some(
                    UserResult::Correct
                        | UserResult::Incorrect
                        | UserResult::MissedSome
                        | UserResult::Unanswered
                )
            ));
            unchecked_clicks += q
                .options
                .iter()
                .filter(|o| !o.is_checked() && o.at.is_some())
                .count();
        }
        started.push(event.started_at.ok_or("started_at")?);
    }
    // Popularity: the published head and tail, duplicates included.
    assert_eq!(per_exam["Learning Git"], 394);
    assert_eq!(per_exam["Introduction to Java 8"], 158);
    assert_eq!(per_exam["Learning to Visualize Data with D3.js"], 1);
    assert_eq!(per_exam[catalog::TEST_EXAM_NAME], 5);
    assert_eq!(per_exam.len(), 103);
    assert_eq!(
        ids_per_name.values().map(|ids| ids.len()).sum::<usize>(),
        107
    );
    assert_eq!(no_counts, 5);
    // Duplicates: 3,242 distinct attempts, 18 ids three times and 2 twice.
    assert_eq!(per_user_exam.len(), 3242);
    assert_eq!(per_user_exam.values().filter(|n| **n == 3).count(), 18);
    assert_eq!(per_user_exam.values().filter(|n| **n == 2).count(), 2);
    // Questions per attempt: the 4-question mode, and a long tail up to 20.
    let four = per_total.get(&4).copied().unwrap_or(0);
    assert!((1600..=1700).contains(&four), "4-question attempts: {four}");
    assert!(per_total.get(&20).copied().unwrap_or(0) >= 1);
    assert!(!per_total.contains_key(&9));
    assert!(
        unchecked_clicks > 0,
        "the clicked-then-unchecked option variant occurs"
    );
    // Time range and disorder.
    let (min, max) = (started.iter().min().cloned(), started.iter().max().cloned());
    assert!(
        min >= Some("2017-11-21T00:42:08.990Z".to_string())
            && max <= Some("2018-01-28T19:17:53.796Z".to_string())
    );
    assert!(started.windows(2).any(|w| w[0] > w[1]), "not in time order");
    Ok(())
}

#[test]
fn deterministic_per_seed_and_tenant() {
    let (a, _) = generate_reference(Format::Ndjson);
    let (b, _) = generate_reference(Format::Ndjson);
    assert!(a == b, "same seed, same bytes");
    let config = GenerateConfig {
        tenant: TenantId::parse("globex").unwrap_or_else(|e| panic!("{e}")),
        attempts: 50,
        seed: 42,
        format: Format::Ndjson,
        counts_mismatch_rate: 0.0,
    };
    let mut c = Vec::new();
    let _ = generate(&config, &mut c, |_| {});
    assert!(!a.starts_with(&c[..100]));
}

#[test]
fn json_array_framing_parses_as_one_array() -> Result<(), String> {
    let (bytes, _) = generate_reference(Format::JsonArray);
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
    assert_eq!(value.as_array().map(Vec::len), Some(3280));
    Ok(())
}
