//! The tenants registry: which tenants exist and which analyst tokens open which tenant.
//!
//! Tokens are `exl_<tenant>_<id>_<secret>`: the tenant and token id make lookup direct, the
//! 32-byte random secret is what proves possession. The registry stores only a per-token salt
//! and the SHA-256 of salt + secret, never the secret; it lives in the warehouse at
//! `_registry/tenants.json`. Everything here is pure except [`Registry::load`]/[`Registry::save`].

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{CoreError, Result};
use crate::layout::Key;
use crate::storage::Storage;
use crate::tenant::TenantId;

/// The registry file, outside every tenant root.
pub fn registry_key() -> Key {
    Key::parse("_registry/tenants.json").unwrap_or_else(|_| unreachable!("a constant valid key"))
}

/// The audit log of denied attempts (one JSON object per line).
pub fn audit_key() -> Key {
    Key::parse("_registry/audit.ndjson").unwrap_or_else(|_| unreachable!("a constant valid key"))
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Registry {
    pub tenants: Vec<RegisteredTenant>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RegisteredTenant {
    pub tenant: TenantId,
    pub created_at: DateTime<Utc>,
    pub tokens: Vec<TokenRecord>,
}

/// One issued token, without its secret.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    pub id: String,
    pub salt: String,
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub revoked: bool,
}

/// Why a token does not open a tenant. The messages never contain the secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    #[error("the token is malformed")]
    Malformed,
    #[error("the token is unknown or wrong")]
    Unknown,
    #[error("the token expired at {0}")]
    Expired(DateTime<Utc>),
    #[error("the token was revoked")]
    Revoked,
    #[error("the token belongs to tenant {token_tenant}, not {asked}")]
    OtherTenant {
        token_tenant: TenantId,
        asked: TenantId,
    },
}

impl Registry {
    /// The registry of a warehouse; `None` when the warehouse has none (no tenant registered:
    /// the embedded single-user default, where no token is asked for).
    pub fn load(store: &dyn Storage) -> Result<Option<Registry>> {
        let key = registry_key();
        if !store.exists(&key)? {
            return Ok(None);
        }
        let bytes = store.read(&key)?;
        serde_json::from_slice(&bytes)
            .map(Some)
            .map_err(|e| CoreError::Registry(format!("{}/{key}: {e}", store.url())))
    }

    pub fn save(&self, store: &dyn Storage) -> Result<()> {
        let bytes = serde_json::to_vec_pretty(self)
            .map_err(|e| CoreError::Registry(format!("encoding the registry: {e}")))?;
        store.write_atomic(&registry_key(), &bytes)
    }

    pub fn get(&self, tenant: &TenantId) -> Option<&RegisteredTenant> {
        self.tenants.iter().find(|t| &t.tenant == tenant)
    }

    /// Register `tenant` (idempotent).
    pub fn add_tenant(&mut self, tenant: &TenantId, now: DateTime<Utc>) {
        if self.get(tenant).is_none() {
            self.tenants.push(RegisteredTenant {
                tenant: tenant.clone(),
                created_at: now,
                tokens: Vec::new(),
            });
            self.tenants.sort_by(|a, b| a.tenant.cmp(&b.tenant));
        }
    }

    /// Forget `tenant` and every token of it; returns whether it was registered.
    pub fn remove_tenant(&mut self, tenant: &TenantId) -> bool {
        let before = self.tenants.len();
        self.tenants.retain(|t| &t.tenant != tenant);
        self.tenants.len() != before
    }

    /// Issue a token for a registered tenant from 48 random bytes (16 salt + 32 secret); the
    /// returned string is shown once and never stored.
    pub fn issue_token(
        &mut self,
        tenant: &TenantId,
        random: &[u8; 48],
        now: DateTime<Utc>,
        valid_for: Option<chrono::Duration>,
        revoke_others: bool,
    ) -> Option<String> {
        let entry = self.tenants.iter_mut().find(|t| &t.tenant == tenant)?;
        if revoke_others {
            entry.tokens.iter_mut().for_each(|t| t.revoked = true);
        }
        let id = format!("t{}", entry.tokens.len() + 1);
        let salt = hex(&random[..16]);
        let secret = hex(&random[16..]);
        entry.tokens.push(TokenRecord {
            id: id.clone(),
            sha256: digest(&salt, &secret),
            salt,
            created_at: now,
            expires_at: valid_for.map(|d| now + d),
            revoked: false,
        });
        Some(format!("exl_{tenant}_{id}_{secret}"))
    }

