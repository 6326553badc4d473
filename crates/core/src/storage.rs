//! The storage seam: every byte examlake reads or writes in a warehouse goes through [`Storage`].
//!
//! [`open`] picks the implementation from the warehouse URL. Today that is [`LocalStorage`]
//! for a plain path or `file://`, and [`crate::hdfs::HdfsStorage`] for `hdfs://`.
//! Writes are atomic: a file appears under its final name complete or not at all.

use std::fmt::Debug;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The shared byte buffer staged files are held in (re-exported so writers need no dependency of their own).
pub use bytes::Bytes;

use crate::error::{CoreError, Result};
use crate::layout::Key;

/// A file written for a key but not yet visible under it (see [`Storage::stage`]).
#[derive(Debug)]
pub enum Staged {
    /// Only held in memory; publishing writes it atomically.
    Held { key: Key, bytes: Bytes },
    /// Already written under the temporary name `temp` beside its key; publishing renames it.
    Written { key: Key, temp: String },
}

/// A warehouse: a tree of immutable files addressed by [`Key`].
pub trait Storage: Send + Sync + Debug {
    /// The warehouse URL, for messages and lineage.
    fn url(&self) -> String;

    /// Write `bytes` under `key` atomically: to a temporary name, made durable, then renamed.
    /// An existing file under `key` is replaced.
    fn write_atomic(&self, key: &Key, bytes: &[u8]) -> Result<()>;

    /// Write `bytes` under `key` only if no file is there yet, atomically (a temporary name, then
    /// a link or rename that refuses to replace): `Ok(false)` when `key` already exists. Two
    /// writers racing for one key: exactly one gets `Ok(true)`.
    fn create_new(&self, key: &Key, bytes: &[u8]) -> Result<bool>;

    /// Read a whole file.
    fn read(&self, key: &Key) -> Result<Vec<u8>>;

    /// Every file under `prefix`, recursively, sorted by key. Temporary files are not listed.
    /// A missing prefix lists as empty.
    fn list(&self, prefix: &Key) -> Result<Vec<Key>>;

    /// Files under `prefix` that a write has not finished: the temporary names of
    /// `write_atomic`, left behind when a writer was killed before its rename. Only their owner
    /// may remove them, and only when no write of its own can be in flight.
    fn list_unfinished(&self, prefix: &Key) -> Result<Vec<Key>>;

    /// Names of the directories directly under the warehouse root (e.g. `tenant=acme`).
    fn root_dirs(&self) -> Result<Vec<String>>;

    /// Whether a file exists under `key`.
    fn exists(&self, key: &Key) -> Result<bool>;

    /// Delete a file; deleting a missing file is not an error.
    fn delete(&self, key: &Key) -> Result<()>;

    /// The local path of `key`, when this storage is a local filesystem (lets Polars scan directly).
    fn local_path(&self, key: &Key) -> Option<PathBuf>;

    /// Write `bytes` for `key` without making them visible yet: [`Storage::publish`] does, in
    /// whatever order the caller needs, and [`Storage::discard`] drops them. Lets a writer overlap
    /// slow writes and still make its files appear in order. By default the bytes are only held,
    /// and `publish` writes them atomically. `bytes` is shared, not copied: a writer that
    /// stages a file again after a failure keeps one buffer.
    fn stage(&self, key: &Key, bytes: Bytes) -> Result<Staged> {
        Ok(Staged::Held {
            key: key.clone(),
            bytes,
        })
    }

    /// Make a staged file visible under its key (replacing a file there).
    fn publish(&self, staged: &Staged) -> Result<()> {
        match staged {
            Staged::Held { key, bytes } => self.write_atomic(key, bytes),
            Staged::Written { key, .. } => Err(CoreError::Io {
                action: "publishing",
                path: PathBuf::from(key.as_str()),
                source: std::io::Error::other("staged by another storage"),
            }),
        }
    }

    /// Drop a staged file that will not be published (best effort: a temporary name left behind
    /// is listed by `list_unfinished`).
    fn discard(&self, _staged: &Staged) {}

    /// Whether staged writes gain from being in flight together: true where each write waits on
    /// a remote service (HDFS: about half a second for the NameNode to complete the file).
    fn overlaps_writes(&self) -> bool {
        false
    }

