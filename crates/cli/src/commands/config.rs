//! `examlake config check`

use anyhow::Result;

use crate::cli::{ConfigAction, ConfigArgs};
use crate::config;

pub fn config(args: &ConfigArgs) -> Result<()> {
    match args.action {
        ConfigAction::Check => check(),
    }
}

/// The file was already read and checked at start (a bad file exits 2 before any command);
/// print what is in effect.
fn check() -> Result<()> {
    let Some(effective) = config::effective() else {
        anyhow::bail!("the configuration was not loaded");
    };
    match &effective.file {
        Some(path) => println!("configuration {}: ok", path.display()),
        None => println!(
            "no configuration file (looked for --config, EXAMLAKE_CONFIG, ./examlake.toml)"
        ),
    }
    println!(
        "{:<16} {:<26} {:<12} value",
        "setting", "environment", "source"
    );
    for (key, env, value, source) in &effective.rows {
        println!(
            "{key:<16} {env:<26} {source:<12} {}",
            value.as_deref().unwrap_or("(built-in default)")
        );
    }
    Ok(())
}
