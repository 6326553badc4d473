//! A warehouse on HDFS, through hdfs-native (a pure-Rust client: no JVM, no libhdfs).
//!
//! Writes go to a hidden temporary name in the target directory and are renamed over the final
//! name once the file is closed (the NameNode completes a file only when the DataNode pipeline
//! has acknowledged every block), so readers see a whole file or none. Tenant roots are created
//! with mode 0750: with HDFS permissions on, a job of one tenant cannot list another's files.
//! Strong isolation needs Kerberos; set `HADOOP_CONF_DIR` (core-site.xml with
//! `hadoop.security.authentication=kerberos`) and a ticket cache, and hdfs-native uses it.

use std::collections::HashSet;
use std::path::PathBuf;
use std::sync::Mutex;

use hdfs_native::{Client, ClientBuilder, HdfsError, WriteOptions};
use tokio::runtime::Runtime;

use crate::error::{CoreError, Result};
use crate::layout::Key;
use crate::storage::{Staged, Storage, TEMP_SUFFIX};

/// Mode of a tenant's root directory: owner and group only.
pub const TENANT_DIR_MODE: u32 = 0o750;

/// A warehouse under `hdfs://host:port/path`.
pub struct HdfsStorage {
    url: String,
    /// The warehouse path on the cluster, without scheme and authority, no trailing slash.
    root: String,
    client: Client,
    runtime: Runtime,
    tenant_roots_made: Mutex<HashSet<String>>,
}

impl std::fmt::Debug for HdfsStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HdfsStorage")
            .field("url", &self.url)
            .finish()
    }
}

impl HdfsStorage {
    /// Connect to the cluster of `url` (`hdfs://host:port/path`) and create the root if missing.
    pub fn open(url: &str) -> Result<Self> {
        let (authority, root) = split_url(url)?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("examlake-hdfs")
            .enable_all()
            .build()
            .map_err(CoreError::io("starting the HDFS client runtime", url))?;
        let client = ClientBuilder::new()
            .with_url(authority)
            .with_io_runtime(runtime.handle().clone())
            .build()
            .map_err(|e| hdfs_error("connecting to", url, e))?;
        let storage = HdfsStorage {
            url: url.trim_end_matches('/').to_string(),
            root,
            client,
            runtime,
            tenant_roots_made: Mutex::new(HashSet::new()),
        };
        storage
            .runtime
            .block_on(storage.client.mkdirs(&storage.root, 0o755, true))
            .map_err(|e| storage.error("creating warehouse directory", &storage.root, e))?;
        Ok(storage)
    }

    /// Write `bytes` complete under a temporary name beside `key`
    /// (`.<name>.<pid><tag>.inprogress`); returns that name and `key`'s path.
    fn write_temp(&self, key: &Key, tag: &str, payload: bytes::Bytes) -> Result<(String, String)> {
        self.ensure_tenant_root(key)?;
        let path = self.path_of(key);
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
        let temp = format!("{dir}/.{name}.{}{tag}{TEMP_SUFFIX}", std::process::id());
        let options = WriteOptions {
            overwrite: true,
            ..WriteOptions::default()
        };
        self.runtime
            .block_on(async {
                let mut writer = self.client.create(&temp, &options).await?;
                writer.write_bytes(payload).await?;
                writer.close().await
            })
            .map_err(|e| self.error("writing", &path, e))?;
        Ok((temp, path))
    }

    fn path_of(&self, key: &Key) -> String {
        format!("{}/{}", self.root, key.as_str())
    }

    fn error(&self, action: &'static str, path: &str, error: HdfsError) -> CoreError {
        hdfs_error(
            action,
            &format!("{}{}", self.authority_prefix(), path),
            error,
        )
    }

    fn authority_prefix(&self) -> &str {
        self.url
            .strip_suffix(&self.root)
            .unwrap_or(self.url.as_str())
    }