    /// Give a tenant's root to `owner` and `group` with mode 0770 (HDFS: needs the superuser), so
    /// jobs running as another tenant's user cannot list it while the service (in `group`) can
    /// still write. Local directories are left to the operating system's own users.
    fn set_tenant_owner(
        &self,
        _tenant: &crate::TenantId,
        _owner: &str,
        _group: &str,
    ) -> Result<()> {
        Ok(())
    }
}

/// Open the warehouse at `url`: a path, `file://<path>`, or `hdfs://host:port/path`.
pub fn open(url: &str) -> Result<Arc<dyn Storage>> {
    if let Some(path) = url.strip_prefix("file://") {
        return Ok(Arc::new(LocalStorage::new(path)?));
    }
    if url.starts_with("hdfs://") || url.starts_with("viewfs://") {
        return Ok(Arc::new(crate::hdfs::HdfsStorage::open(url)?));
    }
    if url.contains("://") {
        return Err(CoreError::UnsupportedWarehouse {
            url: url.to_string(),
            reason: "expected a local path, file://PATH or hdfs://HOST:PORT/PATH".to_string(),
        });
    }
    Ok(Arc::new(LocalStorage::new(url)?))
}

/// Suffix of in-flight files; never listed, never read.
pub(crate) const TEMP_SUFFIX: &str = ".inprogress";

/// A warehouse on the local filesystem.
#[derive(Debug, Clone)]
pub struct LocalStorage {
    root: PathBuf,
}

impl LocalStorage {
    /// A warehouse rooted at `root`, created if missing.
    pub fn new(root: impl AsRef<Path>) -> Result<Self> {
        let root = root.as_ref().to_path_buf();
        if root.as_os_str().is_empty() {
            return Err(CoreError::UnsupportedWarehouse {
                url: String::new(),
                reason: "the warehouse path is empty".into(),
            });
        }
        fs::create_dir_all(&root).map_err(CoreError::io("creating warehouse directory", &root))?;
        Ok(LocalStorage { root })
    }

    fn path_of(&self, key: &Key) -> PathBuf {
        self.root.join(key.as_str())
    }

    fn collect(&self, dir: &Path, unfinished: bool, into: &mut Vec<Key>) -> Result<()> {
        let entries = match fs::read_dir(dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(CoreError::Io {
                    action: "listing",
                    path: dir.to_path_buf(),
                    source: e,
                })
            }
        };
        for entry in entries {
            let entry = entry.map_err(CoreError::io("listing", dir))?;
            let path = entry.path();
            let file_type = entry
                .file_type()
                .map_err(CoreError::io("inspecting", &path))?;
            if file_type.is_dir() {
                self.collect(&path, unfinished, into)?;
            } else if path.to_string_lossy().ends_with(TEMP_SUFFIX) == unfinished {
                into.push(self.key_of(&path)?);
            }
        }
        Ok(())
    }

    fn key_of(&self, path: &Path) -> Result<Key> {
        let relative = path.strip_prefix(&self.root).unwrap_or(path);
        let text: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Key::parse(&text.join("/"))
    }
}

impl Storage for LocalStorage {
    fn url(&self) -> String {
        format!("file://{}", self.root.display())
    }

    fn write_atomic(&self, key: &Key, bytes: &[u8]) -> Result<()> {
        let path = self.path_of(key);
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(CoreError::io("creating directory", dir))?;
        let temp = path.with_file_name(format!(
            ".{}.{}{TEMP_SUFFIX}",
            key.file_name(),
            std::process::id()
        ));
        let mut file = fs::File::create(&temp).map_err(CoreError::io("creating", &temp))?;
        file.write_all(bytes)
            .map_err(CoreError::io("writing", &temp))?;
        file.sync_all().map_err(CoreError::io("syncing", &temp))?;
        drop(file);
        fs::rename(&temp, &path).map_err(CoreError::io("renaming into place", &path))?;
        // Make the rename itself durable.
        if let Ok(dir_handle) = fs::File::open(dir) {
            let _ = dir_handle.sync_all();
        }
        Ok(())
    }

