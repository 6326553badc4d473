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

#[cfg(test)]
mod tests {
    use super::*;

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
