//! Wall time of each step of a batch, logged at debug level (`examlake -vv transform`).

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
        tracing::debug!(
            message = "transform step",
            step,
            elapsed_ms = now.duration_since(self.last).as_millis() as u64
        );
        self.last = now;
    }
}
