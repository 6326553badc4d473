//! `examlake.toml`: the settings an operator keeps in a file.
//!
//! Precedence, highest first: a command-line flag, the environment variable, the file, the
//! built-in default. The file is found by `--config FILE`, else `EXAMLAKE_CONFIG`, else
//! `./examlake.toml` when it exists. Loading it only fills in environment variables that are
//! not set yet, so every command sees one set of `EXAMLAKE_*` names, whatever their source.

use std::path::{Path, PathBuf};

use serde::Deserialize;

/// The file's shape; unknown keys are errors (a typo must not be silently ignored).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// The warehouse: a local directory or hdfs://HOST:PORT/PATH.
    pub warehouse: Option<String>,
    /// Where reports are written.
    pub reports: Option<String>,
    /// The nightly job's drop folder.
    pub drop: Option<String>,
    /// `text` or `json`.
    pub log_format: Option<String>,
    pub kafka: Option<KafkaSection>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KafkaSection {
    pub brokers: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
}

/// One setting: its environment name, whether it is a secret, and its value in the file.
pub struct Setting {
    pub key: &'static str,
    pub env: &'static str,
    pub secret: bool,
}

/// Every setting the file can hold.
pub const SETTINGS: [Setting; 7] = [
    Setting {
        key: "warehouse",
        env: "EXAMLAKE_WAREHOUSE",
        secret: false,
    },
    Setting {
        key: "reports",
        env: "EXAMLAKE_REPORTS",
        secret: false,
    },
    Setting {
        key: "drop",
        env: "EXAMLAKE_DROP",
        secret: false,
    },
    Setting {
        key: "log_format",
        env: "EXAMLAKE_LOG_FORMAT",
        secret: false,
    },
    Setting {
        key: "kafka.brokers",
        env: "EXAMLAKE_BROKERS",
        secret: false,
    },
    Setting {
        key: "kafka.user",
        env: "EXAMLAKE_KAFKA_USER",
        secret: false,
    },
    Setting {
        key: "kafka.password",
        env: "EXAMLAKE_KAFKA_PASSWORD",
        secret: true,
    },
];

impl ConfigFile {
    /// The value the file gives a setting, if any.
    pub fn value(&self, key: &str) -> Option<&str> {
        let kafka = self.kafka.as_ref();
        match key {
            "warehouse" => self.warehouse.as_deref(),
            "reports" => self.reports.as_deref(),
            "drop" => self.drop.as_deref(),
            "log_format" => self.log_format.as_deref(),
            "kafka.brokers" => kafka.and_then(|k| k.brokers.as_deref()),
            "kafka.user" => kafka.and_then(|k| k.user.as_deref()),
            "kafka.password" => kafka.and_then(|k| k.password.as_deref()),
            _ => None,
        }
    }

    /// Problems with the values (the shape is checked by parsing), each naming its key.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        if let Some(format) = &self.log_format {
            if format != "text" && format != "json" {
                problems.push(format!(
                    "log_format = {format:?}: expected \"text\" or \"json\""
                ));
            }
        }
        if let Some(warehouse) = &self.warehouse {
            if warehouse.contains("://")
                && !["file://", "hdfs://", "viewfs://"]
                    .iter()
                    .any(|s| warehouse.starts_with(s))
            {
                problems.push(format!(
                    "warehouse = {warehouse:?}: expected a directory, file://DIR or hdfs://HOST:PORT/PATH"
                ));
            }
        }
        if let Some(kafka) = &self.kafka {
            if let Some(brokers) = &kafka.brokers {
                for broker in brokers.split(',') {
                    let valid = broker.trim().rsplit_once(':').is_some_and(|(host, port)| {
                        !host.is_empty() && port.parse::<u16>().is_ok()
                    });
                    if !valid {
                        problems.push(format!(
                            "kafka.brokers = {brokers:?}: {broker:?} is not HOST:PORT"
                        ));
                    }
                }
            }
            if kafka.password.is_some() && kafka.user.is_none() {
                problems.push("kafka.password is set without kafka.user".to_string());
            }
        }
        problems
    }
}

