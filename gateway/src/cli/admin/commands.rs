//! The release-control subcommands: argument shapes and what each sends.

use clap::{Args, Subcommand, ValueEnum};
use serde_json::{json, Value};

use super::client::{call, seg, AdminArgs, Reply};
use super::table::{cell, render};
use crate::cli::exit;

/// `ehrgate weights ...`
#[derive(Debug, Subcommand)]
pub enum WeightsCommand {
    /// Show every route: backends, weight, tenant overrides, health.
    Get {
        #[command(flatten)]
        admin: AdminArgs,
    },
    /// Set a route's canary weight in percent, globally or for one tenant.
    Set {
        /// The route id.
        route: String,
        /// Canary share, 0..=100 (two decimals at most).
        percent: f64,
        /// Only for this tenant.
        #[arg(long)]
        tenant: Option<String>,
        /// Why (recorded in the history).
        #[arg(long)]
        reason: String,
        /// Refuse unless the state is still at this revision.
        #[arg(long)]
        expect_revision: Option<u64>,
        #[command(flatten)]
        admin: AdminArgs,
    },
}

/// `ehrgate flags ...`
#[derive(Debug, Subcommand)]
pub enum FlagsCommand {
    /// Switch a flag on or off for every request.
    Set {
        /// The flag name.
        flag: String,
        /// `on` or `off`.
        state: OnOff,
        #[command(flatten)]
        change: ChangeArgs,
    },
}

/// A flag state.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OnOff {
    /// Forced on.
    On,
    /// Forced off.
    Off,
}

/// A pin target.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum PinArm {
    /// The stable backend.
    Stable,
    /// The canary backend.
    Canary,
    /// Lift the pin.
    None,
}

/// What every change takes besides its own arguments.
#[derive(Debug, Args)]
pub struct ChangeArgs {
    /// Why (recorded in the history).
    #[arg(long)]
    pub reason: Option<String>,
    /// Refuse unless the state is still at this revision.
    #[arg(long)]
    pub expect_revision: Option<u64>,
    #[command(flatten)]
    pub admin: AdminArgs,
}

// === commands ===

/// `weights get|set`.
pub fn weights(cmd: WeightsCommand) -> anyhow::Result<u8> {
    match cmd {
        WeightsCommand::Get { admin } => {
            let reply = call(&admin, "GET", "/v1/routing", None)?;
            finish(&admin, &reply, routing_table)
        }
        WeightsCommand::Set {
            route,
            percent,
            tenant,
            reason,
            expect_revision,
            admin,
        } => {
            let body = json!({"percent": percent, "tenant": tenant, "reason": reason, "expect_revision": expect_revision});
            let reply = call(
                &admin,
                "PUT",
                &format!("/v1/routes/{}/weight", seg(&route)),
                Some(body),
            )?;
            finish(&admin, &reply, change_table)
        }
    }
}

/// `rollback ROUTE`.
pub fn rollback(route: &str, change: &ChangeArgs) -> anyhow::Result<u8> {
    let reply = call(
        &change.admin,
        "POST",
        &format!("/v1/routes/{}/rollback", seg(route)),
        Some(common(change)),
    )?;
    finish(&change.admin, &reply, change_table)
}

/// `pin TENANT stable|canary|none [--route R]`.
pub fn pin(
    tenant: &str,
    arm: PinArm,
    route: Option<&str>,
    change: &ChangeArgs,
) -> anyhow::Result<u8> {
    let mut body = common(change);
    body["arm"] = json!(match arm {
        PinArm::Stable => "stable",
        PinArm::Canary => "canary",
        PinArm::None => "none",
    });
    body["route"] = json!(route);
    let reply = call(
        &change.admin,
        "PUT",
        &format!("/v1/pins/{}", seg(tenant)),
        Some(body),
    )?;
    finish(&change.admin, &reply, change_table)
}

/// `flags set FLAG on|off`.
pub fn flags(cmd: FlagsCommand) -> anyhow::Result<u8> {
    let FlagsCommand::Set {
        flag,
        state,
        change,
    } = cmd;
    let mut body = common(&change);
    body["on"] = json!(matches!(state, OnOff::On));
    let reply = call(
        &change.admin,
        "PUT",
        &format!("/v1/flags/{}", seg(&flag)),
        Some(body),
    )?;
    finish(&change.admin, &reply, change_table)
}

/// `history [--limit N]`.
pub fn history(limit: usize, admin: &AdminArgs) -> anyhow::Result<u8> {
    let reply = call(admin, "GET", &format!("/v1/history?limit={limit}"), None)?;
    finish(admin, &reply, history_table)
}

