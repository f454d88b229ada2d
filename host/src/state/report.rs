//! What state operations report: the diff per plugin, the apply report in
//! the deployment guide's shape, and how a change left pending or
//! interrupted was settled.

use crate::plugin::api::{Action, ActionKind, Mismatch};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// One plugin's planned actions, in the deployment guide's shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginDiff {
    pub plugin: String,
    pub actions: Vec<Value>,
}

/// What one plugin did during an apply.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct PluginReport {
    /// The section (the plugin's name for every plugin shipped).
    pub plugin: String,
    /// The plugin that ran: name, version and the sha256 of its component.
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub sha256: String,
    /// The actions planned, in the guide's shape.
    pub actions: Vec<Value>,
    pub changes_applied: Vec<String>,
    pub verified: bool,
    pub mismatches: Vec<Value>,
    /// Restored to its checkpoint and verified so, after a failure.
    pub restored: bool,
}

/// A change applied with a confirm timeout, kept until `commit`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PendingConfirmation {
    pub checkpoint: String,
    /// RFC 3339; rolled back at this time unless committed.
    pub deadline: String,
    pub seconds: u64,
}

/// How a journal left by an earlier apply was settled.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Settled {
    pub checkpoint: String,
    /// `committed`, `rolled_back`, `rollback_failed` or (by an admin's
    /// `recover --abandon`) `abandoned`.
    pub result: String,
    pub reason: String,
    pub plugins: Vec<String>,
    pub errors: Vec<String>,
    /// Why the ledger does not hold this yet (it is kept in the journal
    /// and recorded by whoever settles next), if it does not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unrecorded: Option<String>,
    /// A failed rollback that is no longer retried by itself
    /// (`rollback_max_attempts`): it waits for `portagent recover`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gave_up: bool,
}

/// The result of an apply, in the guide's shape plus details.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ApplyReport {
    pub success: bool,
    pub changes_applied: Vec<String>,
    pub errors: Vec<String>,
    /// A failure was undone: every plugin restored to its checkpoint.
    pub rolled_back: bool,
    /// A failure could not be undone: some plugin's restore failed. The
    /// journal keeps the checkpoints and the restore is retried.
    #[serde(default)]
    pub rollback_failed: bool,
    /// The checkpoint id: unique to this apply, chosen by the host.
    pub checkpoint: Option<String>,
    pub plugins: Vec<PluginReport>,
    pub timings_ms: BTreeMap<String, f64>,
    /// Set when the change awaits `commit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_confirmation: Option<PendingConfirmation>,
    /// Set when an earlier interrupted or expired apply was settled first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<Settled>,
    /// Why the ledger does not hold this apply's outcome yet, if it does
    /// not (kept in the journal; recorded by whoever settles next).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unrecorded: Option<String>,
    /// The hash of the ledger entry that records this apply's outcome
    /// (`ledger show` lists it; `ledger verify` checks the chain it is in).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ledger_hash: Option<String>,
    /// What the apply did to the managed block of the interfaces file
    /// (`result`: `rewritten` with the sha256 before and after, or
    /// `refused` for a malformed block), when it touched it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interfaces_file: Option<Value>,
}

impl ApplyReport {
    /// True when changes were made and kept.
    pub fn changed(&self) -> bool {
        self.success && !self.changes_applied.is_empty()
    }
}

/// An action in the guide's shape: `{type, resource, config|changes}`.
pub fn action_json(a: &Action) -> Value {
    let body: Value = serde_json::from_str(&a.body).unwrap_or(Value::String(a.body.clone()));
    match a.kind {
        ActionKind::Create => json!({"type": "Create", "resource": a.resource, "config": body}),
        ActionKind::Modify => json!({"type": "Modify", "resource": a.resource, "changes": body}),
        ActionKind::Delete => json!({"type": "Delete", "resource": a.resource}),
    }
}

/// `resource.field: expected X, found Y; ...`
pub fn mismatch_text(list: &[Mismatch]) -> String {
    list.iter()
        .map(|m| format!("{}.{}: expected {}, found {}", m.resource, m.field, m.expected, m.actual))
        .collect::<Vec<_>>()
        .join("; ")
}

pub fn mismatch_json(m: &Mismatch) -> Value {
    json!({"resource": m.resource, "field": m.field, "expected": m.expected, "actual": m.actual})
}