/// Where the configuration file is, if there is one: `--config FILE` among `args`, else
/// `EXAMLAKE_CONFIG`, else `./examlake.toml` when it exists.
pub fn locate(args: &[String]) -> Option<PathBuf> {
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--config" {
            return iter.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    if let Some(path) = std::env::var_os("EXAMLAKE_CONFIG") {
        return Some(PathBuf::from(path));
    }
    let default = PathBuf::from("examlake.toml");
    default.is_file().then_some(default)
}

/// Read and parse the file; errors name the file and, for syntax, the line.
pub fn read(path: &Path) -> Result<ConfigFile, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("reading configuration {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("configuration {}: {e}", path.display()))
}

/// Fill in every `EXAMLAKE_*` variable the environment does not set from the file. Call before
/// any thread starts (it sets process environment variables).
pub fn apply(file: &ConfigFile) {
    for setting in &SETTINGS {
        if std::env::var_os(setting.env).is_none() {
            if let Some(value) = file.value(setting.key) {
                std::env::set_var(setting.env, value);
            }
        }
    }
}

/// How a value is shown: secrets masked.
pub fn shown(setting: &Setting, value: &str) -> String {
    if setting.secret {
        "****".to_string()
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_and_bad_values_are_named() {
        let typo: Result<ConfigFile, _> = toml::from_str("warehous = \"w\"");
        assert!(typo.is_err_and(|e| e.to_string().contains("warehous")));
        let file: ConfigFile = toml::from_str(
            "log_format = \"xml\"\n[kafka]\nbrokers = \"localhost\"\npassword = \"p\"",
        )
        .unwrap_or_default();
        let problems = file.problems().join("\n");
        assert!(problems.contains("log_format"), "{problems}");
        assert!(
            problems.contains("\"localhost\" is not HOST:PORT"),
            "{problems}"
        );
        assert!(
            problems.contains("kafka.password is set without kafka.user"),
            "{problems}"
        );
    }

    #[test]
    fn the_config_flag_wins_over_the_default_file() {
        let args: Vec<String> = ["examlake", "nightly", "--config", "/etc/examlake.toml"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(locate(&args), Some(PathBuf::from("/etc/examlake.toml")));
    }
}

/// Where each setting's effective value came from, captured before [`apply`].
#[derive(Debug, Clone)]
pub struct Effective {
    pub file: Option<PathBuf>,
    /// (setting key, env name, shown value or None, source)
    pub rows: Vec<(&'static str, &'static str, Option<String>, &'static str)>,
}

static EFFECTIVE: std::sync::OnceLock<Effective> = std::sync::OnceLock::new();

/// Locate, read, check and apply the configuration file; remember where every value came from.
pub fn load(args: &[String]) -> Result<(), String> {
    let path = locate(args);
    let file = match &path {
        Some(path) => read(path)?,
        None => ConfigFile::default(),
    };
    let problems = file.problems();
    if !problems.is_empty() {
        let place = path
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        return Err(format!("configuration {place}: {}", problems.join("; ")));
    }
    let rows = SETTINGS
        .iter()
        .map(
            |setting| match (std::env::var(setting.env).ok(), file.value(setting.key)) {
                (Some(value), _) => (
                    setting.key,
                    setting.env,
                    Some(shown(setting, &value)),
                    "environment",
                ),
                (None, Some(value)) => (
                    setting.key,
                    setting.env,
                    Some(shown(setting, value)),
                    "file",
                ),
                (None, None) => (setting.key, setting.env, None, "default"),
            },
        )
        .collect();
    apply(&file);
    let _ = EFFECTIVE.set(Effective { file: path, rows });
    Ok(())
}

/// The settings as loaded at start.
pub fn effective() -> Option<&'static Effective> {
    EFFECTIVE.get()
}