    /// The tenant `token` opens, checked against `asked` when the command names a tenant.
    pub fn verify(
        &self,
        token: &str,
        asked: Option<&TenantId>,
        now: DateTime<Utc>,
    ) -> Result<TenantId, Denied> {
        let (tenant, id, secret) = split_token(token.trim()).ok_or(Denied::Malformed)?;
        let record = self
            .get(&tenant)
            .and_then(|t| t.tokens.iter().find(|r| r.id == id))
            .ok_or(Denied::Unknown)?;
        if !constant_time_eq(
            digest(&record.salt, secret).as_bytes(),
            record.sha256.as_bytes(),
        ) {
            return Err(Denied::Unknown);
        }
        if record.revoked {
            return Err(Denied::Revoked);
        }
        if let Some(expiry) = record.expires_at.filter(|e| *e <= now) {
            return Err(Denied::Expired(expiry));
        }
        match asked {
            Some(asked) if asked != &tenant => Err(Denied::OtherTenant {
                token_tenant: tenant,
                asked: asked.clone(),
            }),
            _ => Ok(tenant),
        }
    }
}

/// `<tenant>/<token id>` of a well-formed token, for logs and the audit trail (never the secret).
pub fn token_label(token: &str) -> Option<String> {
    split_token(token.trim()).map(|(tenant, id, _)| format!("{tenant}/{id}"))
}

fn split_token(token: &str) -> Option<(TenantId, &str, &str)> {
    let rest = token.strip_prefix("exl_")?;
    let (rest, secret) = rest.rsplit_once('_')?;
    let (tenant, id) = rest.rsplit_once('_')?;
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    Some((TenantId::parse(tenant).ok()?, id, secret))
}

fn digest(salt: &str, secret: &str) -> String {
    let mut hasher = Sha256::new();
    hasher.update(salt.as_bytes());
    hasher.update(secret.as_bytes());
    hex(&hasher.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 48 bytes from the operating system's random source.
pub fn random_bytes() -> Result<[u8; 48]> {
    use std::io::Read;
    let mut bytes = [0u8; 48];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(CoreError::io("reading", "/dev/urandom"))?;
    Ok(bytes)
}

/// Append one denied attempt to the audit log (who, what, when; never a secret).
pub fn audit_denied(store: &dyn Storage, entry: &serde_json::Value) -> Result<()> {
    let key = audit_key();
    let mut log = if store.exists(&key)? {
        store.read(&key)?
    } else {
        Vec::new()
    };
    log.extend_from_slice(entry.to_string().as_bytes());
    log.push(b'\n');
    store.write_atomic(&key, &log)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tenant(name: &str) -> TenantId {
        TenantId::parse(name).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn a_token_opens_its_tenant_only_and_can_expire_or_be_revoked() {
        let now = Utc::now();
        let mut registry = Registry::default();
        registry.add_tenant(&tenant("acme"), now);
        registry.add_tenant(&tenant("globex"), now);
        let token = registry
            .issue_token(
                &tenant("acme"),
                &[7; 48],
                now,
                Some(chrono::Duration::days(1)),
                false,
            )
            .unwrap_or_default();
        assert!(!serde_json::to_string(&registry)
            .unwrap_or_default()
            .contains(&token[token.len() - 64..]));
        assert_eq!(
            registry.verify(&token, Some(&tenant("acme")), now),
            Ok(tenant("acme"))
        );
        assert_eq!(registry.verify(&token, None, now), Ok(tenant("acme")));
        assert!(matches!(
            registry.verify(&token, Some(&tenant("globex")), now),
            Err(Denied::OtherTenant { .. })
        ));
        let tampered = format!("{}0", &token[..token.len() - 1]);
        assert_eq!(registry.verify(&tampered, None, now), Err(Denied::Unknown));
        let forged = token.replace("exl_acme_", "exl_globex_");
        assert_eq!(registry.verify(&forged, None, now), Err(Denied::Unknown));
        assert_eq!(
            registry.verify("garbage", None, now),
            Err(Denied::Malformed)
        );
        let later = now + chrono::Duration::days(2);
        assert!(matches!(
            registry.verify(&token, None, later),
            Err(Denied::Expired(_))
        ));
        registry.issue_token(&tenant("acme"), &[9; 48], now, None, true);
        assert_eq!(registry.verify(&token, None, now), Err(Denied::Revoked));
    }
}
