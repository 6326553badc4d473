//! Who may read which tenant: when the warehouse has a tenants registry, `report` and `query`
//! need a token (`--token-file FILE`, or `EXAMLAKE_TOKEN`) that opens the tenant they name.
//! Every refusal is written to the audit log (who, what, when; never the secret) and exits 6.
//! Without a registry (the embedded single-user default) no token is asked for.

use std::path::Path;

use anyhow::Result;
use chrono::Utc;
use examlake_core::registry::{self, Registry};
use examlake_core::{Storage, TenantId};
use serde_json::json;

use crate::exit::AccessDenied;

/// Check the caller's token against `asked`; `what` describes the attempt for the audit log.
pub fn authorize(
    store: &dyn Storage,
    asked: &TenantId,
    token_file: Option<&Path>,
    what: &str,
) -> Result<()> {
    let Some(registry) = Registry::load(store)? else {
        return Ok(());
    };
    let token = match read_token(token_file) {
        Ok(token) => token,
        Err(reason) => return Err(deny(store, asked, None, what, &reason)),
    };
    registry
        .verify(&token, Some(asked), Utc::now())
        .map(|_| ())
        .map_err(|denied| deny(store, asked, Some(&token), what, &denied.to_string()))
}

/// Record a refusal that happened after the token was accepted (a query reaching outside).
pub fn refuse(
    store: &dyn Storage,
    asked: &TenantId,
    token_file: Option<&Path>,
    what: &str,
    reason: &str,
) -> anyhow::Error {
    let token = read_token(token_file).ok();
    deny(store, asked, token.as_deref(), what, reason)
}

/// Whether the warehouse gates reads with tokens (it has a tenants registry).
pub fn gated(store: &dyn Storage) -> Result<bool> {
    Ok(store.exists(&registry::registry_key())?)
}

/// The registered tenants other than `tenant` (empty without a registry: nothing is gated).
pub fn other_tenants(store: &dyn Storage, tenant: &TenantId) -> Result<Vec<TenantId>> {
    Ok(Registry::load(store)?
        .map(|r| {
            r.tenants
                .into_iter()
                .map(|t| t.tenant)
                .filter(|t| t != tenant)
                .collect()
        })
        .unwrap_or_default())
}

fn read_token(token_file: Option<&Path>) -> Result<String, String> {
    if let Some(path) = token_file {
        return std::fs::read_to_string(path)
            .map(|t| t.trim().to_string())
            .map_err(|e| format!("cannot read token file {}: {e}", path.display()));
    }
    std::env::var("EXAMLAKE_TOKEN")
        .map(|t| t.trim().to_string())
        .map_err(|_| {
            "this warehouse needs a tenant token: --token-file FILE or EXAMLAKE_TOKEN".to_string()
        })
}

fn deny(
    store: &dyn Storage,
    asked: &TenantId,
    token: Option<&str>,
    what: &str,
    reason: &str,
) -> anyhow::Error {
    // Who: the token's tenant and id (never its secret) and the OS user.
    let token_id = token.and_then(registry::token_label);
    let entry = json!({
        "at": Utc::now().to_rfc3339(),
        "event": "access_denied",
        "user": std::env::var("USER").unwrap_or_default(),
        "token": token_id,
        "asked_tenant": asked.as_str(),
        "what": what,
        "reason": reason,
    });
    tracing::warn!(target: "audit", message = "access denied", token = ?token_id, asked_tenant = %asked, what, reason);
    if let Err(error) = registry::audit_denied(store, &entry) {
        tracing::error!(message = "could not write the audit log", %error);
    }
    AccessDenied(format!("{reason} ({what})")).into()
}
