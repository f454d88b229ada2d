//! Installed plugins on disk: `<plugin_dir>/<name>/plugin.wasm` plus
//! `plugin.json` (manifest, sha256, size, grant). One `.wasm` file is the
//! unit of install; the compiled artifact lives in the runtime's cache.

use super::caps::Grants;
use super::instance::{CallError, Plugin};
use super::manifest::{self, Manifest, ManifestError};
use super::runtime::{LoadError, Runtime};
use crate::util::fs::{create_private_dir, write_atomically};
use crate::util::hash::sha256_hex;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// What `plugin info` shows about an installed plugin.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    #[serde(flatten)]
    pub manifest: Manifest,
    pub sha256: String,
    pub size: u64,
    pub granted: Grants,
    /// Seconds since the Unix epoch (0 for built-in plugins).
    pub installed_at: u64,
    /// Shipped inside the host rather than installed.
    #[serde(default)]
    pub builtin: bool,
    /// Who vouched for it (None: built-in, or installed before signatures).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trust: Option<super::Trust>,
}

/// A component that passed every check, ready to be installed.
pub struct Inspection {
    pub manifest: Manifest,
    pub sha256: String,
    pub size: u64,
}

/// Why a plugin cannot be installed, found, loaded or removed.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{0}")]
    Load(#[from] LoadError),
    #[error("{0}")]
    Manifest(#[from] ManifestError),
    #[error("describe() failed: {0}")]
    Describe(CallError),
    #[error("a plugin named '{0}' is already installed (use --upgrade to replace it)")]
    Taken(String),
    #[error("the name '{0}' is reserved: a built-in plugin's, or one starting with portagent (the built-ins' files)")]
    Reserved(String),
    #[error(
        "plugin '{name}' and the installed '{other}' would own each other's networkd files (one name is the other's and a '-' or '.'); rename one"
    )]
    Overlaps { name: String, other: String },
    #[error("section '{section}' is already owned by plugin '{owner}'")]
    SectionTaken { section: String, owner: String },
    #[error("no plugin named '{0}' is installed")]
    NotInstalled(String),
    #[error("installed plugin '{name}' was modified on disk (sha256 {found}, installed {expected}); reinstall it")]
    Tampered { name: String, expected: String, found: String },
    #[error("{path}: unreadable plugin record: {message}")]
    Record { path: PathBuf, message: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> RegistryError + '_ {
    move |source| RegistryError::Io { path: path.to_path_buf(), source }
}

/// The start of the built-ins' file names (`10-portagent-…`,
/// `50-portagent-netcfg…`) and of their plugin names: no installed
/// plugin's name or `prefix:` may start with it.
pub const RESERVED_STEM: &str = "portagent";

/// An installed plugin's `networkd` `prefix:` items must be its own name
/// as a word (`20-acme-`, `acme.`): it cannot claim the built-ins' files
/// (`10-portagent-`) or another plugin's (`acme2`, `ac`).
fn check_file_prefixes(m: &Manifest) -> Result<(), ManifestError> {
    use super::file_names::{PREFIX_ITEM, starts_with_word, unnumbered};
    for (i, r) in m.requests.iter().enumerate() {
        if r.capability != super::Capability::NETWORKD {
            continue;
        }
        if let Some(item) = r.scope.iter().find(|s| s.starts_with(super::networkd_files::DROP_INS_ITEM)) {
            return Err(ManifestError::Describe {
                field: format!("capabilities[{i}]"),
                message: format!(
                    "networkd: {item}: only built-in plugins add drop-ins to other files; a plugin keeps its \
                     settings in its own files and their drop-in dirs"
                ),
            });
        }
        let theirs = |p: &&str| !starts_with_word(unnumbered(p), &m.name);
        if let Some(p) = r.scope.iter().filter_map(|s| s.strip_prefix(PREFIX_ITEM)).find(theirs) {
            return Err(ManifestError::Describe {
                field: format!("capabilities[{i}]"),
                message: format!(
                    "networkd: {PREFIX_ITEM}{p} is not the plugin's own: it must be {name}- or {name}., after networkd's \
                     NN- digits or not (e.g. {PREFIX_ITEM}20-{name}-)",
                    name = m.name
                ),
            });
        }
    }
    Ok(())
}

