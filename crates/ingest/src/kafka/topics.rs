//! Topic names: `assessments.<tenant>`, the only place that knows the convention.

use examlake_core::TenantId;

/// Every tenant topic starts with this.
pub const TOPIC_PREFIX: &str = "assessments.";

/// The topic of a tenant's attempt events.
pub fn topic_for(tenant: &TenantId) -> String {
    format!("{TOPIC_PREFIX}{tenant}")
}

/// The tenant a topic belongs to, or `None` if the topic is not a valid tenant topic.
pub fn tenant_of_topic(topic: &str) -> Option<TenantId> {
    TenantId::parse(topic.strip_prefix(TOPIC_PREFIX)?).ok()
}

/// The consumer-group subscription: every tenant topic (a regex, so a new tenant's topic is
/// picked up without a restart), or exactly one tenant's topic.
pub fn subscription_pattern(only: Option<&TenantId>) -> String {
    match only {
        Some(tenant) => topic_for(tenant),
        None => "^assessments\\..+".to_string(),
    }
}

/// The raw `source` value of messages from a topic; with the partition it names the file slug.
pub fn source_of_topic(topic: &str) -> String {
    format!("kafka:{topic}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tenant_comes_from_the_topic_name_only() {
        let acme = TenantId::parse("acme").ok();
        assert_eq!(tenant_of_topic("assessments.acme"), acme);
        assert_eq!(tenant_of_topic("assessments.ACME"), None);
        assert_eq!(tenant_of_topic("assessments.a/b"), None);
        assert_eq!(tenant_of_topic("assessments."), None);
        assert_eq!(tenant_of_topic("other.acme"), None);
        assert_eq!(
            topic_for(&TenantId::parse("acme").unwrap_or_else(|e| panic!("{e}"))),
            "assessments.acme"
        );
    }
}
