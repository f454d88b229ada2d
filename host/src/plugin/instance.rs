//! A loaded plugin: typed calls to its exports, each inside the sandbox's
//! limits. A call runs asynchronously on the plugin's own small runtime,
//! raced against its wall clock (see [`CallClock`]): when the deadline
//! passes, the call is dropped wherever the guest is, asleep or blocked in
//! WASI included. A trap, timeout or memory blow-up discards the instance;
//! the next call gets a fresh one and the host lives on.

use super::api::{Action, Mismatch, PluginError, PluginInfo};
use super::bindings::{Op, Out, v0_1, v0_2};
use super::caps::{Backends, DeadlineExceeded, Grants};
use super::sandbox::{CallClock, Limits, Tripped};
use super::store::HostState;
use super::ticker::Ticker;
use std::sync::Arc;
use std::time::Duration;
use wasmtime::{Store, UpdateDeadline};

/// The most actions one `diff` may return (`net`'s apply of 4,000 ports
/// is about 8,000; a million once took the daemon to 900 MB and off the
/// bus).
pub const MAX_ACTIONS: usize = 100_000;
/// The most bytes of one call's output (a diff's actions, a query's
/// state): a reply carrying it stays under the system bus's 32 MiB.
pub const MAX_OUTPUT_BYTES: usize = 16 << 20;
/// The most mismatches, or changed resources, listed from one call; the
/// rest are counted.
pub const MAX_LISTED: usize = 1_000;

/// Why a plugin call did not return a result.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin returned an error the user must see.
    #[error("plugin '{plugin}' {op}: {error}")]
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
    bindings: Bindings,
}

/// A component ready to instantiate, by the WIT version it was built for.
#[derive(Clone)]
pub(crate) enum Pre {
    V0_1(v0_1::StatePluginPre<HostState>),
    V0_2(v0_2::StatePluginPre<HostState>),
}

/// An instance's exports, by WIT version.
enum Bindings {
    V0_1(v0_1::StatePlugin),
    V0_2(v0_2::StatePlugin),
}

impl Pre {
    fn engine(&self) -> &wasmtime::Engine {
        match self {
            Pre::V0_1(p) => p.engine(),
            Pre::V0_2(p) => p.engine(),
        }
    }

    async fn instantiate_async(&self, store: &mut Store<HostState>) -> wasmtime::Result<Bindings> {
        Ok(match self {
            Pre::V0_1(p) => Bindings::V0_1(p.instantiate_async(store).await?),
            Pre::V0_2(p) => Bindings::V0_2(p.instantiate_async(store).await?),
        })
    }
}

/// Calls the export of `op` in the instance's own WIT version.
async fn dispatch(
    store: &mut Store<HostState>,
    b: &Bindings,
    op: &Op<'_>,
) -> wasmtime::Result<Result<Out, PluginError>> {
    match b {
        Bindings::V0_1(b) => v0_1::dispatch(store, b, op).await,
        Bindings::V0_2(b) => v0_2::dispatch(store, b, op).await,
    }
}

/// A plugin ready to be called, with its grant and limits.
pub struct Plugin {
    name: String,
    pre: Pre,
    grants: Grants,
    backends: Backends,
    limits: Limits,
    ticker: Arc<Ticker>,
    clock: Arc<CallClock>,
    /// The runtime its calls (and their capabilities' I/O) run on.
    rt: Option<tokio::runtime::Runtime>,
    live: Option<Live>,
    instances: u64,
}

impl Plugin {
    pub(crate) fn new(
        name: &str,
        pre: Pre,
        grants: Grants,
        backends: Backends,
        limits: Limits,
        ticker: Arc<Ticker>,
    ) -> Plugin {
        let clock = CallClock::new(&limits);
        Plugin { name: name.into(), pre, grants, backends, limits, ticker, clock, rt: None, live: None, instances: 0 }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// How many instances have been created so far (each fault costs one).
    pub fn instances_created(&self) -> u64 {
        self.instances
    }

    fn runtime(&mut self) -> Result<&tokio::runtime::Runtime, CallError> {
        if self.rt.is_none() {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| CallError::Instantiate { plugin: self.name.clone(), message: format!("runtime: {e}") })?;
            self.rt = Some(rt);
        }
        Ok(self.rt.as_ref().expect("just built"))
    }

