//! The state manager: the plugins, runtime and config behind every state
//! operation, and what the pipeline ([`pipeline`](super::pipeline)) and
//! the settling of unfinished changes ([`settle`](super::settle)) share:
//! loading plugins in dependency order, reading live state, restoring
//! checkpoints, writing records.

use super::audit;
use super::error::StateError;
use super::journal::{Journal, Record};
use super::lock::{ApplyLock, NotTaken, Wait};
use super::managed_block::Undone;
use super::report::mismatch_text;
use crate::config::Config;
use crate::ledger::{Ledger, Options as LedgerOptions};
use crate::plugin::api::PluginError;
use crate::plugin::{CallError, Manifest, Plugin, Registry, Runtime};
use serde_json::Value;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// The live state, by section, and the sections that could not be read.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct Queried {
    pub plugins: BTreeMap<String, Value>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub errors: BTreeMap<String, String>,
}

impl Queried {
    /// As a state file (`version: 1`, `plugins:`), with `errors` beside
    /// when some plugin could not be read.
    pub fn to_state_file(&self) -> Value {
        let mut v = serde_json::json!({"version": super::file::VERSION, "plugins": self.plugins});
        if !self.errors.is_empty() {
            v["errors"] = serde_json::json!(self.errors);
        }
        v
    }
}

pub(super) struct Loaded {
    pub manifest: Manifest,
    /// Of the component that runs (recorded with every apply).
    pub sha256: String,
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
        CallError::Plugin { error: PluginError::Invalid(f), .. } => StateError::invalid(
            if f.field.is_empty() { format!("plugins.{section}") } else { format!("plugins.{section}.{}", f.field) },
            strip_json_position(&f.message),
        ),
        other => StateError::Plugin(other),
    }
}

/// A plugin's message without the position serde_json adds (` at line 1
/// column 24`): that is a place in the JSON the plugin was handed, not in
/// the user's YAML (the host says the YAML line itself).
fn strip_json_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(i)
            if message[i + 9..].split_once(" column ").is_some_and(|(l, c)| {
                l.bytes().all(|b| b.is_ascii_digit()) && c.bytes().all(|b| b.is_ascii_digit())
            }) =>
        {
            message[..i].to_string()
        }
        _ => message.to_string(),
    }
}

/// Milliseconds since `t`, two decimals.
pub(super) fn ms(t: Instant) -> f64 {
    (t.elapsed().as_secs_f64() * 1e5).round() / 100.0
}

/// The order to apply plugins in: each after the ones its `after` names
/// (stable: file order otherwise), as indexes into `manifests`. A cycle is
/// invalid input, naming the plugins in it.
fn apply_order(manifests: &[&Manifest]) -> Result<Vec<usize>, StateError> {
    let mut left: Vec<usize> = (0..manifests.len()).collect();
    let mut order = Vec::new();
    while !left.is_empty() {
        let names: Vec<&str> = left.iter().map(|&i| manifests[i].name.as_str()).collect();
        let Some(pos) = left.iter().position(|&i| !manifests[i].after.iter().any(|a| names.contains(&a.as_str())))
        else {
            let cycle: Vec<String> = left
                .iter()
                .map(|&i| format!("{} (after: {})", manifests[i].name, manifests[i].after.join(", ")))
                .collect();
            return Err(StateError::invalid(
                "plugins",
                format!(
                    "each of these plugins must be applied after another of them, so none can go first: {}",
                    cycle.join("; ")
                ),
            ));
        };
        order.push(left.remove(pos));
    }
    Ok(order)
}

impl Manager {
    pub fn open(config: Config) -> Result<Manager, StateError> {
        let runtime = Runtime::from_config(&config)?;
        let registry = Registry::new(config.plugin_dir());
        super::leftovers::sweep(&config.state_dir, &config.plugin_dir(), None);
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
        let lock = ApplyLock::take_unless(self.dir(), wait, cancelled).map_err(|e| match e {
            NotTaken::Busy => StateError::Busy,
            NotTaken::Cancelled => StateError::Cancelled,
            NotTaken::Io(e) => StateError::io(self.dir().join("apply.lock").display().to_string())(e),
        })?;
        // No plugin writes while the lock is held: a temporary file there
        // is a dead call's.
        super::leftovers::sweep(&self.config.state_dir, &self.config.plugin_dir(), Some(&self.config.networkd_dir));
        Ok(lock)
    }

