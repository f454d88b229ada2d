//! The apply pipeline, plugin-agnostic: validate every section, query,
//! diff; then set ledger space aside, checkpoint every plugin that has
//! actions (durably, in the journal, under an id the host chose), apply in
//! dependency order, verify each, probe connectivity; on any error, trap,
//! timeout, mismatch or failed probe restore every checkpoint in reverse
//! order and verify the restore. Finally record the outcome; an apply
//! whose outcome cannot be recorded is undone too. Plugins without actions
//! are untouched; a no-op never opens the ledger.

use super::audit::{self, Caller};
use super::error::StateError;
use super::file::StateFile;
use super::journal::{Journal, Phase, Saved};
use super::lock::Wait;
use super::managed_block::{self, BlockError};
use super::manager::{Loaded, Manager, classify, ms};
use super::report::{
    ApplyReport, PendingConfirmation, PluginDiff, PluginReport, action_json, mismatch_json, mismatch_text,
};
use crate::ledger::Ledger;
use crate::plugin::Plugin;
use crate::plugin::api::{Action, ActionKind};
use crate::util::time::{rfc3339, unix_secs};
use serde_json::{Value, json};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant, SystemTime};

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub wait: Wait,
    pub caller: Caller,
    /// Keep the checkpoints and roll back unless committed within this.
    pub confirm_timeout: Option<Duration>,
    /// Hosts that must answer a ping after the apply (besides the file's).
    pub probe: Vec<String>,
    /// Set when the caller went away: if the apply has not started by
    /// then, it never does.
    pub cancelled: Option<Arc<AtomicBool>>,
    /// Told each phase of the apply as it ends, in words.
    pub progress: Option<Progress>,
    /// Rewrite the managed block of the interfaces file (if it has one)
    /// when `net` changes the configured bridge, as part of this apply:
    /// checkpointed, and undone with it (an apply-state does; the port
    /// agent's own changes mirror theirs after).
    pub interfaces_block: bool,
}

/// Where an apply's phases are told as they end (a line a person reads:
/// `checkpointed 2 plugin(s) as ...`).
#[derive(Clone)]
pub struct Progress(Arc<dyn Fn(&str) + Send + Sync>);

impl Progress {
    pub fn new(f: impl Fn(&str) + Send + Sync + 'static) -> Progress {
        Progress(Arc::new(f))
    }

    pub fn tell(&self, line: &str) {
        (self.0)(line)
    }
}

impl std::fmt::Debug for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Progress")
    }
}

impl ApplyOptions {
    pub fn new(caller: Caller) -> ApplyOptions {
        ApplyOptions {
            wait: Wait::Block,
            caller,
            confirm_timeout: None,
            probe: vec![],
            cancelled: None,
            progress: None,
            interfaces_block: false,
        }
    }

    /// Tells `line` to whoever follows the progress (made only if someone does).
    fn tell(&self, line: impl FnOnce() -> String) {
        if let Some(p) = &self.progress {
            p.tell(&line());
        }
    }
}

/// One plugin's part of a plan: what it wants, what it had, what to do.
struct Step {
    loaded: Loaded,
    desired: String,
    current: String,
    actions: Vec<Action>,
}

/// Every action's body must be JSON text (the contract: the full config
/// for `create`, a JSON Merge Patch of it for `modify`, `null` for
/// `delete`): what the ledger records and `show-diff` prints.
fn check_bodies(plugin: &str, actions: &[Action]) -> Result<(), crate::plugin::CallError> {
    for (i, a) in actions.iter().enumerate() {
        if let Err(e) = serde_json::from_str::<serde::de::IgnoredAny>(&a.body) {
            return Err(crate::plugin::CallError::Plugin {
                plugin: plugin.into(),
                op: "diff",
                error: crate::plugin::api::PluginError::Failed(format!(
                    "actions[{i}] ({}): the body is not JSON ({e}); see docs/plugins.md",
                    a.resource
                )),
            });
        }
    }
    Ok(())
}

/// Ledger space set aside for an apply's records: generous for the
/// entries' fixed parts, twice the actions (the outcome, and a rollback
/// if recording the outcome fails).
fn record_space(work: &[(Step, PluginReport)]) -> u64 {
    let actions: usize = work.iter().flat_map(|w| &w.0.actions).map(|a| a.body.len() + a.resource.len() + 64).sum();
    64 * 1024 + 2 * actions as u64
}