/// Whether two plugin names would own each other's files (`acme` owns
/// `acme-x-*`, so plugin `acme-x` cannot sit beside it).
fn names_overlap(a: &str, b: &str) -> bool {
    use super::file_names::starts_with_word;
    a == b || starts_with_word(a, b) || starts_with_word(b, a)
}

/// The directory of installed plugins, and the built-in ones.
pub struct Registry {
    dir: PathBuf,
    /// The built-ins' records, inspected once per registry.
    builtins: std::sync::OnceLock<Vec<Installed>>,
}

impl Registry {
    pub fn new(dir: impl Into<PathBuf>) -> Registry {
        Registry { dir: dir.into(), builtins: std::sync::OnceLock::new() }
    }

    /// Compiles `wasm` (read from `file`, which errors name), checks its
    /// interfaces and runs `describe()` in a sandbox with no grants.
    /// Nothing is written but the compile cache.
    pub fn inspect(&self, runtime: &Runtime, wasm: &[u8], file: &Path) -> Result<Inspection, RegistryError> {
        let label = format!("(inspecting {})", file.display());
        self.inspect_compiled(runtime, runtime.compile(wasm)?, wasm.len(), &label)
    }

    fn inspect_compiled(
        &self,
        runtime: &Runtime,
        compiled: super::runtime::Compiled,
        size: usize,
        label: &str,
    ) -> Result<Inspection, RegistryError> {
        let (wit_version, imported) = manifest::check_interfaces(runtime.engine(), &compiled.component)?;
        let mut plugin = runtime.load(label, &compiled, Grants::default())?;
        let info = plugin.describe().map_err(RegistryError::Describe)?;
        let manifest = manifest::from_info(info, wit_version, &imported)?;
        Ok(Inspection { manifest, sha256: compiled.sha256, size: size as u64 })
    }