    /// Every runnable plugin, keyed by the section it owns.
    fn available(&self) -> Result<BTreeMap<String, crate::plugin::Installed>, StateError> {
        Ok(self.registry.all(&self.runtime)?.into_iter().map(|p| (p.manifest.section.clone(), p)).collect())
    }

    /// The plugins for `sections`, in apply order (`after` first).
    pub(super) fn load(&self, sections: &[&str]) -> Result<Vec<Loaded>, StateError> {
        self.load_from(&self.available()?, sections)
    }

    /// The plugin for section `only`, or every runnable one, in apply order.
    pub(super) fn load_only(&self, only: Option<&str>) -> Result<Vec<Loaded>, StateError> {
        let available = self.available()?;
        let sections: Vec<&str> = match only {
            Some(s) => vec![s],
            None => available.keys().map(String::as_str).collect(),
        };
        self.load_from(&available, &sections)
    }

    fn load_from(
        &self,
        available: &BTreeMap<String, crate::plugin::Installed>,
        sections: &[&str],
    ) -> Result<Vec<Loaded>, StateError> {
        let mut loaded = Vec::new();
        for section in sections {
            let installed = available.get(*section).cloned().ok_or_else(|| {
                StateError::invalid(
                    format!("plugins.{section}"),
                    format!(
                        "no plugin owns this section (available: {})",
                        available.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                )
            })?;
            let plugin = self.registry.load(&self.runtime, &installed.manifest.name)?;
            loaded.push(Loaded { manifest: installed.manifest, sha256: installed.sha256, plugin });
        }
        let order = apply_order(&loaded.iter().map(|l| &l.manifest).collect::<Vec<_>>())?;
        let mut slots: Vec<Option<Loaded>> = loaded.into_iter().map(Some).collect();
        Ok(order.into_iter().map(|i| slots[i].take().expect("each once")).collect())
    }

    /// The live state of one plugin's section, or of all: those that could
    /// be read, and why each other one could not.
    pub fn query(&self, only: Option<&str>) -> Result<Queried, StateError> {
        let mut out = Queried::default();
        for mut l in self.load_only(only)? {
            let section = l.manifest.section.clone();
            let read = l.plugin.query().map_err(|e| classify(&section, e)).and_then(|text| {
                serde_json::from_str(&text).map_err(|e| {
                    StateError::Plugin(CallError::Trap {
                        plugin: l.manifest.name.clone(),
                        op: "query",
                        message: format!("returned invalid JSON: {e}"),
                    })
                })
            });
            match read {
                Ok(value) => {
                    out.plugins.insert(section, value);
                }
                Err(e) if only.is_some() => return Err(e),
                Err(e) => {
                    out.errors.insert(section, e.to_string());
                }
            }
        }
        Ok(out)
    }

    pub(super) fn open_ledger(&self) -> Result<Ledger, StateError> {
        Ok(Ledger::open(&self.config.ledger_path, LedgerOptions::from_config(&self.config))?)
    }

    /// Writes `record` to the ledger (`ledger`, or opened for it); the
    /// entry's hash, or why it could not be written.
    pub(super) fn write_record(&self, ledger: Option<&Ledger>, record: &Record) -> Result<String, String> {
        let result = match ledger {
            Some(l) => audit::append(l, record).map_err(|e| e.to_string()),
            None => self
                .open_ledger()
                .map_err(|e| e.to_string())
                .and_then(|l| audit::append(&l, record).map_err(|e| e.to_string())),
        };
        if let Err(e) = &result {
            log::error!("NOT RECORDED: a {} entry ({}): {e}", record.category, record.data["result"]);
        }
        result
    }

    /// Records something portagent changed outside an apply (the port
    /// agent's block in the interfaces file) in the ledger.
    pub fn record(&self, category: &str, data: Value, caller: crate::state::Caller) -> Result<(), StateError> {
        let record = Record { category: category.into(), plugins: vec![], uid: caller.uid, data };
        self.write_record(None, &record)
            .map(drop)
            .map_err(|e| StateError::Io { what: "ledger".into(), error: std::io::Error::other(e) })
    }

    /// Whether the ledger already says how the change of `j` ended (a
    /// crash between writing that and removing the journal). Found by a
    /// byte search for the id, so damage elsewhere in the ledger does not
    /// keep a journal from being settled.
    pub(super) fn recorded_final(&self, j: &Journal) -> bool {
        match crate::ledger::store::entries_mentioning(&self.config.ledger_path, &j.id) {
            Ok(entries) => entries.iter().any(|e| {
                e.data["checkpoint_id"] == j.id.as_str()
                    && audit::is_final(&e.category, e.data["result"].as_str().unwrap_or(""))
            }),
            Err(e) => {
                log::warn!("cannot look up change {} in the ledger ({e}); settling it as unrecorded", j.id);
                false
            }
        }
    }

    /// Restores the plugins `j` saved in reverse order, then verifies each
    /// restore against the state before the apply, in apply order: once
    /// all are back (netcfg's DNS on a bridge is there only once net has
    /// made the bridge again). `restored[i]` tells which succeeded. The
    /// errors, empty when every restore succeeded.
    pub(super) fn undo(&self, plugins: &mut [&mut Plugin], j: &Journal, restored: &mut [bool]) -> Vec<String> {
        let mut errors = Vec::new();
        // The interfaces file was written last: it goes back first, and
        // only if it is still as the apply left it.
        if let Some(w) = &j.interfaces_file {
            match w.undo() {
                Ok(Undone::PutBack) => log::info!("managed block: {} put back as before {}", w.path.display(), j.id),
                Ok(Undone::AsBefore) => {}
                Ok(Undone::ChangedSince) => log::warn!(
                    "managed block: {} was changed by someone else since {} rewrote it; left as it is",
                    w.path.display(),
                    j.id
                ),
                Err(e) => errors.push(format!("ROLLBACK FAILED: the managed block: {e}")),
            }
        }
        let mut put_back = vec![false; j.plugins.len()];
        for i in (0..j.plugins.len()).rev() {
            let s = &j.plugins[i];
            match plugins[i].restore(&j.id, &s.checkpoint) {
                Ok(()) => put_back[i] = true,
                Err(e) => errors.push(format!("ROLLBACK FAILED: plugin '{}': {e}", s.section)),
            }
        }
        for i in (0..j.plugins.len()).filter(|&i| put_back[i]) {
            let s = &j.plugins[i];
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
        self.undo(&mut refs, j, &mut restored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(name: &str, after: &[&str]) -> Manifest {
        Manifest {
            name: name.into(),
            version: "1".into(),
            wit_version: "0.2.0".into(),
            section: name.into(),
            after: after.iter().map(|a| a.to_string()).collect(),
            requests: vec![],
            imports: vec![],
        }
    }

    #[test]
    fn plugins_go_after_what_they_name_and_a_cycle_is_invalid() {
        let (net, probe, other) = (manifest("net", &[]), manifest("probe", &["net"]), manifest("other", &[]));
        assert_eq!(apply_order(&[&probe, &net, &other]).unwrap(), [1, 0, 2]);
        let (a, b) = (manifest("a", &["b"]), manifest("b", &["a"]));
        let e = apply_order(&[&net, &a, &b]).unwrap_err();
        assert!(matches!(&e, StateError::Invalid { field, .. } if field == "plugins"), "{e}");
        assert!(e.to_string().contains("a (after: b); b (after: a)"), "{e}");
    }

    #[test]
    fn plugin_messages_lose_the_json_position() {
        assert_eq!(
            strip_json_position("unknown field `colour`, expected one of `name` at line 1 column 24"),
            "unknown field `colour`, expected one of `name`"
        );
        assert_eq!(strip_json_position("at line 5 of the file"), "at line 5 of the file");
    }
}
