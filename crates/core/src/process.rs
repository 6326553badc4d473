//! This host and its processes, for lock files that name their holder (the transform's tenant
//! lock, the nightly lock).

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

/// Whether the process that took a lock still runs on this host: `pid` runs and, when the lock
/// recorded its start (`start_ticks`, see [`process_start_ticks`]), it is that same process. A
/// process with another start got the pid of a dead holder by reuse, so the lock is stale. A
/// start unknown on either side counts as the holder (the safe answer). Start ticks count from
/// boot, so a change of the wall clock cannot make a live holder look gone.
pub fn lock_holder_runs(pid: u32, start_ticks: Option<u64>) -> bool {
    process_is_running(pid) && same_process(start_ticks, process_start_ticks(pid))
}

/// Pure: whether a process whose start was `recorded` can be the one now starting at `current`.
pub fn same_process(recorded: Option<u64>, current: Option<u64>) -> bool {
    match (recorded, current) {
        (Some(recorded), Some(current)) => recorded == current,
        _ => true,
    }
}

/// When a process of this host started, in clock ticks after boot (`/proc/<pid>/stat`, field 22):
/// with its pid, it names one process for as long as the machine runs.
pub fn process_start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name start with the state, field 3.
    let (_, rest) = stat.rsplit_once(')')?;
    rest.split_whitespace().nth(22 - 3)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_with_another_start_is_not_the_locks_holder() {
        let me = std::process::id();
        let started = process_start_ticks(me);
        assert!(started.is_some(), "this process's start cannot be read");
        assert!(lock_holder_runs(me, started));
        assert!(!lock_holder_runs(me, started.map(|t| t + 1)));
        assert!(lock_holder_runs(me, None));
        assert!(same_process(Some(7), Some(7)));
        assert!(!same_process(Some(7), Some(8)));
        assert!(same_process(None, Some(8)));
        assert!(same_process(Some(7), None));
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
