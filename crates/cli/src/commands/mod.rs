//! One file per command; each turns arguments into a library config and prints the outcome.

mod config;
mod demo;
mod generate;
pub mod ingest;
mod nightly;
mod produce;
mod query;
mod report;
mod retention;
mod run;
mod tenant;
mod transform;

use anyhow::Result;

use crate::cli::Command;

pub fn dispatch(command: Command, quiet: bool) -> Result<()> {
    match command {
        Command::Generate(args) => generate::generate(&args, quiet),
        Command::Ingest(args) => ingest::ingest(&args, quiet),
        Command::Produce(args) => produce::produce(&args, quiet),
        Command::Transform(args) => transform::transform(&args, quiet),
        Command::Report(args) => report::report(&args),
        Command::Query(args) => query::query(&args),
        Command::Run(args) => run::run(&args, quiet),
        Command::Demo(args) => demo::demo(&args, quiet),
        Command::Nightly(args) => nightly::nightly(&args, quiet),
        Command::Retention(args) => retention::retention(&args),
        Command::Config(args) => config::config(&args),
        Command::Tenant(args) => tenant::tenant(&args),
    }
}
