//! The state manager: the plugins, runtime and config behind every state
//! operation, and what the pipeline ([`pipeline`](super::pipeline)) and
//! the settling of unfinished changes ([`settle`](super::settle)) share:
//! loading plugins in dependency order, reading live state, restoring
//! checkpoints, writing records.

use super::audit;
use super::error::StateError;
use super::journal::{Journal, Record, Saved};
use super::lock::{ApplyLock, NotTaken, Wait};
use super::report::mismatch_text;
use crate::config::Config;
use crate::ledger::{Ledger, Options as LedgerOptions};
use crate::plugin::bindings::PluginError;
use crate::plugin::{CallError, Manifest, Plugin, Registry, Runtime};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

pub(super) struct Loaded {
    pub manifest: Manifest,
    pub plugin: Plugin,
}

/// Plugins, runtime and config for state operations.
pub struct Manager {
    pub(super) config: Config,
    pub(super) runtime: Runtime,
    pub(super) registry: Registry,
}

/// A plugin's invalid-input error, with the field placed in the file.
pub(super) fn classify(section: &str, e: CallError) -> StateError {
    match e {
        CallError::Plugin { error: PluginError::Invalid(f), .. } => StateError::Invalid {
            field: if f.field.is_empty() { format!("plugins.{section}") } else { format!("plugins.{section}.{}", f.field) },
            message: f.message,
        },
        other => StateError::Plugin(other),
    }
}

/// Milliseconds since `t`, two decimals.
pub(super) fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e5).round() / 100.0
}

impl Manager {
    pub fn open(config: Config) -> Result<Manager, StateError> {
        let runtime = Runtime::from_config(&config)?;
        let registry = Registry::new(config.plugin_dir());
        Ok(Manager { config, runtime, registry })
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub(super) fn dir(&self) -> &std::path::Path {
        &self.config.state_dir
    }

    /// The apply lock, waited for unless `wait` says not to or the caller
    /// goes away (`cancelled`) before it is free.
    pub(super) fn lock(&self, wait: Wait, cancelled: Option<&Arc<AtomicBool>>) -> Result<ApplyLock, StateError> {
        ApplyLock::take_unless(self.dir(), wait, cancelled).map_err(|e| match e {
            NotTaken::Busy => StateError::Busy,
            NotTaken::Cancelled => StateError::Cancelled,
            NotTaken::Io(e) => StateError::io(self.dir().join("apply.lock").display().to_string())(e),
        })
    }

    /// Every runnable plugin, keyed by the section it owns.
    fn available(&self) -> Result<BTreeMap<String, Manifest>, StateError> {
        Ok(self.registry.all(&self.runtime)?.into_iter().map(|p| (p.manifest.section.clone(), p.manifest)).collect())
    }

    /// The plugins for `sections`, in apply order (`after` first).
    pub(super) fn load(&self, sections: &[&str]) -> Result<Vec<Loaded>, StateError> {
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

    pub(super) fn open_ledger(&self) -> Result<Ledger, StateError> {
        Ok(Ledger::open(&self.config.ledger_path, LedgerOptions::from_config(&self.config))?)
    }

    /// Writes `record` to the ledger (opened for it); why not, if it could not be.
    pub(super) fn write_record(&self, ledger: Option<&Ledger>, record: &Record) -> Result<(), String> {
        let result = match ledger {
            Some(l) => audit::append(l, record).map_err(|e| e.to_string()),
            None => self.open_ledger().map_err(|e| e.to_string()).and_then(|l| audit::append(&l, record).map_err(|e| e.to_string())),
        };
        if let Err(e) = &result {
            log::error!("NOT RECORDED: a {} entry ({}): {e}", record.category, record.data["result"]);
        }
        result
    }

    /// Whether the ledger already says how the change of `j` ended (a
    /// crash between writing that and removing the journal). Found by a
    /// byte search for the id, so damage elsewhere in the ledger does not
    /// keep a journal from being settled.
    pub(super) fn recorded_final(&self, j: &Journal) -> bool {
        match crate::ledger::store::entries_mentioning(&self.config.ledger_path, &j.id) {
            Ok(entries) => entries.iter().any(|e| {
                e.data["checkpoint_id"] == j.id.as_str() && audit::is_final(&e.category, e.data["result"].as_str().unwrap_or(""))
            }),
            Err(e) => {
                log::warn!("cannot look up change {} in the ledger ({e}); settling it as unrecorded", j.id);
                false
            }
        }
    }

    /// Restores `saved` in reverse order and verifies each restore against
    /// the state before the apply; `restored[i]` tells which succeeded.
    /// The errors, empty when every restore succeeded.
    pub(super) fn undo(&self, plugins: &mut [&mut Plugin], saved: &[Saved], restored: &mut [bool]) -> Vec<String> {
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

    /// Restores a journal's checkpoints with its plugins loaded afresh;
    /// the errors, empty when every restore succeeded.
    pub(super) fn undo_journal(&self, j: &Journal) -> Vec<String> {
        let mut plugins = Vec::new();
        for s in &j.plugins {
            match self.registry.load(&self.runtime, &s.plugin) {
                Ok(p) => plugins.push(p),
                Err(e) => return vec![format!("ROLLBACK FAILED: plugin '{}' cannot be loaded: {e}", s.section)],
            }
        }
        let mut refs: Vec<&mut Plugin> = plugins.iter_mut().collect();
        let mut restored = vec![false; j.plugins.len()];
        self.undo(&mut refs, &j.plugins, &mut restored)
    }
}