    fn new_store(&self) -> Result<Store<HostState>, CallError> {
        let state =
            HostState::new(&self.name, self.grants.clone(), self.backends.clone(), self.limits, self.clock.clone())
                .map_err(|e| CallError::Instantiate { plugin: self.name.clone(), message: e.to_string() })?;
        let mut store = Store::new(self.pre.engine(), state);
        store.limiter(|s| s);
        store.epoch_deadline_callback(|mut ctx| match ctx.data_mut().on_tick() {
            Ok(()) => Ok(UpdateDeadline::Continue(1)),
            Err(t) => Err(wasmtime::Error::msg(format!("plugin stopped: {t:?} limit"))),
        });
        Ok(store)
    }

    /// Runs one export call inside the limits. The instance survives plugin
    /// errors and is discarded on any fault.
    fn call(&mut self, op: Op<'_>) -> Result<Out, CallError> {
        // A fresh instance when the last one faulted (or there was none);
        // instantiating counts against the call's limits too.
        let (live, fresh) = match self.live.take() {
            Some(live) => (Ok(live), false),
            None => (Err(self.new_store()?), true),
        };
        let (output, usage) = match &live {
            Ok(l) => (l.store.data().output.clone(), l.store.data().networkd_usage.clone()),
            Err(store) => (store.data().output.clone(), store.data().networkd_usage.clone()),
        };
        let (pre, clock, ticker) = (self.pre.clone(), self.clock.clone(), self.ticker.clone());
        let cpu_before = super::sandbox::thread_cpu_time();
        let outcome = self.runtime()?.block_on(async {
            let _active = ticker.activate();
            let mut live = match live {
                Ok(live) => live,
                Err(mut store) => {
                    store.data_mut().begin_call();
                    store.set_epoch_deadline(1);
                    let bindings = tokio::select! {
                        b = pre.instantiate_async(&mut store) => b.map_err(|e| Stopped::Instantiate(format!("{e:#}")))?,
                        () = clock.expired() => return Err(Stopped::Timeout),
                    };
                    Live { store, bindings }
                }
            };
            live.store.data_mut().begin_call();
            live.store.set_epoch_deadline(1);
            let result = tokio::select! {
                r = dispatch(&mut live.store, &live.bindings, &op) => r,
                () = clock.expired() => return Err(Stopped::Timeout),
            };
            Ok((live, result))
        });
        if fresh && !matches!(outcome, Err(Stopped::Instantiate(_))) {
            self.instances += 1;
        }
        let op_name = op.name();
        log::debug!(plugin = self.name.as_str(); "plugin '{}' {op_name} used {:?} of CPU",
            self.name, super::sandbox::thread_cpu_time().saturating_sub(cpu_before));
        super::caps::tell_dropped(&self.name);
        // What the guest wrote during the call goes to the log, tagged.
        let (written, dropped) = output.take();
        if !written.is_empty() {
            let more = if dropped > 0 { format!(" ({dropped} earlier bytes dropped)") } else { String::new() };
            let lines: Vec<String> = written.trim_end().lines().map(super::manifest::escaped).collect();
            log::info!(plugin = self.name.as_str(); "plugin '{}' {op_name} wrote{more}:\n{}", self.name, lines.join("\n"));
        }
        if let Some(why) = self.remove_strays(op_name, usage.as_deref()) {
            // What it wrote is gone; what it returned is not to be trusted.
            if let Ok((live, _)) = outcome {
                self.live = Some(live);
            }
            return Err(CallError::Plugin { plugin: self.name.clone(), op: op_name, error: PluginError::Denied(why) });
        }
        match outcome {
            Ok((live, Ok(Ok(value)))) => {
                self.live = Some(live);
                Ok(value)
            }
            Ok((live, Ok(Err(error)))) => {
                self.live = Some(live);
                Err(CallError::Plugin { plugin: self.name.clone(), op: op_name, error })
            }
            Ok((live, Err(trap))) => Err(self.classify(op_name, live.store.data().tripped, trap, &written)),
            Err(Stopped::Timeout) => {
                Err(CallError::Timeout { plugin: self.name.clone(), op: op_name, limit: self.limits.wall })
            }
            Err(Stopped::Instantiate(message)) => Err(CallError::Instantiate { plugin: self.name.clone(), message }),
        }
    }

