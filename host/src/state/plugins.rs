//! Plugin management for the daemon (`ListPlugins`, `InstallPlugin`,
//! `RemovePlugin`), over the state manager's runtime and registry.

use super::audit::{self, Caller};
use super::error::StateError;
use super::manager::Manager;
use crate::config::Config;
use crate::ledger::{Ledger, Options as LedgerOptions};
use crate::plugin::Installed;

/// Records a plugin's install, upgrade (of `replaced`) or remove in the
/// ledger (category `plugin`).
pub fn record_plugin(
    config: &Config,
    action: &str,
    p: &Installed,
    replaced: Option<&Installed>,
    caller: Caller,
) -> Result<(), StateError> {
    let ledger = Ledger::open(&config.ledger_path, LedgerOptions::from_config(config))?;
    Ok(audit::append(&ledger, &audit::plugin_record(action, p, replaced, caller)).map(drop)?)
}

impl Manager {
    /// Every plugin, built-in and installed.
    pub fn plugins(&self) -> Result<Vec<Installed>, StateError> {
        Ok(self.registry.all(&self.runtime)?)
    }

    /// Installs the component at `path` with `grants` (`CAP[=SCOPE]`, or
    /// `all` for everything it asks for): the consent is the caller's. It
    /// must be signed by a trusted publisher (`path.sig`) unless `grants`
    /// holds `allow-unsigned`.
    pub fn install_plugin(
        &self,
        path: &std::path::Path,
        grants: &[String],
        caller: Caller,
    ) -> Result<Installed, StateError> {
        let wasm = std::fs::read(path).map_err(|e| StateError::invalid("path", format!("{}: {e}", path.display())))?;
        let allow_unsigned = grants.iter().any(|g| g == "allow-unsigned");
        let grants: Vec<String> = grants.iter().filter(|g| *g != "allow-unsigned").cloned().collect();
        let sig = crate::plugin::signature::sig_path(path);
        let trust = crate::plugin::signature::check(
            path,
            &wasm,
            &sig,
            &self.config().plugins.trusted_publishers,
            allow_unsigned,
        )
        .map_err(|e| StateError::invalid("path", e.to_string()))?;
        let inspection = self.registry.inspect(&self.runtime, &wasm, path)?;
        let granted = if grants.iter().any(|g| g == "all") {
            inspection.manifest.grant_all()
        } else {
            inspection.manifest.grant_some(&grants).map_err(|e| StateError::invalid("grants", e.to_string()))?
        };
        let installed = self.registry.install(inspection, &wasm, granted, false, trust)?;
        self.registry.prune_after_change(&self.runtime);
        record_plugin(self.config(), "install", &installed, None, caller)?;
        Ok(installed)
    }

    pub fn remove_plugin(&self, name: &str, caller: Caller) -> Result<Installed, StateError> {
        if self.unsettled_plugins().iter().any(|p| p == name) {
            return Err(StateError::invalid(
                "plugin",
                format!(
                    "{name} is part of a change whose rollback is not settled: `portagent recover` tries again, \
                     `portagent plugin remove {name} --abandon --reason TEXT` settles it by hand and removes it"
                ),
            ));
        }
        let removed = self.registry.remove(name)?;
        self.registry.prune_after_change(&self.runtime);
        record_plugin(self.config(), "remove", &removed, None, caller)?;
        Ok(removed)
    }
}
