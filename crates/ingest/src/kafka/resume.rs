//! Where each partition resumes: read back from the landed raw file names, the single source of
//! truth. A raw file is written for every batch (after its quarantine file, even when every
//! message of the batch was quarantined), so the highest `last` offset in the names is complete.

use examlake_core::{layout, Storage, TenantId};

use crate::error::Result;
use crate::kafka::topics::source_of_topic;

/// The file-name prefix of one topic partition's batches.
pub(crate) fn partition_slug(topic: &str, partition: i32) -> String {
    layout::slug(&format!("{}/p{partition}", source_of_topic(topic)))
}

/// The next offset to land for `topic`/`partition`: one past the highest landed offset, or 0.
pub fn landed_next_offset(
    store: &dyn Storage,
    tenant: &TenantId,
    topic: &str,
    partition: i32,
) -> Result<i64> {
    let names: Vec<String> = store
        .list(&layout::raw_dir(tenant))?
        .iter()
        .map(|key| key.file_name().to_string())
        .collect();
    Ok(next_offset_from_names(
        &names,
        &partition_slug(topic, partition),
    ))
}

/// Pure: one past the highest `last` among `<slug>-<first>-<last>.parquet` names, or 0.
pub(crate) fn next_offset_from_names(names: &[String], slug: &str) -> i64 {
    let prefix = format!("{slug}-");
    names
        .iter()
        .filter_map(|name| {
            let range = name.strip_prefix(&prefix)?.strip_suffix(".parquet")?;
            let (first, last) = range.split_once('-')?;
            first.parse::<i64>().ok()?;
            last.parse::<i64>().ok()
        })
        .max()
        .map_or(0, |last| last + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resume_is_one_past_the_highest_landed_offset_of_that_partition_only() {
        let slug = partition_slug("assessments.acme", 2);
        assert_eq!(slug, "kafka-assessments.acme-p2");
        let names: Vec<String> = [
            "kafka-assessments.acme-p2-000000000000-000000000099.parquet",
            "kafka-assessments.acme-p2-000000000100-000000000149.parquet",
            "kafka-assessments.acme-p20-000000000000-000000009999.parquet",
            "kafka-assessments.acme-p1-000000000000-000000000500.parquet",
            "file-x.ndjson-00000000-000000000001-000000000900.parquet",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(next_offset_from_names(&names, &slug), 150);
        assert_eq!(
            next_offset_from_names(&names, &partition_slug("assessments.acme", 0)),
            0
        );
    }
}
