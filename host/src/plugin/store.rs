//! A plugin instance's store data (`HostState`): the WASI context built
//! from the grant (nothing inherited), the capabilities' narrow view
//! ([`CapContext`]), and the accounting that enforces the sandbox's limits.

use super::caps::{Backends, CapContext, Capability, Caps, Grants};
use super::networkd_files::Usage;
use super::sandbox::{CallClock, GUEST_NETWORKD_DIR, Limits, Tripped, thread_cpu_time};
use std::sync::Arc;
use std::time::{Duration, Instant};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// The `T` of every plugin `Store<T>`.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) caps: CapContext,
    pub(crate) limits: Limits,
    pub(crate) clock: Arc<CallClock>,
    /// The calling thread's CPU time when the current call began.
    pub(crate) cpu_start: Duration,
    pub(crate) tripped: Option<Tripped>,
    /// What the guest writes to stdout and stderr.
    pub(crate) output: super::output::GuestOutput,
    /// Its files and bytes in the networkd dir, when it may write there.
    pub(crate) networkd_usage: Option<Arc<Usage>>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl HostState {
    /// A sandbox for `plugin` with exactly `grants`.
    pub fn new(
        plugin: &str,
        grants: Grants,
        backends: Backends,
        limits: Limits,
        clock: Arc<CallClock>,
    ) -> std::io::Result<HostState> {
        let mut wasi = WasiCtxBuilder::new();
        // Nothing is inherited: no env, args, stdin or network (stdout and
        // stderr go to a bounded buffer of the host's, below). Sockets are
        // linked (toolchains like componentize-py always import them) but
        // the default address check denies every address.
        wasi.allow_blocking_current_thread(true);
        // Its stdout and stderr are kept (bounded) for the log and errors.
        let output = super::output::GuestOutput::default();
        wasi.stdout(output.clone()).stderr(output.clone());
        let mut networkd_usage = None;
        if let Ok(scope) = grants.scope(plugin, Capability::NETWORKD) {
            let writes = scope.iter().any(|s| s == "write");
            let perms = if writes { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
            wasi.preopened_dir(&backends.networkd_dir, GUEST_NETWORKD_DIR, perms)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", backends.networkd_dir.display())))?;
            if writes {
                networkd_usage = Some(Arc::new(Usage::new(&backends.networkd_dir, plugin, scope, limits.networkd)));
            }
        }
        Ok(HostState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            caps: CapContext { plugin: plugin.into(), grants, backends, clock: clock.clone() },
            limits,
            clock,
            cpu_start: Duration::ZERO,
            tripped: None,
            output,
            networkd_usage,
        })
    }

    /// Starts the clocks of a new call.
    pub(crate) fn begin_call(&mut self) {
        self.clock.begin();
        self.cpu_start = thread_cpu_time();
        self.tripped = None;
        if let Some(usage) = &self.networkd_usage {
            usage.reset();
        }
    }

    /// Called on every epoch tick that finds the guest running: enforces
    /// both time limits.
    pub(crate) fn on_tick(&mut self) -> Result<(), Tripped> {
        let tripped = if Instant::now() >= self.clock.deadline() {
            Some(Tripped::Wall)
        } else if thread_cpu_time().saturating_sub(self.cpu_start) > self.limits.cpu {
            Some(Tripped::Cpu)
        } else {
            None
        };
        match tripped {
            Some(t) => {
                self.tripped = Some(t);
                Err(t)
            }
            None => Ok(()),
        }
    }
}

impl Caps for HostState {
    fn caps(&mut self) -> &mut CapContext {
        &mut self.caps
    }
}

impl wasmtime::ResourceLimiter for HostState {
    fn memory_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        if desired > self.limits.memory_bytes {
            self.tripped = Some(Tripped::Memory);
            return Err(wasmtime::Error::msg(format!(
                "plugin memory limit of {} MiB reached",
                self.limits.memory_bytes >> 20
            )));
        }
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _max: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}
