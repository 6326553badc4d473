//! Exit codes: 0 ok, 1 runtime failure, 2 usage or configuration error.

use std::process::ExitCode;

use examlake_core::CoreError;
use examlake_ingest::IngestError;
use examlake_reports::ReportsError;
use examlake_transform::TransformError;

/// A usage error found by a command itself (a path that does not exist, say).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

/// A data-quality error threshold was crossed: exit code 3 (tables are still written).
#[derive(Debug, thiserror::Error)]
#[error("data-quality error threshold crossed: {0}")]
pub struct DataQualityError(pub String);

/// The error chain on one line, without repeating a cause that a message already quotes.
pub fn message(error: &anyhow::Error) -> String {
    let mut out = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if !out.ends_with(&text) {
            if !out.is_empty() {
                out.push_str(": ");
            }
            out.push_str(&text);
        }
    }
    out
}

/// A tenant credential does not allow what was asked: exit code 6 (and an audit line).
#[derive(Debug, thiserror::Error)]
#[error("access denied: {0}")]
pub struct AccessDenied(pub String);

/// Another run holds the nightly lock: exit code 5 (as for a tenant's transform lock).
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LockedError(pub String);

/// Some tenants failed in a nightly run (the others completed): exit code 4.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PartialFailure(pub String);

/// Print a clap error: help and version as clap renders them; real errors as one line.
pub fn clap_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            if error.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            }
        }
        _ => {
            let rendered = error.render().to_string();
            let first = rendered
                .lines()
                .next()
                .unwrap_or("error: invalid arguments");
            eprintln!("{first} (see --help)");
            ExitCode::from(2)
        }
    }
}

/// 2 for errors the user can fix by changing the command line; 3 for a data-quality error
/// threshold crossed; 4 when a nightly run failed for some tenants; 5 when another nightly run
/// or transform holds the lock; 6 when a tenant credential is refused; 1 otherwise.
pub fn code_for(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if cause.downcast_ref::<AccessDenied>().is_some() {
            return 6;
        }
        if cause.downcast_ref::<DataQualityError>().is_some() {
            return 3;
        }
        if cause.downcast_ref::<PartialFailure>().is_some() {
            return 4;
        }
        if cause.downcast_ref::<LockedError>().is_some() {
            return 5;
        }
        if cause.downcast_ref::<UsageError>().is_some() {
            return 2;
        }
        if let Some(core) = cause.downcast_ref::<CoreError>() {
            if is_usage(core) {
                return 2;
            }
        }
        match cause.downcast_ref::<IngestError>() {
            Some(IngestError::OpenInput { .. }) => return 2,
            Some(IngestError::Storage(core)) if is_usage(core) => return 2,
            _ => {}
        }
        match cause.downcast_ref::<TransformError>() {
            Some(TransformError::Storage(core)) if is_usage(core) => return 2,
            Some(TransformError::Locked { .. }) => return 5,
            _ => {}
        }
        match cause.downcast_ref::<ReportsError>() {
            Some(
                ReportsError::MissingTable { .. }
                | ReportsError::ReadQuery { .. }
                | ReportsError::Query { .. },
            ) => return 2,
            Some(ReportsError::Storage(core)) if is_usage(core) => return 2,
            _ => {}
        }
    }
    1
}

fn is_usage(error: &CoreError) -> bool {
    matches!(
        error,
        CoreError::InvalidTenant { .. }
            | CoreError::InvalidKey { .. }
            | CoreError::UnsupportedWarehouse { .. }
    )
}