    /// Removes the plugin's networkd files that could configure links
    /// outside its grant and were written in the call just made (networkd
    /// would apply them at anyone's next reload), and says which and why.
    /// One it did not write (an admin's, under its name) is left: its
    /// reloads are refused while it is there.
    fn remove_strays(&self, op: &str, usage: Option<&super::networkd_files::Usage>) -> Option<String> {
        let written = usage?.take_written();
        let scope = self.grants.0.get(&super::Capability::NETWORKD)?;
        let dir = &self.backends.networkd_dir;
        let strays = super::networkd_files::written_outside_scope(dir, &self.name, scope, &written);
        let mut said = Vec::new();
        for (path, why) in strays {
            let removed = match std::fs::remove_file(dir.join(&path)) {
                Ok(()) => "the host removed it".to_string(),
                Err(e) => format!("the host could not remove it: {e}"),
            };
            log::warn!("plugin '{}' {op}: networkd dir: {why}; {removed}", self.name);
            said.push(format!("{why}; {removed}"));
        }
        (!said.is_empty()).then(|| said.join("; "))
    }

    fn classify(&self, op: &'static str, tripped: Option<Tripped>, trap: wasmtime::Error, written: &str) -> CallError {
        let plugin = self.name.clone();
        let limits = self.limits;
        if trap.downcast_ref::<DeadlineExceeded>().is_some() {
            return CallError::Timeout { plugin, op, limit: limits.wall };
        }
        match tripped {
            Some(Tripped::Wall) => CallError::Timeout { plugin, op, limit: limits.wall },
            Some(Tripped::Cpu) => CallError::CpuLimit { plugin, op, limit: limits.cpu },
            Some(Tripped::Memory) => CallError::MemoryLimit { plugin, op, limit_mb: limits.memory_bytes >> 20 },
            None => {
                // The whole trap (with its wasm backtrace) to the log; the
                // admin gets what it was, and what the guest said last.
                log::warn!("plugin '{plugin}' {op}: {trap:?}");
                let what = trap_name(&trap, written);
                let said = super::output::tail(written);
                let message = if said.is_empty() { what } else { format!("{what}; it wrote: {said}") };
                CallError::Trap { plugin, op, message }
            }
        }
    }

    pub fn describe(&mut self) -> Result<PluginInfo, CallError> {
        match self.call(Op::Describe)? {
            Out::Info(i) => Ok(i),
            _ => unreachable!("describe returns its info"),
        }
    }

    pub fn validate(&mut self, desired: &str) -> Result<(), CallError> {
        self.call(Op::Validate(desired)).map(drop)
    }

    /// The JSON Schema of the plugin's section, as the plugin gave it.
    pub fn schema(&mut self) -> Result<String, CallError> {
        match self.call(Op::Schema)? {
            Out::Text(t) => Ok(t),
            _ => unreachable!("schema returns text"),
        }
    }

    pub fn query(&mut self) -> Result<String, CallError> {
        match self.call(Op::Query)? {
            Out::Text(t) if t.len() > MAX_OUTPUT_BYTES => {
                Err(self.too_much("query", format!("returned a state of {} bytes", t.len())))
            }
            Out::Text(t) => Ok(t),
            _ => unreachable!("query returns text"),
        }
    }

