//! `examlake`: the one binary. Parses arguments, sets up logging, calls a stage library,
//! maps the outcome to an exit code (0 ok, 1 failure, 2 usage or configuration error).

mod access;
mod cli;
mod commands;
mod config;
mod exit;
mod progress;

use std::process::ExitCode;

use clap::Parser;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// mimalloc's `mi_option_purge_delay` (position 15 of `mi_option_e` in mimalloc.h; the sys crate
/// does not name it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// How long freed memory stays mapped before mimalloc returns it to the kernel. mimalloc's
/// default, 10 ms, made a transform batch give back and fault in the same gigabyte again and
/// again: 152k page faults and 6.6-8.3 s for 100k attempts, against 16-20k faults and 5.7-6.0 s
/// with a second. `MIMALLOC_PURGE_DELAY` in the environment still wins.
const PURGE_DELAY_MS: std::ffi::c_long = 1000;

fn keep_freed_memory_a_second() {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        #[allow(unsafe_code)]
        // SAFETY: sets one integer option of the allocator this binary links; the option is in
        // range, and mimalloc reads it when it next purges.
        unsafe {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, PURGE_DELAY_MS)
        };
    }
}

/// Transparent huge pages off for this process, unless `MIMALLOC_ALLOW_THP` is set (mimalloc
/// reads that variable at start, before `main`, and then decides this itself). With huge pages,
/// a fault zeroes and maps 2 MB at once, and memory mimalloc gives back comes in again 2 MB at a
/// time. Measured at 1M attempts: transform 844 against 898 MB peak (5 pairs), file ingest 506
/// against 554 MB (3 pairs), the same wall time.
fn no_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    if std::env::var_os("MIMALLOC_ALLOW_THP").is_none() {
        #[allow(unsafe_code)]
        // SAFETY: prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) sets one flag of this process and reads
        // no memory; a failure (an old kernel) leaves huge pages allowed, so it is ignored.
        unsafe {
            libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0)
        };
    }
}

fn main() -> ExitCode {
    keep_freed_memory_a_second();
    no_transparent_huge_pages();
    let args: Vec<String> = std::env::args().collect();
    if let Err(message) = config::load(&args) {
        eprintln!("error: {message}");
        return ExitCode::from(2);
    }
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => return exit::clap_error(&error),
    };
    init_logging(cli.verbose, cli.quiet, cli.log_format);
    match commands::dispatch(cli.command, cli.quiet) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {}", exit::message(&error));
            ExitCode::from(exit::code_for(&error))
        }
    }
}

fn init_logging(verbose: u8, quiet: bool, format: cli::LogFormat) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, _) => "debug",
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("EXAMLAKE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_target(false);
    match format {
        cli::LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        cli::LogFormat::Json => builder.json().init(),
    }
}