impl Manager {
    /// Every plugin's step, and the time spent inside their exports; an
    /// invalid field is placed on its line of the file.
    fn plan(&self, file: &StateFile) -> Result<(Vec<Step>, f64), StateError> {
        self.plan_unlocated(file).map_err(|e| file.locate(e))
    }

    fn plan_unlocated(&self, file: &StateFile) -> Result<(Vec<Step>, f64), StateError> {
        let sections: Vec<&str> = file.sections.keys().map(String::as_str).collect();
        let mut plugins = self.load(&sections)?;
        let mut plugin_ms = 0.0;
        for l in &mut plugins {
            let desired = file.sections[&l.manifest.section].to_string();
            let t = Instant::now();
            l.plugin.validate(&desired).map_err(|e| classify(&l.manifest.section, e))?;
            plugin_ms += ms(t);
        }
        let mut planned = Vec::new();
        for mut l in plugins {
            let section = l.manifest.section.clone();
            let desired = file.sections[&section].to_string();
            let t = Instant::now();
            let current = l.plugin.query().map_err(|e| classify(&section, e))?;
            let actions = l.plugin.diff(&current, &desired).map_err(|e| classify(&section, e))?;
            plugin_ms += ms(t);
            check_bodies(&l.manifest.name, &actions).map_err(|e| classify(&section, e))?;
            planned.push(Step { loaded: l, desired, current, actions });
        }
        Ok((planned, plugin_ms))
    }

    /// What an apply of `file` would do, per plugin.
    pub fn show_diff(&self, file: &StateFile) -> Result<Vec<PluginDiff>, StateError> {
        Ok(self
            .plan(file)?
            .0
            .into_iter()
            .map(|s| PluginDiff {
                plugin: s.loaded.manifest.section.clone(),
                actions: s.actions.iter().map(action_json).collect(),
            })
            .collect())
    }

