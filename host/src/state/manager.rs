//! The apply pipeline, plugin-agnostic: validate every section, query,
//! diff, then checkpoint every plugin that has actions (durably, in the
//! journal), apply in dependency order, verify each, probe connectivity, and
//! on any error, trap, timeout, mismatch or failed probe restore every
//! checkpoint in reverse order and verify the restore. Plugins without
//! actions are untouched. Also: confirm-or-revert (`commit`, `rollback`,
//! expiry) and the recovery of an apply interrupted by a crash.

use super::audit::{self, Caller};
use super::file::StateFile;
use super::journal::{self, Journal, Phase, Saved};
use super::lock::{ApplyLock, Wait};
use crate::ledger::{Ledger, Options as LedgerOptions};
use crate::config::Config;
use crate::plugin::bindings::{Action, ActionKind, Mismatch, PluginError};
use crate::plugin::{CallError, Manifest, Plugin, Registry, RegistryError, Runtime};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::{Duration, Instant, SystemTime};

/// Why a state operation did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// Bad input; nothing was changed.
    #[error("{field}: {message}")]
    Invalid { field: String, message: String },
    /// Another apply is running and the caller chose not to wait.
    #[error("another apply is in progress")]
    Busy,
    /// A plugin failed before anything was changed.
    #[error("{0}")]
    Plugin(CallError),
    #[error("{0}")]
    Registry(#[from] RegistryError),
    #[error("{0}")]
    Load(#[from] crate::plugin::LoadError),
    #[error("state dir: {0}")]
    Io(#[from] std::io::Error),
    /// The ledger cannot be written: nothing is applied unrecorded.
    #[error("ledger: {0}")]
    Ledger(#[from] crate::ledger::LedgerError),
    /// A change awaits confirmation; nothing else is applied until it is
    /// committed or rolled back.
    #[error(
        "change {id} awaits confirmation ({seconds_left} s left): run `portagent commit` to keep it or `portagent rollback` to undo it"
    )]
    Pending { id: String, seconds_left: u64 },
    /// `commit` or `rollback` with no change awaiting confirmation.
    #[error("no change awaits confirmation")]
    NothingPending,
    /// `commit` came after the deadline: the change was rolled back.
    #[error("change {id} was not confirmed in time and has been rolled back")]
    Expired { id: String },
}

/// One plugin's planned actions, in the deployment guide's shape.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PluginDiff {
    pub plugin: String,
    pub actions: Vec<Value>,
}

/// What one plugin did during an apply.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct PluginReport {
    pub plugin: String,
    /// The actions planned, in the guide's shape.
    pub actions: Vec<Value>,
    pub changes_applied: Vec<String>,
    pub checkpoint: Option<String>,
    pub verified: bool,
    pub mismatches: Vec<Value>,
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
    /// `committed`, `rolled_back` or `rollback_failed`.
    pub result: String,
    pub reason: String,
    pub plugins: Vec<String>,
    pub errors: Vec<String>,
}

impl Settled {
    /// `committed` for a commit; otherwise rolled back, or not fully.
    fn of(j: &Journal, committed: bool, reason: &str, errors: Vec<String>) -> Settled {
        let result = match (committed, errors.is_empty()) {
            (true, _) => "committed",
            (false, true) => "rolled_back",
            (false, false) => "rollback_failed",
        };
        Settled {
            checkpoint: j.id.clone(),
            result: result.into(),
            reason: reason.into(),
            plugins: j.plugins.iter().map(|s| s.section.clone()).collect(),
            errors,
        }
    }
}

/// Why an unconfirmed change was rolled back by its timer.
const EXPIRED: &str = "confirm timeout expired";

/// How to apply.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    pub wait: Wait,
    pub caller: Caller,
    /// Keep the checkpoints and roll back unless committed within this.
    pub confirm_timeout: Option<Duration>,
    /// Hosts that must answer a ping after the apply (besides the file's).
    pub probe: Vec<String>,
}

