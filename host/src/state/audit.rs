//! What the state manager records in the ledger (through the ledger module
//! only): one entry per apply that changed something (`apply_state`), per
//! rollback (`rollback`: a failed apply, a requested undo or an expired
//! confirmation), per `commit` of a confirmed change, and per `recovery`
//! (an interrupted apply restored, or a failed rollback retried until it
//! worked). A no-op records nothing.
//!
//! Entries are built as [`Record`]s first, so one that cannot be written
//! yet can wait in the journal.

use super::journal::{Journal, Record};
use super::report::{ApplyReport, Settled};
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

/// How much of one error message goes into the ledger: enough to say what
/// failed, not a whole backtrace (the report and the log have it all).
const ERROR_IN_LEDGER: usize = 1024;

fn short(errors: &[String]) -> Vec<String> {
    errors
        .iter()
        .map(|e| {
            if e.len() <= ERROR_IN_LEDGER {
                return e.clone();
            }
            let end = e.floor_char_boundary(ERROR_IN_LEDGER);
            format!("{}... ({} bytes)", &e[..end], e.len())
        })
        .collect()
}

/// Writes `r` durably.
/// Appends `r`; the new entry's hash.
pub fn append(ledger: &Ledger, r: &Record) -> Result<String, LedgerError> {
    let plugins = r.plugins.join(",");
    let appended = ledger.append(NewEntry {
        category: r.category.clone(),
        action: plugins.clone(),
        metadata: Metadata {
            user: super::Caller { uid: r.uid }.describe(),
            host: crate::ledger::store::hostname(),
            plugin: plugins.clone(),
        },
        data: r.data.clone(),
    })?;
    // One line per record, with the fields journald keeps apart.
    let checkpoint = r.data["checkpoint_id"].as_str().unwrap_or("");
    log::info!(
        plugin = plugins.as_str(), checkpoint = checkpoint, ledger_hash = appended.hash.as_str(), caller_uid = r.uid;
        "recorded {} {} (height {}, {})",
        r.category,
        r.data["result"].as_str().or(r.data["action"].as_str()).unwrap_or(""),
        appended.height,
        appended.hash
    );
    Ok(appended.hash)
}

/// A plugin installed, upgraded or removed (`action`): what it is, what
/// it was granted, and for an upgrade the version and sha256 it replaced.
pub fn plugin_record(
    action: &str,
    p: &crate::plugin::Installed,
    replaced: Option<&crate::plugin::Installed>,
    caller: Caller,
) -> Record {
    let mut record = Record {
        category: "plugin".into(),
        plugins: vec![p.manifest.name.clone()],
        uid: caller.uid,
        data: json!({
            "action": action,
            "result": "success",
            "name": p.manifest.name,
            "version": p.manifest.version,
            "sha256": p.sha256,
            "section": p.manifest.section,
            "wit_version": p.manifest.wit_version,
            "granted": p.granted,
            "publisher": p.trust.as_ref().and_then(|t| t.publisher()),
            "trust": p.trust,
        }),
    };
    if let Some(old) = replaced {
        record.data["replaced"] = json!({"version": old.manifest.version, "sha256": old.sha256});
    }
    record
}

/// An apply's outcome: `success`, `pending_confirmation`, `rolled_back`
/// or `rollback_failed`.
pub fn apply_record(desired_state_hash: &str, report: &ApplyReport, caller: Caller) -> Record {
    let (category, result) = match (report.success, &report.pending_confirmation, report.rollback_failed) {
        (false, _, false) => ("rollback", "rolled_back"),
        (false, _, true) => ("rollback", "rollback_failed"),
        (true, Some(_), _) => ("apply_state", "pending_confirmation"),
        (true, None, _) => ("apply_state", "success"),
    };
    let mut data = json!({
        "desired_state_hash": desired_state_hash,
        "result": result,
        "checkpoint_id": report.checkpoint,
        "changes_applied": report.changes_applied,
        "errors": short(&report.errors),
        "plugins": report.plugins.iter().map(|p| json!({
            "plugin": p.plugin, "name": p.name, "version": p.version, "sha256": p.sha256,
            "actions": p.actions, "verified": p.verified, "restored": p.restored,
        })).collect::<Vec<_>>(),
    });
    if !report.success {
        data["reason"] = json!("apply failed");
    }
    // Each phase's time so far (plan, checkpoint, apply, verify, ...), for
    // `portagent metrics`.
    data["timings_ms"] = json!(report.timings_ms);
    if let Some(p) = &report.pending_confirmation {
        data["confirm_deadline"] = json!(p.deadline);
    }
    if let Some(f) = &report.interfaces_file {
        data["interfaces_file"] = f.clone();
    }
    Record {
        category: category.into(),
        plugins: report.plugins.iter().map(|p| p.plugin.clone()).collect(),
        uid: caller.uid,
        data,
    }
}

/// How a journal was settled later: `commit`, `rollback` (requested or
/// expired) or `recovery` (after a crash, or a failed rollback retried).
pub fn settled_record(category: &str, journal: &Journal, settled: &Settled, caller: Caller) -> Record {
    let data: Value = json!({
        "desired_state_hash": journal.desired_state_hash,
        "result": settled.result,
        "reason": settled.reason,
        "checkpoint_id": journal.id,
        "started": journal.started,
        "started_by_uid": journal.uid,
        "errors": short(&settled.errors),
    });
    Record {
        category: category.into(),
        plugins: journal.plugins.iter().map(|p| p.section.clone()).collect(),
        uid: caller.uid,
        data,
    }
}

/// Whether `entry` (about the journal's checkpoint id) says how that
/// change ended: applied for good, rolled back, committed or recovered.
/// A change awaiting confirmation or whose rollback failed has not ended.
pub fn is_final(category: &str, result: &str) -> bool {
    match category {
        "apply_state" => result == "success",
        "rollback" => result == "rolled_back",
        // An admin's `recover --abandon` settles a change too.
        "recovery" => result == "rolled_back" || result == "abandoned",
        "commit" => result == "committed",
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_errors_are_cut_for_the_ledger() {
        let long = "x".repeat(5000);
        let cut = short(&[long, "short".into()]);
        assert!(cut[0].len() < 1100 && cut[0].ends_with("(5000 bytes)"), "{}", cut[0]);
        assert_eq!(cut[1], "short");
    }

    #[test]
    fn only_an_ending_is_final() {
        assert!(is_final("apply_state", "success"));
        assert!(!is_final("apply_state", "pending_confirmation"));
        assert!(is_final("rollback", "rolled_back"));
        assert!(!is_final("rollback", "rollback_failed"));
        assert!(is_final("recovery", "rolled_back"));
        assert!(is_final("commit", "committed"));
    }
}