    /// Applies `file` atomically across its plugins and records the outcome
    /// in the ledger. With a confirm timeout the change is kept only until
    /// `commit`; the caller arranges for [`Manager::expire_when_due`].
    pub fn apply(&self, file: &StateFile, opts: &ApplyOptions) -> Result<ApplyReport, StateError> {
        let started = Instant::now();
        for (i, host) in opts.probe.iter().enumerate() {
            super::probe::check_target(host).map_err(|message| StateError::invalid(format!("probe[{i}]"), message))?;
        }
        let _lock = self.lock(opts.wait, opts.cancelled.as_ref())?;
        let mut report = ApplyReport { recovered: self.settle_before_work(opts.caller)?, ..Default::default() };
        if let Some(j) = self.pending()? {
            return Err(StateError::Pending {
                id: j.id.clone(),
                seconds_left: j.time_left().unwrap_or_default().as_secs(),
            });
        }
        let t = Instant::now();
        // Time inside plugin exports; the rest of `total` is the host's.
        let (planned, mut plugin_ms) = self.plan(file)?;
        let work: Vec<(Step, PluginReport)> = planned
            .into_iter()
            .filter(|s| !s.actions.is_empty())
            .map(|s| {
                let m = &s.loaded.manifest;
                let r = PluginReport {
                    plugin: m.section.clone(),
                    name: m.name.clone(),
                    version: m.version.clone(),
                    sha256: s.loaded.sha256.clone(),
                    actions: s.actions.iter().map(action_json).collect(),
                    ..Default::default()
                };
                (s, r)
            })
            .collect();
        // Removals go before what they stand on goes: see `change_order`.
        // The journal keeps this order, so a rollback restores in reverse
        // (the link first, then what stood on it).
        let only_deletes: Vec<bool> =
            work.iter().map(|w| w.0.actions.iter().all(|a| a.kind == ActionKind::Delete)).collect();
        let order = change_order(&only_deletes);
        let mut slots: Vec<Option<(Step, PluginReport)>> = work.into_iter().map(Some).collect();
        let mut work: Vec<(Step, PluginReport)> =
            order.iter().map(|&i| slots[i].take().expect("each plugin once")).collect();
        report.timings_ms.insert("plan".into(), ms(t));
        opts.tell(|| {
            let n: usize = work.iter().map(|w| w.0.actions.len()).sum();
            let each: Vec<String> = work.iter().map(|w| format!("{} {}", w.1.plugin, w.0.actions.len())).collect();
            if n == 0 {
                "planned: nothing to do".into()
            } else {
                format!("planned: {n} action(s) ({})", each.join(", "))
            }
        });

        if work.is_empty() {
            // Nothing to do, nothing to record: a no-op never reads the ledger.
            report.success = true;
            report.timings_ms.insert("plugin_calls".into(), plugin_ms);
            report.timings_ms.insert("total".into(), ms(started));
            return Ok(report);
        }
        // Opened, and room set aside for the records, before the first
        // change: a change that cannot be recorded is not made.
        let ledger = self.open_ledger()?;
        ledger.reserve(record_space(&work))?;

        // Checkpoint everything, durably, before the first change.
        let t = Instant::now();
        let id = crate::util::id::checkpoint_id();
        let mut saved: Vec<Saved> = Vec::new();
        for (s, r) in &mut work {
            let t = Instant::now();
            let blob = s.loaded.plugin.checkpoint(&id).map_err(|e| classify(&r.plugin, e))?;
            plugin_ms += ms(t);
            saved.push(Saved {
                plugin: s.loaded.manifest.name.clone(),
                section: r.plugin.clone(),
                before: s.current.clone(),
                checkpoint: blob,
            });
        }
        report.checkpoint = Some(id.clone());
        let mut journal = Journal {
            id,
            started: rfc3339(SystemTime::now()),
            pid: std::process::id(),
            uid: opts.caller.uid,
            desired_state_hash: file.hash(),
            phase: Phase::Applying,
            deadline: None,
            plugins: saved,
            interfaces_file: None,
            record: None,
            attempts: 0,
            errors: vec![],
        };
        report.timings_ms.insert("checkpoint".into(), ms(t));
        let t = Instant::now();
        if let Err(e) = journal.write(self.dir()) {
            ledger.release();
            return Err(StateError::io(format!("{} (nothing was changed)", Journal::path(self.dir()).display()))(e));
        }
        report.timings_ms.insert("journal".into(), ms(t));
        opts.tell(|| format!("checkpointed {} plugin(s) as {}", journal.plugins.len(), journal.id));

        // Apply and verify, plugin by plugin; the first failure rolls back all.
        let (mut apply_ms, mut verify_ms) = (0.0, 0.0);
        let mut failure: Option<String> = None;
        for (s, r) in &mut work {
            let t = Instant::now();
            let applied = s.loaded.plugin.apply(&s.actions);
            apply_ms += ms(t);
            match applied {
                Ok(changed) => {
                    opts.tell(|| format!("applied {}: {} change(s)", r.plugin, changed.len()));
                    r.changes_applied = changed
                }
                Err(e) => {
                    failure = Some(format!("apply: {e}"));
                    break;
                }
            }
            let t = Instant::now();
            let verified = s.loaded.plugin.verify(&s.desired);
            verify_ms += ms(t);
            match verified {
                Ok(m) if m.is_empty() => {
                    opts.tell(|| format!("verified {}", r.plugin));
                    r.verified = true
                }
                Ok(m) => {
                    r.mismatches = m.iter().map(mismatch_json).collect();
                    failure = Some(format!("plugin '{}' verify: {}", r.plugin, mismatch_text(&m)));
                    break;
                }
                Err(e) => {
                    failure = Some(format!("verify: {e}"));
                    break;
                }
            }
        }
        report.timings_ms.insert("apply".into(), apply_ms);
        report.timings_ms.insert("verify".into(), verify_ms);
        plugin_ms += apply_ms + verify_ms;

        if failure.is_none() && opts.interfaces_block {
            let t = Instant::now();
            match self.rewrite_block(&mut work, &mut journal) {
                Ok(done) => report.interfaces_file = done,
                Err(why) => failure = Some(why),
            }
            report.timings_ms.insert("interfaces_file".into(), ms(t));
        }

        let hosts: Vec<String> = file.probe.iter().chain(&opts.probe).cloned().collect();
        if failure.is_none() && !hosts.is_empty() {
            let t = Instant::now();
            let down = super::probe::unreachable(&hosts);
            report.timings_ms.insert("probe".into(), ms(t));
            if !down.is_empty() {
                failure = Some(format!("connectivity probe: {}", down.join("; ")));
            } else {
                opts.tell(|| format!("probe: {} answered", hosts.join(", ")));
            }
        }

        let t = Instant::now();
        match failure {
            Some(why) => {
                opts.tell(|| format!("failed: {why}; rolling back"));
                self.undo_apply(&mut report, &mut work, &journal, why);
                opts.tell(|| if report.rolled_back { "rolled back".into() } else { "ROLLBACK FAILED".into() });
                report.timings_ms.insert("rollback".into(), ms(t));
                plugin_ms += ms(t);
            }
            None => {
                report.success = true;
                report.changes_applied = work
                    .iter()
                    .flat_map(|w| w.1.changes_applied.iter().map(move |c| format!("{}:{c}", w.1.plugin)))
                    .collect();
                if let Some(timeout) = opts.confirm_timeout {
                    let seconds = timeout.as_secs().max(1);
                    let deadline = unix_secs() + seconds;
                    journal.deadline = Some(deadline);
                    report.pending_confirmation = Some(PendingConfirmation {
                        checkpoint: journal.id.clone(),
                        deadline: rfc3339(std::time::UNIX_EPOCH + Duration::from_secs(deadline)),
                        seconds,
                    });
                }
            }
        }
        report.plugins = work.iter().map(|w| w.1.clone()).collect();
        let t = Instant::now();
        self.record_apply(&ledger, &mut report, &mut work, journal, file, opts.caller);
        ledger.release();
        opts.tell(|| match &report.unrecorded {
            None => "recorded in the ledger".into(),
            Some(_) => "NOT recorded in the ledger yet (retried)".into(),
        });
        report.timings_ms.insert("ledger".into(), ms(t));
        report.timings_ms.insert("plugin_calls".into(), (plugin_ms * 100.0).round() / 100.0);
        report.timings_ms.insert("total".into(), ms(started));
        Ok(report)
    }

