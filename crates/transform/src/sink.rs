//! Writing frames to the warehouse as Parquet, atomically.

use std::io::Cursor;

use examlake_core::layout::Key;
use examlake_core::Storage;
use polars::prelude::*;

use crate::error::{Result, TransformError};

/// A file encoded and ready to be written.
pub type Encoded = (Key, Vec<u8>);

/// Encode `df` as zstd Parquet and write it under `key` (temporary name, then rename).
pub fn write_parquet(store: &dyn Storage, key: &Key, df: &mut DataFrame) -> Result<()> {
    let (key, bytes) = encode_parquet(key, df)?;
    store.write_atomic(&key, &bytes)?;
    Ok(())
}

/// Encode `df` as zstd Parquet, to be written under `key`.
pub fn encode_parquet(key: &Key, df: &mut DataFrame) -> Result<Encoded> {
    let mut bytes = Cursor::new(Vec::new());
    ParquetWriter::new(&mut bytes)
        .with_compression(ParquetCompression::Zstd(None))
        .finish(df)
        .map_err(|source| TransformError::Write {
            key: key.to_string(),
            source,
        })?;
    Ok((key.clone(), bytes.into_inner()))
}

/// Write encoded files, all at once (each atomically): a write's cost is mostly waiting (an
/// fsync; on HDFS the NameNode completing the file, which the client polls every 500 ms), so
/// the waits overlap instead of adding up. Returns the first failure, after every write ended.
pub fn write_all(store: &dyn Storage, files: &[Encoded]) -> Result<()> {
    std::thread::scope(|scope| {
        let writes: Vec<_> = files
            .iter()
            .map(|(key, bytes)| scope.spawn(move || store.write_atomic(key, bytes)))
            .collect();
        writes
            .into_iter()
            .map(crate::threads::joined)
            .collect::<std::result::Result<Vec<()>, _>>()
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use examlake_core::storage::LocalStorage;

    #[test]
    fn every_file_is_written_and_a_failed_one_is_reported() -> std::result::Result<(), String> {
        let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
        let store = LocalStorage::new(dir.path()).map_err(|e| e.to_string())?;
        let key = |name: &str| Key::parse(name).map_err(|e| e.to_string());
        // A non-empty directory where the second file goes: its rename fails.
        std::fs::create_dir_all(dir.path().join("t/b.parquet/occupied"))
            .map_err(|e| e.to_string())?;
        let files = vec![
            (key("t/a.parquet")?, b"a".to_vec()),
            (key("t/b.parquet")?, b"b".to_vec()),
            (key("t/c.parquet")?, b"c".to_vec()),
        ];
        let failed = write_all(&store, &files);
        assert!(
            matches!(failed, Err(TransformError::Storage(_))),
            "{failed:?}"
        );
        for name in ["a", "c"] {
            let written = std::fs::read(dir.path().join(format!("t/{name}.parquet")));
            assert_eq!(written.ok(), Some(name.as_bytes().to_vec()));
        }
        write_all(&store, &files[..1]).map_err(|e| e.to_string())
    }
}
