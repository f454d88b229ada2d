//! What the state manager records in the ledger (through the ledger module
//! only): one entry per apply that changed something (`apply_state`), per
//! rollback (`rollback`: a failed apply, a requested undo or an expired
//! confirmation), per `commit` of a confirmed change, and per `recovery`
//! of an apply interrupted by a crash. A no-op records nothing.

use super::file::StateFile;
use super::journal::Journal;
use super::manager::{ApplyReport, Settled};
use crate::ledger::{Ledger, LedgerError, Metadata, NewEntry};
use serde_json::{Value, json};

/// Who asked for a change.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub uid: u32,
}

impl Caller {
    /// No one: a placeholder until the real caller is known (uid -1, which
    /// no process has).
    pub const NOBODY: Caller = Caller { uid: u32::MAX };

    /// The user running this process.
    pub fn current() -> Caller {
        // SAFETY: getuid cannot fail.
        Caller { uid: unsafe { libc::getuid() } }
    }

    /// `name (uid N)`, the name from /etc/passwd when there is one.
    pub fn describe(&self) -> String {
        let name = std::fs::read_to_string("/etc/passwd").ok().and_then(|p| {
            p.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.get(2) == Some(&self.uid.to_string().as_str())).then(|| f[0].to_string())
            })
        });
        match name {
            Some(n) => format!("{n} (uid {})", self.uid),
            None => format!("uid {}", self.uid),
        }
    }
}

fn append(ledger: &Ledger, category: &str, plugins: &[&str], caller: Caller, data: Value) -> Result<(), LedgerError> {
    ledger.append(NewEntry {
        category: category.into(),
        action: plugins.join(","),
        metadata: Metadata { user: caller.describe(), host: crate::ledger::store::hostname(), plugin: plugins.join(",") },
        data,
    })?;
    Ok(())
}

/// Records an apply's outcome (`success`, `pending_confirmation` or
/// `rolled_back`); nothing for a no-op.
pub fn record_apply(ledger: &Ledger, file: &StateFile, report: &ApplyReport, caller: Caller) -> Result<(), LedgerError> {
    if report.plugins.is_empty() {
        return Ok(());
    }
    let plugins: Vec<&str> = report.plugins.iter().map(|p| p.plugin.as_str()).collect();
    let (category, result) = match (report.success, &report.pending_confirmation) {
        (false, _) => ("rollback", "rolled_back"),
        (true, Some(_)) => ("apply_state", "pending_confirmation"),
        (true, None) => ("apply_state", "success"),
    };
    let mut data = json!({
        "desired_state_hash": file.hash(),
        "result": result,
        "checkpoint_id": report.checkpoint,
        "changes_applied": report.changes_applied,
        "errors": report.errors,
        "plugins": report.plugins.iter().map(|p| json!({
            "plugin": p.plugin, "actions": p.actions, "verified": p.verified, "restored": p.restored,
        })).collect::<Vec<_>>(),
    });
    if !report.success {
        data["reason"] = json!("apply failed");
    }
    if let Some(p) = &report.pending_confirmation {
        data["confirm_deadline"] = json!(p.deadline);
    }
    append(ledger, category, &plugins, caller, data)
}

/// Records how a journal was settled later: `commit`, `rollback` (requested
/// or expired) or `recovery` (after a crash).
pub fn record_settled(ledger: &Ledger, category: &str, journal: &Journal, settled: &Settled, caller: Caller) -> Result<(), LedgerError> {
    let plugins: Vec<&str> = journal.plugins.iter().map(|p| p.section.as_str()).collect();
    append(
        ledger,
        category,
        &plugins,
        caller,
        json!({
            "desired_state_hash": journal.desired_state_hash,
            "result": settled.result,
            "reason": settled.reason,
            "checkpoint_id": journal.id,
            "started": journal.started,
            "started_by_uid": journal.uid,
            "errors": settled.errors,
        }),
    )
}