    /// The managed block of the interfaces file rewritten to list the
    /// configured bridge's ports as `net` now has them, if the file has a
    /// block and `net` changed that bridge. The rewrite goes into the
    /// journal (durably) before the file is written, so every way back
    /// (a failure below, `rollback`, the confirm timeout, recovery after a
    /// crash) undoes it. A malformed block is reported and left alone
    /// (Ok); a file that cannot be read or written fails the apply.
    fn rewrite_block(&self, work: &mut [(Step, PluginReport)], journal: &mut Journal) -> Result<Option<Value>, String> {
        let c = &self.config;
        let Some((s, _)) =
            work.iter_mut().find(|(_, r)| r.plugin == "net" && r.changes_applied.contains(&c.bridge_name))
        else {
            return Ok(None);
        };
        if !managed_block::is_kept(&c.interfaces_path, &c.managed_block_tag) {
            return Ok(None);
        }
        let live = s.loaded.plugin.query().map_err(|e| format!("managed block: reading net's live state: {e}"))?;
        let live: portagent_sdk::ports::LiveNet =
            serde_json::from_str(&live).map_err(|e| format!("managed block: net's live state: {e}"))?;
        let Some(ports) = managed_block::ports_of(&live, &c.bridge_name) else { return Ok(None) };
        let base = json!({"path": c.interfaces_path, "tag": c.managed_block_tag, "bridge": c.bridge_name});
        let rewrite = match managed_block::rewrite(&c.interfaces_path, &c.managed_block_tag, &c.bridge_name, &ports) {
            Ok(Some(r)) => r,
            Ok(None) => return Ok(None),
            Err(e @ BlockError::Malformed { .. }) => {
                log::error!("managed block: {e}");
                let mut d = base;
                d["result"] = "refused".into();
                d["error"] = e.to_string().into();
                return Ok(Some(d));
            }
            Err(e) => return Err(format!("managed block: {e}")),
        };
        journal.interfaces_file = Some(rewrite.saved());
        journal
            .write(self.dir())
            .map_err(|e| format!("managed block: {}: {e}", Journal::path(self.dir()).display()))?;
        rewrite.write().map_err(|e| format!("managed block: {e}"))?;
        let (before, after) = rewrite.hashes();
        let mut d = base;
        d["result"] = "rewritten".into();
        d["ports"] = json!(ports.len());
        d["sha256_before"] = before.into();
        d["sha256_after"] = after.into();
        Ok(Some(d))
    }

