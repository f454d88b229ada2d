//! The component runtime: one wasmtime engine, the linker with WASI and the
//! capability imports, and the compiled-artifact cache.

use super::caps::{Backends, Grants};
use super::instance::Plugin;
use super::sandbox::Limits;
use super::store::HostState;
use super::ticker::Ticker;
use crate::util::fs::{create_private_dir, write_atomically};
use crate::util::hash::sha256_hex;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};

/// Why a component could not be compiled or loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("not a WebAssembly component: {0}")]
    NotAComponent(String),
    #[error("precompiled artifacts are never loaded; install the .wasm component it was built from")]
    Precompiled,
    #[error("invalid component: {0}")]
    Invalid(String),
    #[error("cannot prepare sandbox: {0}")]
    Sandbox(String),
}

/// A compiled component and the sha256 of the `.wasm` it came from.
#[derive(Clone)]
pub struct Compiled {
    pub component: Component,
    pub sha256: String,
}

/// The wasmtime engine and everything shared by all plugins.
pub struct Runtime {
    engine: Engine,
    linker: Linker<HostState>,
    cache_dir: PathBuf,
    engine_hash: String,
    backends: Backends,
    limits: Limits,
    memory: Mutex<HashMap<String, Compiled>>,
    ticker: Arc<Ticker>,
}

