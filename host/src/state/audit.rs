//! What the state manager records in the ledger (through the ledger module
//! only): one entry per apply that changed something or was rolled back.
//! A no-op apply changes nothing and records nothing.

use super::file::StateFile;
use super::manager::ApplyReport;
use crate::ledger::{Ledger, LedgerError, Metadata, NewEntry};
use serde_json::json;

/// Who asked for a change.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub uid: u32,
}

impl Caller {
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

/// Records an apply's outcome; nothing for a no-op.
pub fn record(ledger: &Ledger, file: &StateFile, report: &ApplyReport, caller: Caller) -> Result<(), LedgerError> {
    if report.plugins.is_empty() {
        return Ok(());
    }
    let plugins: Vec<&str> = report.plugins.iter().map(|p| p.plugin.as_str()).collect();
    let (category, result) = if report.success { ("apply_state", "success") } else { ("rollback", "rolled_back") };
    ledger.append(NewEntry {
        category: category.into(),
        action: plugins.join(","),
        metadata: Metadata { user: caller.describe(), host: crate::ledger::store::hostname(), plugin: plugins.join(",") },
        data: json!({
            "desired_state_hash": file.hash(),
            "result": result,
            "checkpoint_id": report.checkpoint,
            "changes_applied": report.changes_applied,
            "errors": report.errors,
            "plugins": report.plugins.iter().map(|p| json!({
                "plugin": p.plugin, "actions": p.actions, "verified": p.verified, "restored": p.restored,
            })).collect::<Vec<_>>(),
        }),
    })?;
    Ok(())
}