    /// Undoes a failed (or unrecordable) apply: every checkpoint restored
    /// in reverse order and verified.
    fn undo_apply(&self, report: &mut ApplyReport, work: &mut [(Step, PluginReport)], journal: &Journal, why: String) {
        report.errors.push(why);
        report.success = false;
        report.pending_confirmation = None;
        let mut restored = vec![false; work.len()];
        let mut plugins: Vec<&mut Plugin> = work.iter_mut().map(|w| &mut w.0.loaded.plugin).collect();
        let errors = self.undo(&mut plugins, journal, &mut restored);
        report.rollback_failed = !errors.is_empty();
        report.rolled_back = errors.is_empty();
        // Read back, not taken from the undo's word: the file as it was?
        if let (Some(d), Some(w)) = (&mut report.interfaces_file, &journal.interfaces_file) {
            let now = std::fs::read(&w.path).ok();
            d["undone"] = json!(now.as_deref() == w.before.as_ref().map(|b| b.as_bytes()));
        }
        report.errors.extend(errors);
        for ((_, r), ok) in work.iter_mut().zip(restored) {
            r.restored = ok;
        }
    }

    /// Records the outcome and leaves the journal as the outcome says:
    /// removed (recorded and final), `pending_confirmation`,
    /// `rollback_failed` (to retry the restore) or `unrecorded`. An applied
    /// change that cannot be recorded, or written down as pending, is
    /// undone first.
    fn record_apply(
        &self,
        ledger: &Ledger,
        report: &mut ApplyReport,
        work: &mut [(Step, PluginReport)],
        mut journal: Journal,
        file: &StateFile,
        caller: Caller,
    ) {
        let hash = file.hash();
        let mut record = audit::apply_record(&hash, report, caller);
        let mut written = self.write_record(Some(ledger), &record);
        if report.success {
            let undo_because = match &written {
                Err(e) => Some(format!("the change could not be recorded in the ledger, so it was undone: {e}")),
                Ok(_) if report.pending_confirmation.is_some() => {
                    journal.phase = Phase::PendingConfirmation;
                    journal.write(self.dir()).err().map(|e| {
                        format!("the change could not be written down as awaiting confirmation, so it was undone: {e}")
                    })
                }
                Ok(_) => None,
            };
            if let Some(why) = undo_because {
                journal.phase = Phase::Applying;
                self.undo_apply(report, work, &journal, why);
                report.plugins = work.iter().map(|w| w.1.clone()).collect();
                record = audit::apply_record(&hash, report, caller);
                written = self.write_record(Some(ledger), &record);
            }
        }
        match &written {
            Ok(hash) => report.ledger_hash = Some(hash.clone()),
            Err(e) => report.unrecorded = Some(e.clone()),
        }
        let keep = match (report.success, report.rollback_failed, written.is_ok()) {
            (true, _, true) if report.pending_confirmation.is_some() => return, // already written down as pending
            (true, _, true) | (false, false, true) => false,
            (_, true, _) => {
                journal.phase = Phase::RollbackFailed;
                journal.attempts = 1;
                journal.errors = report.errors.clone();
                journal.record = written.is_err().then_some(record);
                true
            }
            (_, false, false) => {
                journal.phase = Phase::Unrecorded;
                journal.record = Some(record);
                true
            }
        };
        let done = if keep { journal.write(self.dir()) } else { Journal::remove(self.dir()) };
        if let Err(e) = done {
            log::error!("journal {}: {e}", Journal::path(self.dir()).display());
            report.errors.push(format!("journal: {e}"));
        }
    }
}

/// The order plugins apply their changes in, given for each plugin (in
/// `after` order) whether all its actions are deletes: those go first, in
/// reverse `after` order (netcfg takes its routes off a link before net
/// removes the link's addresses or the link itself), then every other
/// plugin in `after` order (net makes a link before netcfg puts a route
/// on it). Indexes into the input.
pub(super) fn change_order(only_deletes: &[bool]) -> Vec<usize> {
    let deletes = (0..only_deletes.len()).rev().filter(|&i| only_deletes[i]);
    let others = (0..only_deletes.len()).filter(|&i| !only_deletes[i]);
    deletes.chain(others).collect()
}

#[cfg(test)]
mod order_tests {
    #[test]
    fn deletes_go_first_in_reverse_and_the_rest_in_after_order() {
        assert_eq!(super::change_order(&[false, false]), [0, 1]);
        assert_eq!(super::change_order(&[false, true]), [1, 0], "netcfg's removals before net's change");
        assert_eq!(super::change_order(&[true, true, false]), [1, 0, 2]);
        assert_eq!(super::change_order(&[]), [0usize; 0]);
    }
}
