//! One transform at a time per tenant: a lock file in the tenant's warehouse
//! (`tenant=<t>/tables/_transform.lock`), created only if absent, removed when the run ends.
//!
//! Two transforms of one tenant would each commit a manifest naming only its own parts, and each
//! removes files its manifest does not name, including the other's unfinished writes. The lock
//! lives in the warehouse (local or HDFS), so it also keeps apart runs on different machines.
//!
//! A run killed with its lock held leaves the file behind. The next run takes it over when the
//! holder ran on this host and its process is gone, or its pid now belongs to another process
//! (pid reuse: the lock records its holder's start); a holder on another host cannot be checked
//! from here, so the run refuses and says how to break the lock once that run is known dead.

use examlake_core::layout::{self, Key};
use examlake_core::process::{lock_holder_runs, process_start_ticks, this_host};
use examlake_core::{Storage, TenantId};
use serde::{Deserialize, Serialize};

use crate::error::{Result, TransformError};

/// Who holds a tenant's transform lock.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Holder {
    pub host: String,
    pub pid: u32,
    pub started_at: String,
    /// The holder's start in clock ticks after boot: tells it from a later process given the same
    /// pid. (Absent from locks of earlier releases.)
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_ticks: Option<u64>,
}

impl Holder {
    fn this_process() -> Holder {
        Holder {
            host: this_host(),
            pid: std::process::id(),
            started_at: chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            start_ticks: process_start_ticks(std::process::id()),
        }
    }
}

impl std::fmt::Display for Holder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "pid {} on host {} since {}",
            self.pid, self.host, self.started_at
        )
    }
}

/// What to do about a lock file found in place.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Its holder may still be running: refuse.
    Held,
    /// Its holder is known to be gone (or the file says nothing usable): take it over.
    Stale,
}

/// Decide about an existing lock. `contents` is the file's text; `alive(pid, start_ticks)` says
/// whether the process of this host that took the lock (and started then) still runs.
pub fn verdict(contents: &str, host: &str, alive: impl Fn(u32, Option<u64>) -> bool) -> Verdict {
    match serde_json::from_str::<Holder>(contents) {
        Ok(holder) if holder.host != host || alive(holder.pid, holder.start_ticks) => Verdict::Held,
        Ok(_) => Verdict::Stale,
        // Written by create_new in one piece, so an unreadable lock is not a writer mid-way.
        Err(_) => Verdict::Stale,
    }
}

/// A held transform lock; dropping it removes the file.
#[derive(Debug)]
pub struct TransformLock<'a> {
    store: &'a dyn Storage,
    key: Key,
}

impl<'a> TransformLock<'a> {
    /// Take the tenant's lock, taking over a stale one; with `break_lock`, take over any.
    pub fn acquire(
        store: &'a dyn Storage,
        tenant: &TenantId,
        break_lock: bool,
    ) -> Result<TransformLock<'a>> {
        let key = layout::transform_lock_file(tenant);
        let me = Holder::this_process();
        let contents = serde_json::to_vec(&me)?;
        // Two rounds: the second follows taking over a stale lock.
        for _ in 0..2 {
            if store.create_new(&key, &contents)? {
                return Ok(TransformLock { store, key });
            }
            let found = match store.read(&key) {
                Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                // Released between our attempt and this read.
                Err(_) if !store.exists(&key)? => continue,
                Err(e) => return Err(e.into()),
            };
            let held = verdict(&found, &me.host, lock_holder_runs) == Verdict::Held;
            if held && !break_lock {
                return Err(TransformError::Locked {
                    tenant: tenant.to_string(),
                    key: key.to_string(),
                    holder: serde_json::from_str::<Holder>(&found)
                        .map(|h| h.to_string())
                        .unwrap_or_else(|_| found.trim().to_string()),
                });
            }
            tracing::warn!(
                message = "taking over the transform lock",
                tenant = %tenant,
                lock = %key,
                holder = %found.trim(),
                reason = if held { "--break-lock" } else { "its process is gone (or its pid was reused)" }
            );
            store.delete(&key)?;
        }
        Err(TransformError::Locked {
            tenant: tenant.to_string(),
            key: key.to_string(),
            holder: "another run that took it over at the same time".to_string(),
        })
    }
}