    /// Create `tenant=<t>` with [`TENANT_DIR_MODE`] before anything is written under it.
    fn ensure_tenant_root(&self, key: &Key) -> Result<()> {
        let Some((first, _)) = key.as_str().split_once('/') else {
            return Ok(());
        };
        if !first.starts_with("tenant=") {
            return Ok(());
        }
        let mut made = self
            .tenant_roots_made
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if made.contains(first) {
            return Ok(());
        }
        let path = format!("{}/{first}", self.root);
        self.runtime
            .block_on(async {
                self.client.mkdirs(&path, TENANT_DIR_MODE, true).await?;
                // mkdirs applies the umask; set the mode explicitly.
                self.client.set_permission(&path, TENANT_DIR_MODE).await
            })
            .map_err(|e| self.error("creating tenant directory", &path, e))?;
        made.insert(first.to_string());
        Ok(())
    }

    fn key_of(&self, path: &str) -> Result<Key> {
        let relative = path
            .strip_prefix(&self.root)
            .unwrap_or(path)
            .trim_start_matches('/');
        Key::parse(relative)
    }

    /// Finished files under `prefix`, or (`unfinished`) the temporary names of writes in flight.
    fn list_files(&self, prefix: &Key, unfinished: bool) -> Result<Vec<Key>> {
        let path = self.path_of(prefix);
        let statuses = match self.runtime.block_on(self.client.list_status(&path, true)) {
            Ok(statuses) => statuses,
            Err(HdfsError::FileNotFound(_)) => return Ok(Vec::new()),
            Err(e) => return Err(self.error("listing", &path, e)),
        };
        let mut keys = statuses
            .iter()
            .filter(|s| !s.isdir && s.path.ends_with(TEMP_SUFFIX) == unfinished)
            .map(|s| self.key_of(&s.path))
            .collect::<Result<Vec<Key>>>()?;
        keys.sort();
        Ok(keys)
    }
}

impl Storage for HdfsStorage {
    fn url(&self) -> String {
        self.url.clone()
    }

    fn write_atomic(&self, key: &Key, bytes: &[u8]) -> Result<()> {
        let (temp, path) = self.write_temp(key, "", bytes::Bytes::copy_from_slice(bytes))?;
        self.runtime
            .block_on(self.client.rename(&temp, &path, true))
            .map_err(|e| self.error("writing", &path, e))
    }

    fn stage(&self, key: &Key, bytes: bytes::Bytes) -> Result<Staged> {
        let (temp, _) = self.write_temp(key, "", bytes)?;
        Ok(Staged::Written {
            key: key.clone(),
            temp,
        })
    }

    fn publish(&self, staged: &Staged) -> Result<()> {
        match staged {
            Staged::Held { key, bytes } => self.write_atomic(key, bytes),
            Staged::Written { key, temp } => {
                let path = self.path_of(key);
                self.runtime
                    .block_on(self.client.rename(temp, &path, true))
                    .map_err(|e| self.error("writing", &path, e))
            }
        }
    }

    fn discard(&self, staged: &Staged) {
        if let Staged::Written { temp, .. } = staged {
            let _ = self.runtime.block_on(self.client.delete(temp, false));
        }
    }

    fn overlaps_writes(&self) -> bool {
        true
    }

    fn create_new(&self, key: &Key, bytes: &[u8]) -> Result<bool> {
        let (temp, path) = self.write_temp(key, ".new", bytes::Bytes::copy_from_slice(bytes))?;
        // A rename without overwrite fails when the target exists.
        match self
            .runtime
            .block_on(self.client.rename(&temp, &path, false))
        {
            Ok(_) => Ok(true),
            Err(e) => {
                let _ = self.runtime.block_on(self.client.delete(&temp, false));
                if self.exists(key)? {
                    Ok(false)
                } else {
                    Err(self.error("creating", &path, e))
                }
            }
        }
    }

    fn read(&self, key: &Key) -> Result<Vec<u8>> {
        let path = self.path_of(key);
        self.runtime
            .block_on(async {
                let reader = self.client.read(&path).await?;
                reader.read_range(0, reader.file_length()).await
            })
            .map(|bytes| bytes.to_vec())
            .map_err(|e| self.error("reading", &path, e))
    }

    fn list(&self, prefix: &Key) -> Result<Vec<Key>> {
        self.list_files(prefix, false)
    }

    fn list_unfinished(&self, prefix: &Key) -> Result<Vec<Key>> {
        self.list_files(prefix, true)
    }