    fn create_new(&self, key: &Key, bytes: &[u8]) -> Result<bool> {
        let path = self.path_of(key);
        let temp = path.with_file_name(format!(
            ".{}.{}.new{TEMP_SUFFIX}",
            key.file_name(),
            std::process::id()
        ));
        let dir = path.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(CoreError::io("creating directory", dir))?;
        fs::write(&temp, bytes).map_err(CoreError::io("writing", &temp))?;
        // A hard link, unlike a rename, refuses to replace an existing file.
        let linked = fs::hard_link(&temp, &path);
        let _ = fs::remove_file(&temp);
        match linked {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
            Err(e) => Err(CoreError::Io {
                action: "creating",
                path,
                source: e,
            }),
        }
    }

    fn read(&self, key: &Key) -> Result<Vec<u8>> {
        let path = self.path_of(key);
        fs::read(&path).map_err(CoreError::io("reading", path))
    }

    fn list(&self, prefix: &Key) -> Result<Vec<Key>> {
        let mut keys = Vec::new();
        self.collect(&self.path_of(prefix), false, &mut keys)?;
        keys.sort();
        Ok(keys)
    }

    fn list_unfinished(&self, prefix: &Key) -> Result<Vec<Key>> {
        let mut keys = Vec::new();
        self.collect(&self.path_of(prefix), true, &mut keys)?;
        keys.sort();
        Ok(keys)
    }

    fn root_dirs(&self) -> Result<Vec<String>> {
        let entries = fs::read_dir(&self.root).map_err(CoreError::io("listing", &self.root))?;
        let mut names: Vec<String> = entries
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        Ok(names)
    }

    fn exists(&self, key: &Key) -> Result<bool> {
        Ok(self.path_of(key).is_file())
    }

    fn delete(&self, key: &Key) -> Result<()> {
        let path = self.path_of(key);
        match fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(CoreError::Io {
                action: "deleting",
                path,
                source: e,
            }),
            _ => Ok(()),
        }
    }

    fn local_path(&self, key: &Key) -> Option<PathBuf> {
        Some(self.path_of(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_round_trip_lists_only_complete_files() -> Result<()> {
        let dir = tempfile::tempdir().map_err(CoreError::io("tempdir", "/tmp"))?;
        let store = open(&dir.path().display().to_string())?;
        let key = Key::parse("tenant=acme/raw/date=2026-01-01/a.parquet")?;
        store.write_atomic(&key, b"hello")?;
        std::fs::write(
            dir.path()
                .join("tenant=acme/raw/date=2026-01-01/.b.parquet.1.inprogress"),
            b"partial",
        )
        .map_err(CoreError::io("write", "temp"))?;
        assert_eq!(store.read(&key)?, b"hello");
        assert_eq!(store.list(&Key::parse("tenant=acme")?)?, vec![key.clone()]);
        assert!(store.list(&Key::parse("tenant=globex")?)?.is_empty());
        let unfinished = Key::parse("tenant=acme/raw/date=2026-01-01/.b.parquet.1.inprogress")?;
        assert_eq!(
            store.list_unfinished(&Key::parse("tenant=acme")?)?,
            vec![unfinished.clone()]
        );
        store.delete(&unfinished)?;
        assert!(store
            .list_unfinished(&Key::parse("tenant=acme")?)?
            .is_empty());
        store.write_atomic(&key, b"again")?;
        assert_eq!(store.read(&key)?, b"again");
        store.delete(&key)?;
        assert!(!store.exists(&key)?);
        Ok(())
    }

    #[test]
    fn create_new_writes_once_and_then_refuses() -> Result<()> {
        let dir = tempfile::tempdir().map_err(CoreError::io("tempdir", "/tmp"))?;
        let store = LocalStorage::new(dir.path())?;
        let key = Key::parse("tenant=t/tables/_lock")?;
        assert!(store.create_new(&key, b"first")?);
        assert!(!store.create_new(&key, b"second")?);
        assert_eq!(store.read(&key)?, b"first");
        assert!(store.list_unfinished(&Key::parse("tenant=t")?)?.is_empty());
        store.delete(&key)?;
        assert!(store.create_new(&key, b"third")?);
        assert_eq!(store.read(&key)?, b"third");
        Ok(())
    }

    #[test]
    fn unsupported_urls_are_named() {
        let error = open("s3://bucket/x")
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(error.contains("s3://bucket/x"), "{error}");
    }
}