impl Drop for TransformLock<'_> {
    fn drop(&mut self) {
        if let Err(e) = self.store.delete(&self.key) {
            tracing::warn!(message = "could not remove the transform lock", lock = %self.key, error = %e);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lock_of(host: &str, pid: u32) -> String {
        serde_json::to_string(&Holder {
            host: host.to_string(),
            pid,
            started_at: "2026-11-28T22:00:00Z".to_string(),
            start_ticks: None,
        })
        .unwrap_or_default()
    }

    #[test]
    fn a_lock_of_a_running_process_here_is_held() {
        assert_eq!(verdict(&lock_of("h", 7), "h", |_, _| true), Verdict::Held);
    }

    #[test]
    fn a_lock_of_a_gone_process_here_is_stale() {
        assert_eq!(verdict(&lock_of("h", 7), "h", |_, _| false), Verdict::Stale);
    }

    #[test]
    fn a_lock_of_another_host_is_held_even_if_no_such_pid_runs_here() {
        assert_eq!(
            verdict(&lock_of("other", 7), "h", |_, _| false),
            Verdict::Held
        );
    }

    #[test]
    fn the_holder_is_asked_about_with_its_recorded_start() {
        let lock = serde_json::to_string(&Holder {
            start_ticks: Some(42),
            ..serde_json::from_str(&lock_of("h", 7)).unwrap_or_else(|e| panic!("{e}"))
        })
        .unwrap_or_default();
        let alive = |pid: u32, start: Option<u64>| pid == 7 && start == Some(42);
        assert_eq!(verdict(&lock, "h", alive), Verdict::Held);
    }

    #[test]
    fn an_unreadable_lock_is_stale() {
        assert_eq!(verdict("", "h", |_, _| true), Verdict::Stale);
        assert_eq!(verdict("{not json", "h", |_, _| true), Verdict::Stale);
    }

    #[test]
    fn the_lock_is_taken_released_and_refused_while_held(
    ) -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let store = examlake_core::storage::LocalStorage::new(dir.path())?;
        let tenant = TenantId::parse("acme")?;
        let key = layout::transform_lock_file(&tenant);
        {
            let _held = TransformLock::acquire(&store, &tenant, false)?;
            assert!(store.exists(&key)?);
            // This process is alive, so a second acquire is refused, naming the lock.
            match TransformLock::acquire(&store, &tenant, false) {
                Err(TransformError::Locked { key: named, .. }) => {
                    assert_eq!(named, key.to_string())
                }
                other => panic!("expected Locked, got {other:?}"),
            }
        }
        assert!(!store.exists(&key)?, "dropping the lock removes it");
        // A lock of a gone process is taken over.
        let gone = std::process::Command::new("true")
            .spawn()
            .and_then(|mut c| {
                let pid = c.id();
                c.wait().map(|_| pid)
            });
        if let Ok(pid) = gone {
            store.write_atomic(&key, lock_of(&this_host(), pid).as_bytes())?;
            let _taken = TransformLock::acquire(&store, &tenant, false)?;
            let holder: Holder = serde_json::from_slice(&store.read(&key)?)?;
            assert_eq!(holder.pid, std::process::id());
        }
        // A lock naming this process's pid but another start: the pid of a dead holder was
        // reused, so the lock is taken over.
        let reused = Holder {
            start_ticks: process_start_ticks(std::process::id()).map(|t| t + 1),
            ..Holder::this_process()
        };
        store.write_atomic(&key, &serde_json::to_vec(&reused)?)?;
        let _taken = TransformLock::acquire(&store, &tenant, false)?;
        let holder: Holder = serde_json::from_slice(&store.read(&key)?)?;
        assert_eq!(
            holder,
            Holder {
                started_at: holder.started_at.clone(),
                ..Holder::this_process()
            }
        );
        assert_ne!(holder.start_ticks, reused.start_ticks);
        Ok(())
    }
}