impl ApplyOptions {
    pub fn new(caller: Caller) -> ApplyOptions {
        ApplyOptions { wait: Wait::Block, caller, confirm_timeout: None, probe: vec![] }
    }
}

/// The result of an apply, in the guide's shape plus details.
#[derive(Debug, Clone, Serialize, Deserialize, Default)]
pub struct ApplyReport {
    pub success: bool,
    pub changes_applied: Vec<String>,
    pub errors: Vec<String>,
    pub rolled_back: bool,
    pub checkpoint: Option<String>,
    pub plugins: Vec<PluginReport>,
    pub timings_ms: BTreeMap<String, f64>,
    /// Set when the change awaits `commit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_confirmation: Option<PendingConfirmation>,
    /// Set when an earlier interrupted or expired apply was undone first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered: Option<Settled>,
}

impl ApplyReport {
    /// True when changes were made and kept.
    pub fn changed(&self) -> bool {
        self.success && !self.changes_applied.is_empty()
    }
}

struct Loaded {
    manifest: Manifest,
    plugin: Plugin,
}

/// One plugin's part of a plan: what it wants, what it had, what to do.
struct Step {
    loaded: Loaded,
    desired: String,
    current: String,
    actions: Vec<Action>,
}

/// Plugins, runtime and config for state operations.
pub struct Manager {
    config: Config,
    runtime: Runtime,
    registry: Registry,
}

fn action_json(a: &Action) -> Value {
    let body: Value = serde_json::from_str(&a.body).unwrap_or(Value::String(a.body.clone()));
    match a.kind {
        ActionKind::Create => json!({"type": "Create", "resource": a.resource, "config": body}),
        ActionKind::Modify => json!({"type": "Modify", "resource": a.resource, "changes": body}),
        ActionKind::Delete => json!({"type": "Delete", "resource": a.resource}),
    }
}

/// `resource.field: expected X, found Y; ...`
fn mismatch_text(list: &[Mismatch]) -> String {
    list.iter()
        .map(|m| format!("{}.{}: expected {}, found {}", m.resource, m.field, m.expected, m.actual))
        .collect::<Vec<_>>()
        .join("; ")
}

fn mismatch_json(m: &Mismatch) -> Value {
    json!({"resource": m.resource, "field": m.field, "expected": m.expected, "actual": m.actual})
}

/// A plugin's invalid-input error, with the field placed in the file.
fn classify(section: &str, e: CallError) -> StateError {
    match e {
        CallError::Plugin { error: PluginError::Invalid(f), .. } => StateError::Invalid {
            field: if f.field.is_empty() { format!("plugins.{section}") } else { format!("plugins.{section}.{}", f.field) },
            message: f.message,
        },
        other => StateError::Plugin(other),
    }
}

fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e5).round() / 100.0
}

impl Manager {
    pub fn open(config: Config) -> Result<Manager, StateError> {
        let runtime = Runtime::from_config(&config)?;
        let registry = Registry::new(config.plugin_dir());
        Ok(Manager { config, runtime, registry })
    }

    /// Every runnable plugin, keyed by the section it owns.
    fn available(&self) -> Result<BTreeMap<String, Manifest>, StateError> {
        Ok(self.registry.all(&self.runtime)?.into_iter().map(|p| (p.manifest.section.clone(), p.manifest)).collect())
    }

    /// The plugins for `sections`, in apply order (`after` first).
    fn load(&self, sections: &[&str]) -> Result<Vec<Loaded>, StateError> {
        self.load_from(&self.available()?, sections)
    }