impl Runtime {
    /// An engine configured for the sandbox, caching compiled components
    /// under `cache_dir` (created 0700 if missing).
    pub fn new(cache_dir: &Path, backends: Backends, limits: Limits) -> Result<Runtime, LoadError> {
        let mut config = Config::new();
        config.epoch_interruption(true);
        let engine = Engine::new(&config).map_err(|e| LoadError::Sandbox(e.to_string()))?;
        let mut linker = Linker::new(&engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(|e| LoadError::Sandbox(e.to_string()))?;
        super::fs_guard::link(&mut linker).map_err(|e| LoadError::Sandbox(e.to_string()))?;
        super::caps::link(&mut linker).map_err(|e| LoadError::Sandbox(e.to_string()))?;
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let engine_hash = format!("{:016x}", hasher.finish());
        let ticker = Ticker::start(engine.clone());
        Ok(Runtime {
            engine,
            linker,
            cache_dir: cache_dir.to_path_buf(),
            engine_hash,
            backends,
            limits,
            memory: Mutex::new(HashMap::new()),
            ticker,
        })
    }

    /// A runtime with the paths and limits of `config`.
    pub fn from_config(config: &crate::config::Config) -> Result<Runtime, LoadError> {
        Runtime::new(&config.cache_dir(), Backends::from_config(config), Limits::from_config(&config.plugins))
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Compiles `wasm`, or takes it from the memory or disk cache (keyed by
    /// the file's sha256 and the engine's compatibility hash).
    pub fn compile(&self, wasm: &[u8]) -> Result<Compiled, LoadError> {
        self.compile_hashed(wasm, &sha256_hex(wasm))
    }

    /// [`Runtime::compile`] for bytes whose sha256 is already known (the
    /// built-in plugins': computed at build time, not at every start).
    pub fn compile_hashed(&self, wasm: &[u8], sha256: &str) -> Result<Compiled, LoadError> {
        check_is_component(wasm)?;
        let sha256 = sha256.to_string();
        if let Some(hit) = self.memory.lock().unwrap().get(&sha256) {
            return Ok(hit.clone());
        }
        let path = self.cache_dir.join(format!("{sha256}-{}.cwasm", self.engine_hash));
        // SAFETY: only files this runtime wrote, into its own 0700 cache dir,
        // under a name that commits to the source's hash and the engine, are
        // deserialized. A user-supplied precompiled file is refused above.
        let cached = path.exists().then(|| unsafe { Component::deserialize_file(&self.engine, &path) });
        let component = match cached {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                log::warn!("discarding unreadable cache entry {}: {e}", path.display());
                self.compile_to_cache(wasm, &path)?
            }
            None => self.compile_to_cache(wasm, &path)?,
        };
        let compiled = Compiled { component, sha256: sha256.clone() };
        self.memory.lock().unwrap().insert(sha256, compiled.clone());
        Ok(compiled)
    }

    /// Compiles `wasm` and keeps the artifact in the disk cache. The cache
    /// is an optimisation: one that cannot be written (a full disk) is a
    /// warning, and the compiled component is used from memory.
    fn compile_to_cache(&self, wasm: &[u8], path: &Path) -> Result<Component, LoadError> {
        let bytes = self.engine.precompile_component(wasm).map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        if let Err(e) = create_private_dir(&self.cache_dir).and_then(|_| write_atomically(path, &bytes, 0o600)) {
            log::warn!("compile cache {}: {e}; using the compiled plugin from memory", path.display());
        }
        // SAFETY: `bytes` was just produced by this engine.
        unsafe { Component::deserialize(&self.engine, &bytes) }.map_err(|e| LoadError::Invalid(format!("{e:#}")))
    }

    /// Removes compiled artifacts of components not in `keep` (sha256s),
    /// and any an older engine made; returns how many files and bytes.
    /// A file that cannot be removed is a warning: the cache is only an
    /// optimisation.
    pub fn prune_cache(&self, keep: &[&str]) -> (usize, u64) {
        let Ok(entries) = std::fs::read_dir(&self.cache_dir) else { return (0, 0) };
        let mut freed = (0, 0);
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some(stem) = name.strip_suffix(".cwasm") else { continue };
            let current =
                stem.split_once('-').is_some_and(|(sha, engine)| engine == self.engine_hash && keep.contains(&sha));
            if current {
                continue;
            }
            let size = entry.metadata().map_or(0, |m| m.len());
            match std::fs::remove_file(entry.path()) {
                Ok(()) => freed = (freed.0 + 1, freed.1 + size),
                Err(e) => log::warn!("compile cache {}: {e}", entry.path().display()),
            }
            self.memory.lock().unwrap().remove(stem.split_once('-').map_or(stem, |(sha, _)| sha));
        }
        freed
    }

    /// A plugin handle with exactly `grants`. Instances are created lazily
    /// and replaced after any fault.
    pub fn load(&self, name: &str, compiled: &Compiled, grants: Grants) -> Result<Plugin, LoadError> {
        let pre = self.linker.instantiate_pre(&compiled.component).map_err(|e| LoadError::Invalid(format!("{e:#}")))?;
        let invalid = |e: wasmtime::Error| LoadError::Invalid(format!("{e:#}"));
        let pre = match super::bindings::version_of(&self.engine, &compiled.component) {
            Some(super::bindings::v0_1::WIT_VERSION) => {
                super::instance::Pre::V0_1(super::bindings::v0_1::StatePluginPre::new(pre).map_err(invalid)?)
            }
            _ => super::instance::Pre::V0_2(super::bindings::v0_2::StatePluginPre::new(pre).map_err(invalid)?),
        };
        Ok(Plugin::new(name, pre, grants, self.backends.clone(), self.limits, self.ticker.clone()))
    }
}

/// Refuses anything but a component binary, with a message that says why.
pub fn check_is_component(wasm: &[u8]) -> Result<(), LoadError> {
    if Engine::detect_precompiled(wasm).is_some() {
        return Err(LoadError::Precompiled);
    }
    match wasm {
        [0, b'a', b's', b'm', 0x0d, 0x00, 0x01, 0x00, ..] => Ok(()),
        [0, b'a', b's', b'm', 0x01, 0x00, 0x00, 0x00, ..] => Err(LoadError::NotAComponent(
            "this is a core WebAssembly module; build for wasm32-wasip2 (or run `wasm-tools component new`)".into(),
        )),
        _ => Err(LoadError::NotAComponent("the file does not start with the WebAssembly magic number".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_components_are_refused_with_a_reason() {
        let core = b"\0asm\x01\0\0\0";
        assert!(matches!(check_is_component(core), Err(LoadError::NotAComponent(m)) if m.contains("core")));
        assert!(matches!(check_is_component(b"hello"), Err(LoadError::NotAComponent(m)) if m.contains("magic")));
        assert!(check_is_component(b"\0asm\x0d\0\x01\0").is_ok());
    }
}
