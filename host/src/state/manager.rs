//! The apply pipeline, plugin-agnostic: validate every section, query,
//! diff, then checkpoint every plugin that has actions, apply in dependency
//! order, verify each, and on any error, trap, timeout or mismatch restore
//! every checkpoint in reverse order. Plugins without actions are untouched.

use super::audit::Caller;
use super::file::StateFile;
use crate::ledger::{Ledger, Options as LedgerOptions};
use super::lock::{ApplyLock, Wait};
use crate::config::Config;
use crate::plugin::bindings::{Action, ActionKind, Mismatch, PluginError};
use crate::plugin::{CallError, Manifest, Plugin, Registry, RegistryError, Runtime};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Instant;

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
}

/// One plugin's planned actions, in the deployment guide's shape.
#[derive(Debug, Clone, Serialize)]
pub struct PluginDiff {
    pub plugin: String,
    pub actions: Vec<Value>,
}

/// What one plugin did during an apply.
#[derive(Debug, Clone, Serialize, Default)]
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

/// The result of an apply, in the guide's shape plus details.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ApplyReport {
    pub success: bool,
    pub changes_applied: Vec<String>,
    pub errors: Vec<String>,
    pub rolled_back: bool,
    pub checkpoint: Option<String>,
    pub plugins: Vec<PluginReport>,
    pub timings_ms: BTreeMap<&'static str, f64>,
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
        let available = self.available()?;
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
        for mut l in self.load(&sections)? {
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

    fn plan(&self, file: &StateFile) -> Result<Vec<(Loaded, String, Vec<Action>)>, StateError> {
        let sections: Vec<&str> = file.sections.keys().map(String::as_str).collect();
        let mut plugins = self.load(&sections)?;
        for l in &mut plugins {
            let desired = file.sections[&l.manifest.section].to_string();
            l.plugin.validate(&desired).map_err(|e| classify(&l.manifest.section, e))?;
        }
        let mut planned = Vec::new();
        for mut l in plugins {
            let section = l.manifest.section.clone();
            let desired = file.sections[&section].to_string();
            let current = l.plugin.query().map_err(|e| classify(&section, e))?;
            let actions = l.plugin.diff(&current, &desired).map_err(|e| classify(&section, e))?;
            planned.push((l, desired, actions));
        }
        Ok(planned)
    }

    /// What an apply of `file` would do, per plugin.
    pub fn show_diff(&self, file: &StateFile) -> Result<Vec<PluginDiff>, StateError> {
        Ok(self
            .plan(file)?
            .into_iter()
            .map(|(l, _, actions)| PluginDiff {
                plugin: l.manifest.section.clone(),
                actions: actions.iter().map(action_json).collect(),
            })
            .collect())
    }

    /// Applies `file` atomically across its plugins, on behalf of `caller`,
    /// and records the outcome in the ledger.
    pub fn apply(&self, file: &StateFile, wait: Wait, caller: Caller) -> Result<ApplyReport, StateError> {
        let started = Instant::now();
        let _lock = ApplyLock::take(&self.config.state_dir, wait)?.ok_or(StateError::Busy)?;
        let mut report = ApplyReport::default();
        let t = Instant::now();
        let planned = self.plan(file)?;
        report.timings_ms.insert("plan", ms(t));
        let mut work: Vec<(Loaded, String, Vec<Action>, PluginReport)> = planned
            .into_iter()
            .filter(|(_, _, actions)| !actions.is_empty())
            .map(|(l, desired, actions)| {
                let r = PluginReport {
                    plugin: l.manifest.section.clone(),
                    actions: actions.iter().map(action_json).collect(),
                    ..Default::default()
                };
                (l, desired, actions, r)
            })
            .collect();

        if work.is_empty() {
            // Nothing to do, nothing to record: a no-op never reads the ledger.
            report.success = true;
            report.timings_ms.insert("total", ms(started));
            return Ok(report);
        }
        // Opened before the first change: a change that cannot be recorded
        // is not made.
        let ledger = Ledger::open(&self.config.ledger_path, LedgerOptions::from_config(&self.config))?;

        // Checkpoint everything before the first change.
        let t = Instant::now();
        let mut checkpoints: Vec<Vec<u8>> = Vec::new();
        for (l, _, _, r) in &mut work {
            let blob = l.plugin.checkpoint().map_err(|e| classify(&r.plugin, e))?;
            r.checkpoint = serde_json::from_slice::<Value>(&blob).ok().and_then(|v| v["id"].as_str().map(str::to_string));
            checkpoints.push(blob);
        }
        report.checkpoint = work.iter().find_map(|w| w.3.checkpoint.clone());
        report.timings_ms.insert("checkpoint", ms(t));

        // Apply and verify, plugin by plugin; the first failure rolls back all.
        let (mut apply_ms, mut verify_ms) = (0.0, 0.0);
        let mut failure: Option<String> = None;
        for (l, desired, actions, r) in &mut work {
            let t = Instant::now();
            let applied = l.plugin.apply(actions);
            apply_ms += ms(t);
            match applied {
                Ok(changed) => r.changes_applied = changed,
                Err(e) => {
                    failure = Some(format!("apply: {e}"));
                    break;
                }
            }
            let t = Instant::now();
            let verified = l.plugin.verify(desired);
            verify_ms += ms(t);
            match verified {
                Ok(m) if m.is_empty() => r.verified = true,
                Ok(m) => {
                    let list: Vec<String> =
                        m.iter().map(|m| format!("{}.{}: expected {}, found {}", m.resource, m.field, m.expected, m.actual)).collect();
                    r.mismatches = m.iter().map(mismatch_json).collect();
                    failure = Some(format!("plugin '{}' verify: {}", r.plugin, list.join("; ")));
                    break;
                }
                Err(e) => {
                    failure = Some(format!("verify: {e}"));
                    break;
                }
            }
        }
        report.timings_ms.insert("apply", apply_ms);
        report.timings_ms.insert("verify", verify_ms);

        if let Some(why) = failure {
            report.errors.push(why);
            report.rolled_back = true;
            let t = Instant::now();
            for ((l, _, _, r), blob) in work.iter_mut().zip(&checkpoints).rev() {
                match l.plugin.restore(blob) {
                    Ok(()) => r.restored = true,
                    Err(e) => report.errors.push(format!("ROLLBACK FAILED: {e}")),
                }
            }
            report.timings_ms.insert("rollback", ms(t));
        } else {
            report.success = true;
        }
        if report.success {
            report.changes_applied =
                work.iter().flat_map(|w| w.3.changes_applied.iter().map(move |c| format!("{}:{c}", w.3.plugin))).collect();
        }
        report.plugins = work.into_iter().map(|w| w.3).collect();
        let t = Instant::now();
        super::audit::record(&ledger, file, &report, caller)?;
        report.timings_ms.insert("ledger", ms(t));
        report.timings_ms.insert("total", ms(started));
        Ok(report)
    }
}
