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

fn main() -> ExitCode {
    keep_freed_memory_a_second();
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