    /// Installs an inspected component with `granted` (already consented).
    pub fn install(
        &self,
        inspection: Inspection,
        wasm: &[u8],
        granted: Grants,
        upgrade: bool,
        trust: super::Trust,
    ) -> Result<Installed, RegistryError> {
        let name = inspection.manifest.name.clone();
        if super::builtin::reserved(&name) || name.to_ascii_lowercase().starts_with(RESERVED_STEM) {
            return Err(RegistryError::Reserved(name));
        }
        check_file_prefixes(&inspection.manifest)?;
        let existing = self.list()?;
        if !upgrade && existing.iter().any(|p| p.manifest.name == name) {
            return Err(RegistryError::Taken(name));
        }
        if let Some(other) = existing.iter().find(|p| p.manifest.name != name && names_overlap(&p.manifest.name, &name))
        {
            return Err(RegistryError::Overlaps { name, other: other.manifest.name.clone() });
        }
        let section = &inspection.manifest.section;
        let owner = existing.iter().find(|p| p.manifest.name != name && &p.manifest.section == section);
        if super::builtin::reserved(section) || owner.is_some() {
            let owner = owner.map_or(section.clone(), |p| p.manifest.name.clone());
            return Err(RegistryError::SectionTaken { section: section.clone(), owner });
        }
        let installed = Installed {
            manifest: inspection.manifest,
            sha256: inspection.sha256,
            size: inspection.size,
            granted,
            installed_at: std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs()),
            builtin: false,
            trust: Some(trust),
        };
        // Build the new plugin dir beside the old one, then swap it in.
        create_private_dir(&self.dir).map_err(io(&self.dir))?;
        let staging = self.dir.join(format!(".{name}.new.{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&staging);
        create_private_dir(&staging).map_err(io(&staging))?;
        write_atomically(&staging.join("plugin.wasm"), wasm, 0o600).map_err(io(&staging))?;
        let record = serde_json::to_vec_pretty(&installed).expect("plugin record serializes");
        write_atomically(&staging.join("plugin.json"), &record, 0o600).map_err(io(&staging))?;
        let target = self.dir.join(&name);
        let old = self.dir.join(format!(".{name}.old.{}", std::process::id()));
        if target.exists() {
            std::fs::rename(&target, &old).map_err(io(&target))?;
        }
        std::fs::rename(&staging, &target).map_err(io(&target))?;
        let _ = std::fs::remove_dir_all(&old);
        Ok(installed)
    }

    /// The built-in plugins' records (inspected, so cheap after the first
    /// compile thanks to the cache), granted all they ask for.
    pub fn builtins(&self, runtime: &Runtime) -> Result<Vec<Installed>, RegistryError> {
        if let Some(done) = self.builtins.get() {
            return Ok(done.clone());
        }
        let records = super::builtin::BUILTINS
            .iter()
            .map(|b| {
                let inspection = self.inspect_compiled(
                    runtime,
                    runtime.compile_hashed(b.wasm, b.sha256)?,
                    b.wasm.len(),
                    &format!("(built-in {})", b.name),
                )?;
                Ok(Installed {
                    granted: inspection.manifest.grant_all(),
                    manifest: inspection.manifest,
                    sha256: inspection.sha256,
                    size: inspection.size,
                    installed_at: 0,
                    builtin: true,
                    trust: None,
                })
            })
            .collect::<Result<Vec<_>, RegistryError>>()?;
        Ok(self.builtins.get_or_init(|| records).clone())
    }

    /// Compiles every built-in and installed plugin into the runtime's
    /// cache (so no later command pays for it), then prunes the cache of
    /// artifacts nothing uses. Returns each plugin's name with the time it
    /// took, and what the prune freed.
    #[allow(clippy::type_complexity)]
    pub fn precompile(
        &self,
        runtime: &Runtime,
    ) -> Result<(Vec<(String, std::time::Duration)>, (usize, u64)), RegistryError> {
        let mut timed = Vec::new();
        for b in super::builtin::BUILTINS {
            let t = std::time::Instant::now();
            runtime.compile_hashed(b.wasm, b.sha256)?;
            timed.push((b.name.to_string(), t.elapsed()));
        }
        for p in self.list()? {
            let t = std::time::Instant::now();
            self.compile_installed(runtime, &p)?;
            timed.push((p.manifest.name, t.elapsed()));
        }
        Ok((timed, self.prune(runtime)?))
    }

    /// Removes compiled artifacts that no built-in or installed plugin uses.
    pub fn prune(&self, runtime: &Runtime) -> Result<(usize, u64), RegistryError> {
        let installed = self.list()?;
        let keep: Vec<&str> = super::builtin::BUILTINS
            .iter()
            .map(|b| b.sha256)
            .chain(installed.iter().map(|p| p.sha256.as_str()))
            .collect();
        Ok(runtime.prune_cache(&keep))
    }

    /// [`Registry::prune`] after an install, upgrade or remove: a cache
    /// that cannot be pruned is a warning, as the change itself is done.
    pub fn prune_after_change(&self, runtime: &Runtime) {
        match self.prune(runtime) {
            Ok((0, _)) => {}
            Ok((files, bytes)) => log::info!("compile cache: {files} unused artifacts removed ({} KiB)", bytes >> 10),
            Err(e) => log::warn!("compile cache not pruned: {e}"),
        }
    }

    /// Built-in plugins followed by installed ones: everything that can run.
    pub fn all(&self, runtime: &Runtime) -> Result<Vec<Installed>, RegistryError> {
        let mut all = self.builtins(runtime)?;
        all.extend(self.list()?);
        Ok(all)
    }

    /// All installed plugins, by name.
    pub fn list(&self) -> Result<Vec<Installed>, RegistryError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(e) => return Err(io(&self.dir)(e)),
        };
        let mut out = Vec::new();
        for entry in entries {
            let entry = entry.map_err(io(&self.dir))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') {
                out.push(self.get(&name)?);
            }
        }
        out.sort_by(|a, b| a.manifest.name.cmp(&b.manifest.name));
        Ok(out)
    }

    /// One installed plugin's record.
    pub fn get(&self, name: &str) -> Result<Installed, RegistryError> {
        if name.contains('/') || name.starts_with('.') {
            return Err(RegistryError::NotInstalled(name.into()));
        }
        let path = self.dir.join(name).join("plugin.json");
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(RegistryError::NotInstalled(name.into())),
            Err(e) => return Err(io(&path)(e)),
        };
        serde_json::from_slice(&text).map_err(|e| RegistryError::Record { path, message: e.to_string() })
    }

    /// Removes an installed plugin (its cache entry is left to the cache).
    pub fn remove(&self, name: &str) -> Result<Installed, RegistryError> {
        let installed = self.get(name)?;
        let dir = self.dir.join(name);
        std::fs::remove_dir_all(&dir).map_err(io(&dir))?;
        Ok(installed)
    }

    /// Loads an installed plugin with its grant, refusing a file that no
    /// longer matches the sha256 recorded at install.
    pub fn load(&self, runtime: &Runtime, name: &str) -> Result<Plugin, RegistryError> {
        if let Some(b) = super::builtin::find(name) {
            let record =
                self.builtins(runtime)?.into_iter().find(|p| p.manifest.name == name).expect("built-in is listed");
            return Ok(runtime.load(name, &runtime.compile_hashed(b.wasm, b.sha256)?, record.granted)?);
        }
        let installed = self.get(name)?;
        let compiled = self.compile_installed(runtime, &installed)?;
        Ok(runtime.load(name, &compiled, installed.granted)?)
    }

    /// Compiles (or takes from the cache) an installed plugin's component,
    /// refusing a file whose sha256 is not the one recorded at install. The
    /// file is hashed once, here, and the artifact filed under that hash.
    fn compile_installed(&self, runtime: &Runtime, p: &Installed) -> Result<super::runtime::Compiled, RegistryError> {
        let path = self.dir.join(&p.manifest.name).join("plugin.wasm");
        let wasm = std::fs::read(&path).map_err(io(&path))?;
        let found = sha256_hex(&wasm);
        if found != p.sha256 {
            return Err(RegistryError::Tampered { name: p.manifest.name.clone(), expected: p.sha256.clone(), found });
        }
        Ok(runtime.compile_hashed(&wasm, &found)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::manifest::Request;

    fn asking_networkd(name: &str, scope: &[&str]) -> Manifest {
        Manifest {
            name: name.into(),
            version: "1.0.0".into(),
            wit_version: "0.2.0".into(),
            section: name.into(),
            after: vec![],
            requests: vec![Request {
                capability: crate::plugin::Capability::NETWORKD,
                scope: scope.iter().map(|s| s.to_string()).collect(),
                reason: String::new(),
            }],
            imports: vec![],
        }
    }

    #[test]
    fn an_installed_plugin_cannot_claim_others_file_names() {
        assert!(check_file_prefixes(&asking_networkd("acme", &["write", "prefix:20-acme-"])).is_ok());
        assert!(check_file_prefixes(&asking_networkd("acme", &["write"])).is_ok());
        let err = check_file_prefixes(&asking_networkd("acme", &["write", "prefix:10-portagent-"])).unwrap_err();
        assert!(err.to_string().contains("capabilities[0]: networkd: prefix:10-portagent-"), "{err}");
        // A substring is not enough: the name must be the prefix's first word.
        for theirs in ["prefix:10-portagent-acme-", "prefix:20-acme2-", "prefix:20-acme", "prefix:ac"] {
            assert!(check_file_prefixes(&asking_networkd("acme", &["write", theirs])).is_err(), "{theirs}");
        }
        assert!(check_file_prefixes(&asking_networkd("acme", &["write", "prefix:acme."])).is_ok());
        assert!(check_file_prefixes(&asking_networkd("acme", &["write", "links:acme*"])).is_ok());
        let err = check_file_prefixes(&asking_networkd("acme", &["write", "drop-ins:10-portagent-"])).unwrap_err();
        assert!(err.to_string().contains("only built-in plugins add drop-ins"), "{err}");
    }

    #[test]
    fn names_that_would_own_each_others_files_overlap() {
        assert!(names_overlap("acme", "acme-x") && names_overlap("acme-x", "acme") && names_overlap("a", "a"));
        assert!(!names_overlap("acme", "acme2") && !names_overlap("p", "portagent") && !names_overlap("eth", "eth0"));
    }
}
