//! This host and its processes, for lock files that name their holder (the transform's tenant
//! lock, the nightly lock).

use chrono::{DateTime, Duration, Utc};

/// This machine's host name (`unknown-host` when it cannot be read).
pub fn this_host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .or_else(|| std::env::var("HOSTNAME").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "unknown-host".to_string())
}

/// Whether a process runs on this host: `/proc/<pid>` exists and is not a zombie. Without
/// `/proc`, assume it runs (the safe answer).
pub fn process_is_running(pid: u32) -> bool {
    if !std::path::Path::new("/proc/self").exists() {
        return true;
    }
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name, which may itself hold spaces.
        Ok(stat) => stat
            .rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_none_or(|state| state != "Z" && state != "X"),
        Err(_) => false,
    }
}

/// Whether the process running as `pid` on this host can be the one that took a lock at
/// `locked_at`: it runs, and it did not start after the lock was taken. A process that started
/// later got the pid of a dead holder by reuse, so the lock is stale. Unknown times count as the
/// holder (the safe answer).
pub fn lock_holder_runs(pid: u32, locked_at: Option<DateTime<Utc>>) -> bool {
    process_is_running(pid) && !started_after_lock(process_started_at(pid), locked_at)
}

/// Pure: whether a process that started at `started` cannot have taken a lock at `locked_at`.
/// Both clocks are this host's, read to the second (a lock file's time may be truncated to
/// the second, and the boot time is a whole second): a margin of a few seconds absorbs that.
pub fn started_after_lock(
    started: Option<DateTime<Utc>>,
    locked_at: Option<DateTime<Utc>>,
) -> bool {
    match (started, locked_at) {
        (Some(started), Some(locked_at)) => started > locked_at + Duration::seconds(3),
        _ => false,
    }
}

/// When a process of this host started: its start in clock ticks after boot
/// (`/proc/<pid>/stat`, field 22) plus the boot time (`btime` in `/proc/stat`).
pub fn process_started_at(pid: u32) -> Option<DateTime<Utc>> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name start with the state, field 3.
    let (_, rest) = stat.rsplit_once(')')?;
    let ticks: i64 = rest.split_whitespace().nth(22 - 3)?.parse().ok()?;
    let boot: i64 = std::fs::read_to_string("/proc/stat")
        .ok()?
        .lines()
        .find_map(|line| line.strip_prefix("btime ")?.trim().parse().ok())?;
    // /proc reports ticks in USER_HZ, which Linux fixes at 100 on every architecture.
    let started = DateTime::from_timestamp_millis(boot * 1000 + ticks * 10)?;
    // A start in the future means these files do not say what they should here: unknown.
    (started <= Utc::now() + Duration::seconds(3)).then_some(started)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_that_started_after_the_lock_was_taken_is_not_its_holder() {
        let started = Utc::now() - Duration::seconds(5);
        let this_started = process_started_at(std::process::id());
        assert!(
            this_started
                .is_some_and(|at| at > Utc::now() - Duration::days(1)
                    && at <= Utc::now() + Duration::seconds(2)),
            "this process started within the day: {this_started:?}"
        );
        assert!(lock_holder_runs(std::process::id(), Some(Utc::now())));
        assert!(!lock_holder_runs(
            std::process::id(),
            Some(Utc::now() - Duration::days(2))
        ));
        assert!(lock_holder_runs(std::process::id(), None));
        assert!(started_after_lock(
            Some(started),
            Some(started - Duration::seconds(4))
        ));
        assert!(!started_after_lock(
            Some(started),
            Some(started - Duration::seconds(3))
        ));
        assert!(!started_after_lock(None, Some(started)));
        assert!(!started_after_lock(Some(started), None));
    }

    #[test]
    fn this_process_runs_and_a_reaped_child_does_not() {
        assert!(process_is_running(std::process::id()));
        let child = std::process::Command::new("true").spawn();
        if let Ok(mut child) = child {
            let pid = child.id();
            let _ = child.wait();
            assert!(!process_is_running(pid));
        }
    }
}
