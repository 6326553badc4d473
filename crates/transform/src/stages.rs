//! Wall time of each step of a batch, and the process's resident memory after it, logged at
//! debug level (`examlake -vv transform`).

use std::time::Instant;

/// Logs the time since the previous mark under each step's name.
pub struct Stages {
    last: Instant,
}

impl Stages {
    pub fn start() -> Self {
        Stages {
            last: Instant::now(),
        }
    }

    /// Log the time since the previous mark as `step`.
    pub fn mark(&mut self, step: &'static str) {
        let now = Instant::now();
        if tracing::enabled!(tracing::Level::DEBUG) {
            tracing::debug!(
                message = "transform step",
                step,
                elapsed_ms = now.duration_since(self.last).as_millis() as u64,
                rss_mb = resident_mb().unwrap_or(0)
            );
        }
        self.last = now;
    }
}

/// The process's resident set in MB, from `/proc/self/statm` (Linux; `None` elsewhere).
fn resident_mb() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096 / (1024 * 1024))
}
