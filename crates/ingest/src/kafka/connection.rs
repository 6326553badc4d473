//! How to reach the brokers: bootstrap servers, optional SASL/SCRAM credentials, and raw
//! librdkafka settings for anything else (TLS files, timeouts).

use rdkafka::ClientConfig;

/// Connection settings shared by the producer, the landing consumer and the admin client.
#[derive(Debug, Clone, Default)]
pub struct KafkaConnection {
    /// `host:port[,host:port…]`.
    pub brokers: String,
    /// SASL/SCRAM-SHA-256 user and password (a tenant's credential, or the operator's).
    pub sasl: Option<(String, String)>,
    /// Extra librdkafka properties, applied last (`security.protocol=SASL_SSL`, say).
    pub options: Vec<(String, String)>,
}

impl KafkaConnection {
    /// A librdkafka configuration with these settings.
    pub fn client_config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.brokers);
        if let Some((user, password)) = &self.sasl {
            config
                .set("security.protocol", "SASL_PLAINTEXT")
                .set("sasl.mechanism", "SCRAM-SHA-256")
                .set("sasl.username", user)
                .set("sasl.password", password);
        }
        for (key, value) in &self.options {
            config.set(key, value);
        }
        config
    }
}
