//! Progress bars on a terminal; nothing when stderr is not a terminal (cron, CI, pipes) or -q.

use std::io::IsTerminal;

use indicatif::{ProgressBar, ProgressStyle};

/// A bar of `total` units; hidden unless stderr is a terminal and not quiet.
pub fn bar(total: u64, message: &str, bytes: bool, quiet: bool) -> ProgressBar {
    if quiet || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let template = if bytes {
        "{msg} [{bar:40}] {bytes}/{total_bytes} ({bytes_per_sec}, {eta})"
    } else {
        "{msg} [{bar:40}] {pos}/{len} ({per_sec}, {eta})"
    };
    let style = ProgressStyle::with_template(template)
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    ProgressBar::new(total)
        .with_style(style)
        .with_message(message.to_string())
}