    pub fn diff(&mut self, current: &str, desired: &str) -> Result<Vec<Action>, CallError> {
        match self.call(Op::Diff(current, desired))? {
            Out::Actions(a) => {
                let bytes: usize = a.iter().map(|x| x.resource.len() + x.body.len()).sum();
                if a.len() > MAX_ACTIONS || bytes > MAX_OUTPUT_BYTES {
                    return Err(self.too_much("diff", format!("returned {} actions of {bytes} bytes", a.len())));
                }
                Ok(a)
            }
            _ => unreachable!("diff returns actions"),
        }
    }

    pub fn apply(&mut self, actions: &[Action]) -> Result<Vec<String>, CallError> {
        match self.call(Op::Apply(actions))? {
            // What changed is told, not acted on: kept short, the rest counted.
            Out::Changed(mut c) if c.len() > MAX_LISTED => {
                let more = c.len() - MAX_LISTED;
                c.truncate(MAX_LISTED);
                c.push(format!("... and {more} more"));
                Ok(c)
            }
            Out::Changed(c) => Ok(c),
            _ => unreachable!("apply returns what changed"),
        }
    }

    pub fn verify(&mut self, desired: &str) -> Result<Vec<Mismatch>, CallError> {
        match self.call(Op::Verify(desired))? {
            Out::Mismatches(mut m) if m.len() > MAX_LISTED => {
                let more = m.len() - MAX_LISTED;
                m.truncate(MAX_LISTED);
                m.push(Mismatch {
                    resource: format!("{more} more"),
                    field: "mismatches".into(),
                    expected: "none".into(),
                    actual: format!("{more} more, not listed"),
                });
                Ok(m)
            }
            Out::Mismatches(m) => Ok(m),
            _ => unreachable!("verify returns mismatches"),
        }
    }

    /// A plugin's output over the host's bounds, as its error: refused
    /// before anything is done with it.
    fn too_much(&self, op: &'static str, what: String) -> CallError {
        CallError::Plugin {
            plugin: self.name.clone(),
            op,
            error: PluginError::Failed(format!(
                "{what}; at most {MAX_ACTIONS} actions and {} MiB come from one call",
                MAX_OUTPUT_BYTES >> 20
            )),
        }
    }

    /// The plugin's snapshot data under the host's checkpoint `id`.
    pub fn checkpoint(&mut self, id: &str) -> Result<Vec<u8>, CallError> {
        match self.call(Op::Checkpoint(id))? {
            Out::Blob(b) => Ok(b),
            _ => unreachable!("checkpoint returns bytes"),
        }
    }

    /// Puts back the snapshot `data` taken under checkpoint `id`.
    pub fn restore(&mut self, id: &str, data: &[u8]) -> Result<(), CallError> {
        self.call(Op::Restore(id, data)).map(drop)
    }
}

/// Why a call ended without the guest returning.
enum Stopped {
    /// The wall clock ran out (the call was dropped where it was).
    Timeout,
    Instantiate(String),
}

/// What a trap was, as the admin should read it.
fn trap_name(trap: &wasmtime::Error, written: &str) -> String {
    // wasmtime's error for it is private; its text is what there is.
    if format!("{trap:#}").contains("fuel allocated for hostcalls has been exhausted") {
        return "host-call data limit reached: more than 128 MiB passed between the plugin and the host in one call"
            .into();
    }
    match trap.downcast_ref::<wasmtime::Trap>() {
        Some(wasmtime::Trap::StackOverflow) => "stack overflow".into(),
        Some(wasmtime::Trap::UnreachableCodeReached) if written.contains("Traceback (most recent call last)") => {
            "an uncaught Python exception".into()
        }
        Some(wasmtime::Trap::UnreachableCodeReached) => "aborted (a panic, or `unreachable`)".into(),
        // A Rust or C guest's own stack lives in linear memory: its
        // overflow runs into the memory below and reads as this.
        Some(wasmtime::Trap::MemoryOutOfBounds) => {
            "out-of-bounds memory access (in a Rust or C plugin, often a stack overflow)".into()
        }
        Some(t) => t.to_string(),
        None => trap.to_string(),
    }
}
