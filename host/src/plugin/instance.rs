//! A loaded plugin: typed calls to its exports, each inside the sandbox's
//! limits. A trap, timeout or memory blow-up discards the instance; the next
//! call gets a fresh one and the host lives on.

use super::bindings::{Action, Mismatch, PluginError, PluginInfo, StatePlugin, StatePluginPre};
use super::caps::{Backends, DeadlineExceeded, Grants};
use super::runtime::Ticker;
use super::sandbox::{HostState, Limits, Tripped};
use std::sync::Arc;
use std::time::Duration;
use wasmtime::{Store, UpdateDeadline};

/// Why a plugin call did not return a result.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin returned an error the user must see.
    #[error("plugin '{plugin}' {op}: {}", super::bindings::error_message(error))]
    Plugin { plugin: String, op: &'static str, error: PluginError },
    #[error("plugin '{plugin}' {op}: stopped after exceeding its CPU limit of {limit:?}")]
    CpuLimit { plugin: String, op: &'static str, limit: Duration },
    #[error("plugin '{plugin}' {op}: stopped after exceeding its wall-clock limit of {limit:?}")]
    Timeout { plugin: String, op: &'static str, limit: Duration },
    #[error("plugin '{plugin}' {op}: stopped after exceeding its memory limit of {limit_mb} MiB")]
    MemoryLimit { plugin: String, op: &'static str, limit_mb: usize },
    /// The guest trapped (panic, unreachable, out-of-bounds, ...).
    #[error("plugin '{plugin}' {op}: crashed: {message}")]
    Trap { plugin: String, op: &'static str, message: String },
    #[error("plugin '{plugin}': cannot instantiate: {message}")]
    Instantiate { plugin: String, message: String },
}

struct Live {
    store: Store<HostState>,
    bindings: StatePlugin,
}

/// A plugin ready to be called, with its grant and limits.
pub struct Plugin {
    name: String,
    pre: StatePluginPre<HostState>,
    grants: Grants,
    backends: Backends,
    limits: Limits,
    ticker: Arc<Ticker>,
    live: Option<Live>,
    instances: u64,
}

impl Plugin {
    pub(crate) fn new(
        name: &str,
        pre: StatePluginPre<HostState>,
        grants: Grants,
        backends: Backends,
        limits: Limits,
        ticker: Arc<Ticker>,
    ) -> Plugin {
        Plugin { name: name.into(), pre, grants, backends, limits, ticker, live: None, instances: 0 }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many instances have been created so far (each fault costs one).
    pub fn instances_created(&self) -> u64 {
        self.instances
    }

    fn instantiate(&mut self) -> Result<Live, CallError> {
        let fail = |message: String| CallError::Instantiate { plugin: self.name.clone(), message };
        let state = HostState::new(&self.name, self.grants.clone(), self.backends.clone(), self.limits)
            .map_err(|e| fail(e.to_string()))?;
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|s| s);
        store.epoch_deadline_callback(|mut ctx| match ctx.data_mut().on_tick() {
            Ok(()) => Ok(UpdateDeadline::Continue(1)),
            Err(t) => Err(wasmtime::Error::msg(format!("plugin stopped: {t:?} limit"))),
        });
        store.data_mut().begin_call();
        store.set_epoch_deadline(1);
        let _active = self.ticker.activate();
        let bindings = self.pre.instantiate(&mut store).map_err(|e| fail(format!("{e:#}")))?;
        self.instances += 1;
        Ok(Live { store, bindings })
    }

    /// Runs one export call inside the limits. The instance survives plugin
    /// errors and is discarded on any fault.
    fn call<R>(
        &mut self,
        op: &'static str,
        f: impl FnOnce(&mut Store<HostState>, &StatePlugin) -> wasmtime::Result<Result<R, PluginError>>,
    ) -> Result<R, CallError> {
        let mut live = match self.live.take() {
            Some(live) => live,
            None => self.instantiate()?,
        };
        live.store.data_mut().begin_call();
        live.store.set_epoch_deadline(1);
        let result = {
            let _active = self.ticker.activate();
            f(&mut live.store, &live.bindings)
        };
        match result {
            Ok(Ok(value)) => {
                self.live = Some(live);
                Ok(value)
            }
            Ok(Err(error)) => {
                self.live = Some(live);
                Err(CallError::Plugin { plugin: self.name.clone(), op, error })
            }
            Err(trap) => Err(self.classify(op, live.store.data().tripped, trap)),
        }
    }

    fn classify(&self, op: &'static str, tripped: Option<Tripped>, trap: wasmtime::Error) -> CallError {
        let plugin = self.name.clone();
        let limits = self.limits;
        if trap.downcast_ref::<DeadlineExceeded>().is_some() {
            return CallError::Timeout { plugin, op, limit: limits.wall };
        }
        match tripped {
            Some(Tripped::Wall) => CallError::Timeout { plugin, op, limit: limits.wall },
            Some(Tripped::Cpu) => CallError::CpuLimit { plugin, op, limit: limits.cpu },
            Some(Tripped::Memory) => CallError::MemoryLimit { plugin, op, limit_mb: limits.memory_bytes >> 20 },
            None => CallError::Trap { plugin, op, message: format!("{trap:#}") },
        }
    }

    pub fn describe(&mut self) -> Result<PluginInfo, CallError> {
        self.call("describe", |s, b| b.portagent_plugin_plugin().call_describe(s).map(Ok))
    }

    pub fn validate(&mut self, desired: &str) -> Result<(), CallError> {
        self.call("validate", |s, b| b.portagent_plugin_plugin().call_validate(s, desired))
    }

    pub fn query(&mut self) -> Result<String, CallError> {
        self.call("query", |s, b| b.portagent_plugin_plugin().call_query(s))
    }

    pub fn diff(&mut self, current: &str, desired: &str) -> Result<Vec<Action>, CallError> {
        self.call("diff", |s, b| b.portagent_plugin_plugin().call_diff(s, current, desired))
    }

    pub fn apply(&mut self, actions: &[Action]) -> Result<Vec<String>, CallError> {
        self.call("apply", |s, b| b.portagent_plugin_plugin().call_apply(s, actions))
    }

    pub fn verify(&mut self, desired: &str) -> Result<Vec<Mismatch>, CallError> {
        self.call("verify", |s, b| b.portagent_plugin_plugin().call_verify(s, desired))
    }

    pub fn checkpoint(&mut self) -> Result<Vec<u8>, CallError> {
        self.call("checkpoint", |s, b| b.portagent_plugin_plugin().call_checkpoint(s))
    }

    pub fn restore(&mut self, checkpoint: &[u8]) -> Result<(), CallError> {
        self.call("restore", |s, b| b.portagent_plugin_plugin().call_restore(s, checkpoint))
    }
}