    fn load_from(&self, available: &BTreeMap<String, Manifest>, sections: &[&str]) -> Result<Vec<Loaded>, StateError> {
        let mut loaded = Vec::new();
        for section in sections {
            let manifest = available.get(*section).cloned().ok_or_else(|| StateError::Invalid {
                field: format!("plugins.{section}"),
                message: format!(
                    "no plugin owns this section (available: {})",
                    available.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            })?;
            let plugin = self.registry.load(&self.runtime, &manifest.name)?;
            loaded.push(Loaded { manifest, plugin });
        }
        // Stable topological order by `after`.
        let mut ordered: Vec<Loaded> = Vec::new();
        while !loaded.is_empty() {
            let names: Vec<String> = loaded.iter().map(|l| l.manifest.name.clone()).collect();
            let pos = loaded
                .iter()
                .position(|l| !l.manifest.after.iter().any(|a| names.contains(a)))
                .unwrap_or(0); // a cycle: keep file order
            ordered.push(loaded.remove(pos));
        }
        Ok(ordered)
    }

    /// The live state of every plugin (or one section).
    pub fn query(&self, only: Option<&str>) -> Result<BTreeMap<String, Value>, StateError> {
        let available = self.available()?;
        let sections: Vec<&str> = match only {
            Some(s) => vec![s],
            None => available.keys().map(String::as_str).collect(),
        };
        let mut out = BTreeMap::new();
        for mut l in self.load_from(&available, &sections)? {
            let section = l.manifest.section.clone();
            let text = l.plugin.query().map_err(|e| classify(&section, e))?;
            let value = serde_json::from_str(&text).map_err(|e| StateError::Invalid {
                field: format!("plugins.{section}"),
                message: format!("plugin returned invalid JSON: {e}"),
            })?;
            out.insert(section, value);
        }
        Ok(out)
    }

    /// Every plugin's step, and the time spent inside their exports.
    fn plan(&self, file: &StateFile) -> Result<(Vec<Step>, f64), StateError> {
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

    fn dir(&self) -> &std::path::Path {
        &self.config.state_dir
    }

    fn open_ledger(&self) -> Result<Ledger, StateError> {
        Ok(Ledger::open(&self.config.ledger_path, LedgerOptions::from_config(&self.config))?)
    }

    /// Restores `saved` in reverse order and verifies each restore against
    /// the state before the apply; `restored[i]` tells which succeeded.
    fn undo(&self, plugins: &mut [&mut Plugin], saved: &[Saved], restored: &mut [bool]) -> Vec<String> {
        let mut errors = Vec::new();
        for i in (0..saved.len()).rev() {
            let s = &saved[i];
            if let Err(e) = plugins[i].restore(&s.checkpoint) {
                errors.push(format!("ROLLBACK FAILED: plugin '{}': {e}", s.section));
                continue;
            }
            match plugins[i].verify(&s.before) {
                Ok(m) if m.is_empty() => restored[i] = true,
                Ok(m) => errors.push(format!("ROLLBACK NOT VERIFIED: plugin '{}': {}", s.section, mismatch_text(&m))),
                Err(e) => errors.push(format!("ROLLBACK NOT VERIFIED: plugin '{}': {e}", s.section)),
            }
        }
        errors
    }

    /// Undoes a journal left by another process (or an expired one), records
    /// it, and removes the journal. The apply lock must be held.
    fn undo_journal(&self, j: &Journal, category: &str, reason: &str, caller: Caller) -> Result<Settled, StateError> {
        let ledger = self.open_ledger()?;
        let mut plugins: Vec<Plugin> =
            j.plugins.iter().map(|s| self.registry.load(&self.runtime, &s.plugin)).collect::<Result<_, _>>()?;
        let mut refs: Vec<&mut Plugin> = plugins.iter_mut().collect();
        let mut restored = vec![false; j.plugins.len()];
        let settled = Settled::of(j, false, reason, self.undo(&mut refs, &j.plugins, &mut restored));
        audit::record_settled(&ledger, category, j, &settled, caller)?;
        if !settled.errors.is_empty() {
            // Kept as evidence; retrying forever would block every apply.
            let _ = std::fs::copy(Journal::path(self.dir()), self.dir().join(format!("journal.failed-{}.json", j.id)));
            log::error!("undoing {}: {}", j.id, settled.errors.join("; "));
        }
        Journal::remove(self.dir())?;
        Ok(settled)
    }

    /// Whether the ledger already records how `j` ended (a crash between
    /// the ledger entry and the journal's removal).
    fn already_settled(&self, j: &Journal) -> Result<bool, StateError> {
        let entries = crate::ledger::store::entries(&self.config.ledger_path)?;
        Ok(entries.iter().rev().find(|e| e.data["checkpoint_id"] == j.id.as_str()).is_some_and(|e| {
            let result = e.data["result"].as_str().unwrap_or("");
            !(e.category == "apply_state" && result == "pending_confirmation")
        }))
    }

    /// Settles a journal left behind, under the apply lock: an interrupted
    /// apply is restored (`recovery`), an expired confirmation rolled back.
    /// A change still awaiting confirmation is left as it is.
    fn settle(&self, caller: Caller) -> Result<Option<Settled>, StateError> {
        let Some(j) = Journal::read(self.dir())? else { return Ok(None) };
        if self.already_settled(&j)? {
            Journal::remove(self.dir())?;
            return Ok(None);
        }
        let settled = match j.phase {
            Phase::Applying => {
                let reason = format!("apply interrupted (pid {} started {})", j.pid, j.started);
                log::warn!("{reason}: restoring checkpoint {}", j.id);
                self.undo_journal(&j, "recovery", &reason, caller)?
            }
            Phase::PendingConfirmation if j.expired() => {
                log::warn!("change {} was not confirmed in time: rolling back", j.id);
                self.undo_journal(&j, "rollback", EXPIRED, caller)?
            }
            Phase::PendingConfirmation => return Ok(None),
        };
        Ok(Some(settled))
    }

    /// Run at start: settles what an earlier process left (see `settle`)
    /// unless a live apply holds the lock. Costs one `stat` when clean.
    pub fn recover(&self, caller: Caller) -> Result<Option<Settled>, StateError> {
        if !Journal::exists(self.dir()) {
            return Ok(None);
        }
        match ApplyLock::take(self.dir(), Wait::NoWait)? {
            Some(_lock) => self.settle(caller),
            None => Ok(None),
        }
    }

    /// The change awaiting confirmation, if any.
    pub fn pending(&self) -> Result<Option<Journal>, StateError> {
        Ok(Journal::read(self.dir())?.filter(|j| j.phase == Phase::PendingConfirmation))
    }

    /// Keeps the change awaiting confirmation.
    pub fn commit(&self, caller: Caller) -> Result<Settled, StateError> {
        let _lock = ApplyLock::take(self.dir(), Wait::Block)?.ok_or(StateError::Busy)?;
        let expired = self.settle(caller)?;
        let Some(j) = self.pending()? else {
            return Err(match expired {
                Some(s) if s.reason == EXPIRED => StateError::Expired { id: s.checkpoint },
                _ => StateError::NothingPending,
            });
        };
        let settled = Settled::of(&j, true, "confirmed", vec![]);
        audit::record_settled(&self.open_ledger()?, "commit", &j, &settled, caller)?;
        Journal::remove(self.dir())?;
        Ok(settled)
    }

    /// Undoes the change awaiting confirmation.
    pub fn rollback(&self, caller: Caller) -> Result<Settled, StateError> {
        let _lock = ApplyLock::take(self.dir(), Wait::Block)?.ok_or(StateError::Busy)?;
        if let Some(expired) = self.settle(caller)? {
            return Ok(expired);
        }
        let j = self.pending()?.ok_or(StateError::NothingPending)?;
        self.undo_journal(&j, "rollback", "requested", caller)
    }

    /// Rolls back change `id` if it is still unconfirmed at its deadline:
    /// the confirm timer, in whichever process runs it. Waits until then.
    pub fn expire_when_due(&self, id: &str, caller: Caller) -> Result<Option<Settled>, StateError> {
        loop {
            match Journal::read(self.dir())? {
                Some(j) if j.id == id && j.phase == Phase::PendingConfirmation => match j.time_left() {
                    Some(left) if !left.is_zero() => std::thread::sleep(left.min(Duration::from_secs(60))),
                    _ => break,
                },
                _ => return Ok(None),
            }
        }
        let _lock = ApplyLock::take(self.dir(), Wait::Block)?.ok_or(StateError::Busy)?;
        match Journal::read(self.dir())? {
            Some(j) if j.id == id => self.settle(caller),
            _ => Ok(None),
        }
    }

    /// Applies `file` atomically across its plugins and records the outcome
    /// in the ledger. With a confirm timeout the change is kept only until
    /// `commit`; the caller arranges for [`Manager::expire_when_due`].
    pub fn apply(&self, file: &StateFile, opts: &ApplyOptions) -> Result<ApplyReport, StateError> {
        let started = Instant::now();
        for (i, host) in opts.probe.iter().enumerate() {
            super::probe::check_target(host).map_err(|message| StateError::Invalid { field: format!("probe[{i}]"), message })?;
        }
        let _lock = ApplyLock::take(self.dir(), opts.wait)?.ok_or(StateError::Busy)?;
        let mut report = ApplyReport::default();
        if Journal::exists(self.dir()) {
            report.recovered = self.settle(opts.caller)?;
            if let Some(j) = self.pending()? {
                return Err(StateError::Pending {
                    id: j.id.clone(),
                    seconds_left: j.time_left().unwrap_or_default().as_secs(),
                });
            }
        }
        let t = Instant::now();
        // Time inside plugin exports; the rest of `total` is the host's.
        let (planned, mut plugin_ms) = self.plan(file)?;
        let mut work: Vec<(Step, PluginReport)> = planned
            .into_iter()
            .filter(|s| !s.actions.is_empty())
            .map(|s| {
                let r = PluginReport {
                    plugin: s.loaded.manifest.section.clone(),
                    actions: s.actions.iter().map(action_json).collect(),
                    ..Default::default()
                };
                (s, r)
            })
            .collect();
        report.timings_ms.insert("plan".into(), ms(t));

        if work.is_empty() {
            // Nothing to do, nothing to record: a no-op never reads the ledger.
            report.success = true;
            report.timings_ms.insert("plugin_calls".into(), plugin_ms);
            report.timings_ms.insert("total".into(), ms(started));
            return Ok(report);
        }
        // Opened before the first change: a change that cannot be recorded
        // is not made.
        let ledger = self.open_ledger()?;

        // Checkpoint everything, durably, before the first change.
        let t = Instant::now();
        let mut saved: Vec<Saved> = Vec::new();
        for (s, r) in &mut work {
            let t = Instant::now();
            let blob = s.loaded.plugin.checkpoint().map_err(|e| classify(&r.plugin, e))?;
            plugin_ms += ms(t);
            r.checkpoint = serde_json::from_slice::<Value>(&blob).ok().and_then(|v| v["id"].as_str().map(str::to_string));
            saved.push(Saved {
                plugin: s.loaded.manifest.name.clone(),
                section: r.plugin.clone(),
                before: s.current.clone(),
                checkpoint: blob,
            });
        }
        let now = SystemTime::now();
        let id = work
            .iter()
            .find_map(|w| w.1.checkpoint.clone())
            .unwrap_or_else(|| format!("chkpt-{}-{}", journal::now(), std::process::id()));
        report.checkpoint = Some(id.clone());
        let mut journal = Journal {
            id,
            started: crate::util::time::rfc3339(now),
            pid: std::process::id(),
            uid: opts.caller.uid,
            desired_state_hash: file.hash(),
            phase: Phase::Applying,
            deadline: None,
            plugins: saved,
        };
        report.timings_ms.insert("checkpoint".into(), ms(t));
        let t = Instant::now();
        journal.write(self.dir())?;
        report.timings_ms.insert("journal".into(), ms(t));

        // Apply and verify, plugin by plugin; the first failure rolls back all.
        let (mut apply_ms, mut verify_ms) = (0.0, 0.0);
        let mut failure: Option<String> = None;
        for (s, r) in &mut work {
            let t = Instant::now();
            let applied = s.loaded.plugin.apply(&s.actions);
            apply_ms += ms(t);
            match applied {
                Ok(changed) => r.changes_applied = changed,
                Err(e) => {
                    failure = Some(format!("apply: {e}"));
                    break;
                }
            }
            let t = Instant::now();
            let verified = s.loaded.plugin.verify(&s.desired);
            verify_ms += ms(t);
            match verified {
                Ok(m) if m.is_empty() => r.verified = true,
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

        let hosts: Vec<String> = file.probe.iter().chain(&opts.probe).cloned().collect();
        if failure.is_none() && !hosts.is_empty() {
            let t = Instant::now();
            let down = super::probe::unreachable(&hosts);
            report.timings_ms.insert("probe".into(), ms(t));
            if !down.is_empty() {
                failure = Some(format!("connectivity probe: {}", down.join("; ")));
            }
        }

        if let Some(why) = failure {
            report.errors.push(why);
            report.rolled_back = true;
            let t = Instant::now();
            let mut restored = vec![false; work.len()];
            let mut plugins: Vec<&mut Plugin> = work.iter_mut().map(|w| &mut w.0.loaded.plugin).collect();
            let errors = self.undo(&mut plugins, &journal.plugins, &mut restored);
            plugin_ms += ms(t);
            report.errors.extend(errors);
            for ((_, r), ok) in work.iter_mut().zip(restored) {
                r.restored = ok;
            }
            report.timings_ms.insert("rollback".into(), ms(t));
        } else {
            report.success = true;
            report.changes_applied =
                work.iter().flat_map(|w| w.1.changes_applied.iter().map(move |c| format!("{}:{c}", w.1.plugin))).collect();
            if let Some(timeout) = opts.confirm_timeout {
                let seconds = timeout.as_secs().max(1);
                let deadline = journal::now() + seconds;
                journal.deadline = Some(deadline);
                report.pending_confirmation = Some(PendingConfirmation {
                    checkpoint: journal.id.clone(),
                    deadline: crate::util::time::rfc3339(std::time::UNIX_EPOCH + Duration::from_secs(deadline)),
                    seconds,
                });
            }
        }
        report.plugins = work.into_iter().map(|w| w.1).collect();
        let t = Instant::now();
        audit::record_apply(&ledger, file, &report, opts.caller)?;
        if report.pending_confirmation.is_some() {
            journal.phase = Phase::PendingConfirmation;
            journal.write(self.dir())?;
        } else {
            Journal::remove(self.dir())?;
        }
        report.timings_ms.insert("ledger".into(), ms(t));
        report.timings_ms.insert("plugin_calls".into(), (plugin_ms * 100.0).round() / 100.0);
        report.timings_ms.insert("total".into(), ms(started));
        Ok(report)
    }
}

/// Plugin management for the daemon, over the same runtime and registry.
impl Manager {
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every plugin, built-in and installed.
    pub fn plugins(&self) -> Result<Vec<crate::plugin::Installed>, StateError> {
        Ok(self.registry.all(&self.runtime)?)
    }

    /// Installs the component at `path` with `grants` (`CAP[=SCOPE]`, or
    /// `all` for everything it asks for): the consent is the caller's.
    pub fn install_plugin(&self, path: &std::path::Path, grants: &[String]) -> Result<crate::plugin::Installed, StateError> {
        let wasm = std::fs::read(path).map_err(|e| StateError::Invalid { field: "path".into(), message: format!("{}: {e}", path.display()) })?;
        let inspection = self.registry.inspect(&self.runtime, &wasm)?;
        let granted = if grants.iter().any(|g| g == "all") {
            inspection.manifest.grant_all()
        } else {
            inspection.manifest.grant_some(grants).map_err(|e| StateError::Invalid { field: "grants".into(), message: e.to_string() })?
        };
        Ok(self.registry.install(inspection, &wasm, granted, false)?)
    }

    pub fn remove_plugin(&self, name: &str) -> Result<crate::plugin::Installed, StateError> {
        Ok(self.registry.remove(name)?)
    }
}