/// `revert REVISION`.
pub fn revert(revision: u64, change: &ChangeArgs) -> anyhow::Result<u8> {
    let mut body = common(change);
    body["revision"] = json!(revision);
    let reply = call(&change.admin, "POST", "/v1/revert", Some(body))?;
    finish(&change.admin, &reply, change_table)
}

fn common(change: &ChangeArgs) -> Value {
    json!({"reason": change.reason, "expect_revision": change.expect_revision})
}

/// Prints the reply (JSON or table) and picks the exit code.
fn finish(admin: &AdminArgs, reply: &Reply, table: fn(&Value) -> String) -> anyhow::Result<u8> {
    if let Some(line) = reply.error_line() {
        if admin.json {
            println!("{}", serde_json::to_string_pretty(&reply.body)?);
        }
        eprintln!("ehrgate: {line}");
        return Ok(exit::FAILED);
    }
    if admin.json {
        println!("{}", serde_json::to_string_pretty(&reply.body)?);
    } else {
        print!("{}", table(&reply.body));
    }
    Ok(exit::OK)
}

fn routing_table(v: &Value) -> String {
    let empty = Vec::new();
    let health: std::collections::HashMap<&str, &Value> = v["backends"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .filter_map(|b| Some((b["name"].as_str()?, b)))
        .collect();
    let state = |name: &Value| {
        let Some(b) = name.as_str().and_then(|n| health.get(n)) else {
            return "-".to_string();
        };
        match (b["healthy"].as_bool(), b["available"].as_bool()) {
            (Some(true), Some(true)) => "up".into(),
            (Some(true), _) => "ejected".into(),
            _ => "down".into(),
        }
    };
    let mut rows = Vec::new();
    for r in v["routes"].as_array().unwrap_or(&empty) {
        let overrides: Vec<String> = r["tenant_overrides"]
            .as_array()
            .unwrap_or(&empty)
            .iter()
            .map(|o| {
                let mut s = cell(&o["tenant"]);
                if !o["pin"].is_null() {
                    s.push_str(&format!(" pin={}", cell(&o["pin"])));
                }
                if !o["weight"].is_null() {
                    s.push_str(&format!(" {}%", cell(&o["weight"])));
                }
                s
            })
            .collect();
        rows.push(vec![
            cell(&r["id"]),
            format!("{} ({})", cell(&r["stable"]), state(&r["stable"])),
            if r["canary"].is_null() {
                "-".into()
            } else {
                format!("{} ({})", cell(&r["canary"]), state(&r["canary"]))
            },
            format!("{}%", cell(&r["weight"])),
            cell(&r["weight_source"]),
            if overrides.is_empty() {
                "-".into()
            } else {
                overrides.join(", ")
            },
            cell(&r["flag"]),
        ]);
    }
    let mut out = format!(
        "revision {} (table {})\n",
        cell(&v["revision"]),
        cell(&v["table_revision"])
    );
    out.push_str(&render(
        &[
            "ROUTE", "STABLE", "CANARY", "WEIGHT", "SET BY", "TENANTS", "FLAG",
        ],
        &rows,
    ));
    let flags: Vec<Vec<String>> = v["flags"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|f| vec![cell(&f["name"]), cell(&f["switch"])])
        .collect();
    if !flags.is_empty() {
        out.push('\n');
        out.push_str(&render(&["FLAG", "SWITCH"], &flags));
    }
    out
}

fn change_table(v: &Value) -> String {
    let c = &v["change"];
    let empty = Vec::new();
    let rows: Vec<Vec<String>> = c["changes"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|d| vec![cell(&d["what"]), cell(&d["old"]), cell(&d["new"])])
        .collect();
    let mut out = format!(
        "revision {}: {} by {}{}\n",
        cell(&c["revision"]),
        cell(&c["action"]),
        cell(&c["who"]),
        c["reason"]
            .as_str()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    );
    if rows.is_empty() {
        out.push_str("no value changed\n");
    } else {
        out.push_str(&render(&["WHAT", "OLD", "NEW"], &rows));
    }
    out
}

fn history_table(v: &Value) -> String {
    let empty = Vec::new();
    let rows: Vec<Vec<String>> = v["history"]
        .as_array()
        .unwrap_or(&empty)
        .iter()
        .map(|r| {
            let changes: Vec<String> = r["changes"]
                .as_array()
                .unwrap_or(&empty)
                .iter()
                .map(|d| {
                    format!(
                        "{}: {} -> {}",
                        cell(&d["what"]),
                        cell(&d["old"]),
                        cell(&d["new"])
                    )
                })
                .collect();
            vec![
                cell(&r["revision"]),
                cell(&r["at"]),
                cell(&r["who"]),
                cell(&r["action"]),
                cell(&r["reason"]),
                changes.join("; "),
            ]
        })
        .collect();
    render(&["REV", "AT", "WHO", "ACTION", "REASON", "CHANGES"], &rows)
}
