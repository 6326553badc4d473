//! `examlake tenant add|list|remove|token`: the operator's tenant registry.

use anyhow::{Context, Result};
use chrono::Utc;
use examlake_core::registry::{random_bytes, Registry};
use examlake_core::{layout, storage, TenantId};

use crate::cli::{TenantAction, TenantAddArgs, TenantArgs, TenantListArgs, TenantTokenArgs};
use crate::commands::ingest::connection;
use crate::exit::UsageError;

pub fn tenant(args: &TenantArgs) -> Result<()> {
    match &args.action {
        TenantAction::Add(add) => add_tenant(add),
        TenantAction::List(list) => list_tenants(list),
        TenantAction::Remove(remove) => remove_tenant(remove),
        TenantAction::Token(token) => issue_token(token),
    }
}

fn add_tenant(args: &TenantAddArgs) -> Result<()> {
    let store = storage::open(&args.warehouse.warehouse)?;
    if args.kafka.brokers.is_some() {
        let connection = connection(&args.kafka)?;
        let topic = examlake_ingest::kafka::topic_for(&args.tenant);
        examlake_ingest::kafka::ensure_topic(&connection, &topic, args.partitions, 1)?;
        println!("topic {topic}: ready");
    }
    if let Some(command) = &args.kafka_admin_command {
        let password = run_admin_command(command, "add", &args.tenant)?;
        println!(
            "kafka credential: user tenant-{} password {}",
            args.tenant,
            password.trim()
        );
    }
    // The tenant root is created by its first write (on HDFS with mode 0750).
    store.write_atomic(
        &layout::tenant_root(&args.tenant).join(".tenant")?,
        args.tenant.as_str().as_bytes(),
    )?;
    if let Some(owner) = &args.hdfs_owner {
        store.set_tenant_owner(&args.tenant, owner, &args.hdfs_group)?;
        println!(
            "tenant root: owner {owner}, group {}, mode 0770",
            args.hdfs_group
        );
    }
    let mut registry = Registry::load(store.as_ref())?.unwrap_or_default();
    let now = Utc::now();
    registry.add_tenant(&args.tenant, now);
    let valid_for = args.token_days.map(chrono::Duration::days);
    let token = registry
        .issue_token(&args.tenant, &random_bytes()?, now, valid_for, false)
        .context("the tenant was just registered")?;
    registry.save(store.as_ref())?;
    println!("tenant {}: registered in {}", args.tenant, store.url());
    println!("analyst token (shown once; keep it in a file for --token-file): {token}");
    Ok(())
}

fn remove_tenant(args: &TenantAddArgs) -> Result<()> {
    let store = storage::open(&args.warehouse.warehouse)?;
    let mut registry = Registry::load(store.as_ref())?.unwrap_or_default();
    if !registry.remove_tenant(&args.tenant) {
        return Err(UsageError(format!(
            "tenant {} is not registered in {}",
            args.tenant,
            store.url()
        ))
        .into());
    }
    if let Some(command) = &args.kafka_admin_command {
        run_admin_command(command, "remove", &args.tenant)?;
    }
    registry.save(store.as_ref())?;
    println!(
        "tenant {}: unregistered, every token revoked (its data is kept)",
        args.tenant
    );
    Ok(())
}

fn list_tenants(args: &TenantListArgs) -> Result<()> {
    let store = storage::open(&args.warehouse.warehouse)?;
    let registry = Registry::load(store.as_ref())?.unwrap_or_default();
    let now = Utc::now();
    println!("{:<24} {:<22} tokens (id: state)", "tenant", "registered");
    for entry in &registry.tenants {
        let tokens: Vec<String> = entry
            .tokens
            .iter()
            .map(|t| {
                let state = match (t.revoked, t.expires_at) {
                    (true, _) => "revoked".to_string(),
                    (false, Some(e)) if e <= now => "expired".to_string(),
                    (false, Some(e)) => format!("valid until {}", e.format("%Y-%m-%d")),
                    (false, None) => "valid".to_string(),
                };
                format!("{}: {state}", t.id)
            })
            .collect();
        println!(
            "{:<24} {:<22} {}",
            entry.tenant,
            entry.created_at.format("%Y-%m-%d %H:%M"),
            tokens.join(", ")
        );
    }
    let unregistered: Vec<String> = layout::tenants(store.as_ref())?
        .into_iter()
        .filter(|t| registry.get(t).is_none())
        .map(|t| t.to_string())
        .collect();
    if !unregistered.is_empty() {
        println!(
            "in the warehouse but not registered: {}",
            unregistered.join(", ")
        );
    }
    Ok(())
}

fn issue_token(args: &TenantTokenArgs) -> Result<()> {
    let store = storage::open(&args.warehouse.warehouse)?;
    let mut registry = Registry::load(store.as_ref())?.unwrap_or_default();
    let token = registry
        .issue_token(
            &args.tenant,
            &random_bytes()?,
            Utc::now(),
            args.days.map(chrono::Duration::days),
            args.revoke_others,
        )
        .ok_or_else(|| {
            UsageError(format!(
                "tenant {} is not registered: `examlake tenant add {0}` first",
                args.tenant
            ))
        })?;
    registry.save(store.as_ref())?;
    println!(
        "analyst token for {} (shown once){}: {token}",
        args.tenant,
        if args.revoke_others {
            ", the others revoked"
        } else {
            ""
        }
    );
    Ok(())
}

/// Run `CMD ACTION TENANT` (split on whitespace); its stdout is returned (a new password).
fn run_admin_command(command: &str, action: &str, tenant: &TenantId) -> Result<String> {
    let mut words = command.split_whitespace();
    let program = words
        .next()
        .ok_or_else(|| UsageError("--kafka-admin-command is empty".into()))?;
    let output = std::process::Command::new(program)
        .args(words)
        .args([action, tenant.as_str()])
        .stderr(std::process::Stdio::inherit())
        .output()
        .with_context(|| format!("running the Kafka admin command {command:?}"))?;
    if !output.status.success() {
        anyhow::bail!(
            "the Kafka admin command `{command} {action} {tenant}` failed ({})",
            output.status
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}