    fn root_dirs(&self) -> Result<Vec<String>> {
        let statuses = self
            .runtime
            .block_on(self.client.list_status(&self.root, false))
            .map_err(|e| self.error("listing", &self.root, e))?;
        let mut names: Vec<String> = statuses
            .iter()
            .filter(|s| s.isdir)
            .filter_map(|s| s.path.rsplit('/').next().map(str::to_string))
            .collect();
        names.sort();
        Ok(names)
    }

    fn exists(&self, key: &Key) -> Result<bool> {
        let path = self.path_of(key);
        match self.runtime.block_on(self.client.get_file_info(&path)) {
            Ok(status) => Ok(!status.isdir),
            Err(HdfsError::FileNotFound(_)) => Ok(false),
            Err(e) => Err(self.error("inspecting", &path, e)),
        }
    }

    fn delete(&self, key: &Key) -> Result<()> {
        let path = self.path_of(key);
        match self.runtime.block_on(self.client.delete(&path, false)) {
            Ok(_) | Err(HdfsError::FileNotFound(_)) => Ok(()),
            Err(e) => Err(self.error("deleting", &path, e)),
        }
    }

    fn local_path(&self, _key: &Key) -> Option<PathBuf> {
        None
    }

    fn set_tenant_owner(&self, tenant: &crate::TenantId, owner: &str, group: &str) -> Result<()> {
        let path = format!("{}/{}", self.root, crate::layout::tenant_root(tenant));
        self.runtime
            .block_on(async {
                self.client
                    .mkdirs(&path, OWNED_TENANT_DIR_MODE, true)
                    .await?;
                self.client
                    .set_owner(&path, Some(owner), Some(group))
                    .await?;
                self.client
                    .set_permission(&path, OWNED_TENANT_DIR_MODE)
                    .await
            })
            .map_err(|e| self.error("giving the tenant directory to its owner", &path, e))?;
        // Its mode is settled: later writes must not reset it to the default 0750.
        self.tenant_roots_made
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(crate::layout::tenant_root(tenant).to_string());
        Ok(())
    }
}

/// Mode of a tenant root owned by the tenant's user: the service writes through the group.
pub const OWNED_TENANT_DIR_MODE: u32 = 0o770;

/// `hdfs://host:port/path` → (`hdfs://host:port`, `/path`).
fn split_url(url: &str) -> Result<(String, String)> {
    let unsupported = |reason: &str| CoreError::UnsupportedWarehouse {
        url: url.to_string(),
        reason: reason.to_string(),
    };
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| unsupported("expected hdfs://HOST:PORT/PATH"))?;
    let (authority, path) = match rest.split_once('/') {
        Some((authority, path)) => (authority, format!("/{}", path.trim_end_matches('/'))),
        None => (rest, String::new()),
    };
    if authority.is_empty() {
        return Err(unsupported(
            "the URL names no NameNode (hdfs://HOST:PORT/PATH)",
        ));
    }
    if path.len() <= 1 {
        return Err(unsupported(
            "give the warehouse a directory, e.g. hdfs://HOST:PORT/examlake (not the cluster root)",
        ));
    }
    if path.split('/').any(|segment| segment == "..") {
        return Err(unsupported("the path must not contain '..'"));
    }
    Ok((format!("{scheme}://{authority}"), path))
}

fn hdfs_error(action: &'static str, target: &str, error: HdfsError) -> CoreError {
    CoreError::Hdfs {
        action,
        url: target.to_string(),
        message: error.to_string(),
    }
}

/// The permission bits of `relative` under the warehouse at `url` (for checks and `tenant list`).
pub fn permission_of(url: &str, relative: &str) -> Result<u32> {
    let storage = HdfsStorage::open(url)?;
    let path = format!("{}/{relative}", storage.root);
    let status = storage
        .runtime
        .block_on(storage.client.get_file_info(&path))
        .map_err(|e| storage.error("inspecting", &path, e))?;
    Ok(u32::from(status.permission))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_namenode_and_warehouse_path() -> Result<()> {
        assert_eq!(
            split_url("hdfs://127.0.0.1:9000/examlake/")?,
            ("hdfs://127.0.0.1:9000".to_string(), "/examlake".to_string())
        );
        for bad in [
            "hdfs://127.0.0.1:9000",
            "hdfs://127.0.0.1:9000/",
            "hdfs:///x",
            "hdfs://h:1/a/../b",
        ] {
            assert!(split_url(bad).is_err(), "{bad}");
        }
        Ok(())
    }
}
