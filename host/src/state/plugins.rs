//! Plugin management for the daemon (`ListPlugins`, `InstallPlugin`,
//! `RemovePlugin`), over the state manager's runtime and registry.

use super::error::StateError;
use super::manager::Manager;
use crate::plugin::Installed;

impl Manager {
    /// Every plugin, built-in and installed.
    pub fn plugins(&self) -> Result<Vec<Installed>, StateError> {
        Ok(self.registry.all(&self.runtime)?)
    }

    /// Installs the component at `path` with `grants` (`CAP[=SCOPE]`, or
    /// `all` for everything it asks for): the consent is the caller's.
    pub fn install_plugin(&self, path: &std::path::Path, grants: &[String]) -> Result<Installed, StateError> {
        let wasm = std::fs::read(path).map_err(|e| StateError::invalid("path", format!("{}: {e}", path.display())))?;
        let inspection = self.registry.inspect(&self.runtime, &wasm)?;
        let granted = if grants.iter().any(|g| g == "all") {
            inspection.manifest.grant_all()
        } else {
            inspection.manifest.grant_some(grants).map_err(|e| StateError::invalid("grants", e.to_string()))?
        };
        Ok(self.registry.install(inspection, &wasm, granted, false)?)
    }

    pub fn remove_plugin(&self, name: &str) -> Result<Installed, StateError> {
        Ok(self.registry.remove(name)?)
    }
}
