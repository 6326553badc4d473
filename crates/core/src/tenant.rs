//! Tenant ids: the one value every path and topic name is built from.
//!
//! A tenant id is never taken from an event payload: it comes from where the event arrived
//! (the command line, the tenant's own Kafka topic). Validation here is what keeps one
//! tenant's paths from ever reaching another's.

use std::fmt;
use std::str::FromStr;

use crate::error::{CoreError, Result};

/// The longest tenant id accepted (Kafka topic names allow 249 bytes; paths stay short).
pub const MAX_TENANT_LEN: usize = 63;

/// The Kafka topic prefix of every tenant topic: `assessments.<tenant>`.
pub const TOPIC_PREFIX: &str = "assessments.";

/// A validated tenant id: 1..=63 ASCII lowercase letters, digits and `-`, starting with a
/// letter or digit and not ending with `-`.
///
/// So it cannot contain `/`, `.`, `..`, whitespace, upper case or unicode look-alikes, and is
/// safe in a path segment, a Hive partition value and a Kafka topic name.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct TenantId(String);

impl TryFrom<String> for TenantId {
    type Error = crate::CoreError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        TenantId::parse(&value)
    }
}

impl From<TenantId> for String {
    fn from(tenant: TenantId) -> String {
        tenant.0
    }
}

impl TenantId {
    /// Validate `value` as a tenant id.
    pub fn parse(value: &str) -> Result<Self> {
        let reject = |reason| CoreError::InvalidTenant {
            value: value.to_string(),
            reason,
        };
        if value.is_empty() {
            return Err(reject("it is empty"));
        }
        if value.len() > MAX_TENANT_LEN {
            return Err(reject("it is longer than 63 characters"));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(reject(
                "only lowercase ASCII letters, digits and '-' are allowed",
            ));
        }
        if value.starts_with('-') || value.ends_with('-') {
            return Err(reject("it must not start or end with '-'"));
        }
        Ok(TenantId(value.to_string()))
    }

    /// The tenant's Kafka topic, `assessments.<tenant>`.
    pub fn topic(&self) -> String {
        format!("{TOPIC_PREFIX}{}", self.0)
    }

    /// The tenant of a topic named `assessments.<tenant>`, if it is one.
    pub fn from_topic(topic: &str) -> Result<Self> {
        match topic.strip_prefix(TOPIC_PREFIX) {
            Some(rest) => TenantId::parse(rest),
            None => Err(CoreError::InvalidTenant {
                value: topic.to_string(),
                reason: "topic name does not start with 'assessments.'",
            }),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for TenantId {
    type Err = CoreError;
    fn from_str(value: &str) -> Result<Self> {
        TenantId::parse(value)
    }
}

impl fmt::Display for TenantId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_ids() {
        for ok in ["acme", "globex", "a", "tenant-42", "9lives"] {
            assert_eq!(
                TenantId::parse(ok).map(|t| t.to_string()).ok().as_deref(),
                Some(ok)
            );
        }
    }

    #[test]
    fn rejects_path_tricks_and_lookalikes() {
        let long = "a".repeat(64);
        for bad in [
            "",
            "..",
            ".",
            "a/b",
            "../acme",
            "acme/..",
            "/acme",
            "Acme",
            "ac me",
            "acme\n",
            "-acme",
            "acme-",
            "acme.b",
            "аcme",
            /* Cyrillic а */ "acme\u{200b}",
            "ａｃｍｅ",
            &long,
            "acme%2f",
            "a\\b",
        ] {
            assert!(TenantId::parse(bad).is_err(), "{bad:?} must be rejected");
        }
    }

    #[test]
    fn topic_round_trip() -> Result<()> {
        let tenant = TenantId::parse("acme")?;
        assert_eq!(tenant.topic(), "assessments.acme");
        assert_eq!(TenantId::from_topic("assessments.acme")?, tenant);
        assert!(TenantId::from_topic("other.acme").is_err());
        assert!(TenantId::from_topic("assessments.../x").is_err());
        Ok(())
    }
}
