//! One plugin instance's sandbox: the store data every host call sees, the
//! WASI context built from the grant (nothing inherited), and the memory
//! and time limits.

use super::caps::{Backends, CapContext, Capability, Grants};
use std::time::{Duration, Instant};
use wasmtime::component::ResourceTable;
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

/// Where guests see systemd-networkd's config dir when granted `networkd`.
pub const GUEST_NETWORKD_DIR: &str = "/etc/systemd/network";

/// Sandbox limits of one plugin call.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub memory_bytes: usize,
    /// CPU time the calling thread may spend in the call (guest code plus
    /// host work on its behalf; time blocked in a capability does not count).
    pub cpu: Duration,
    /// Time for the whole call, capability calls included.
    pub wall: Duration,
}

impl Limits {
    pub fn from_config(limits: &crate::config::PluginLimits) -> Limits {
        Limits {
            memory_bytes: usize::try_from(limits.memory_limit_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
            cpu: Duration::from_millis(limits.cpu_limit_ms),
            wall: Duration::from_millis(limits.call_timeout_ms),
        }
    }
}

/// Which limit stopped a call, as recorded by the host when it tripped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tripped {
    Memory,
    Cpu,
    Wall,
}

/// The `T` of every plugin `Store<T>`.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) caps: CapContext,
    pub(crate) limits: Limits,
    /// The calling thread's CPU time when the current call began.
    pub(crate) cpu_start: Duration,
    pub(crate) tripped: Option<Tripped>,
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl HostState {
    /// A sandbox for `plugin` with exactly `grants`.
    pub fn new(plugin: &str, grants: Grants, backends: Backends, limits: Limits) -> std::io::Result<HostState> {
        let mut wasi = WasiCtxBuilder::new();
        // Nothing is inherited: no env, args, stdio or network. Sockets are
        // linked (toolchains like componentize-py always import them) but
        // the default address check denies every address.
        wasi.allow_blocking_current_thread(true);
        if let Ok(scope) = grants.scope(plugin, Capability::Networkd) {
            let perms = if scope.iter().any(|s| s == "write") { FsPerms::ReadWrite } else { FsPerms::ReadOnly };
            wasi.preopened_dir(&backends.networkd_dir, GUEST_NETWORKD_DIR, perms)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", backends.networkd_dir.display())))?;
        }
        Ok(HostState {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            caps: CapContext { plugin: plugin.into(), grants, backends, deadline: Instant::now() },
            limits,
            cpu_start: Duration::ZERO,
            tripped: None,
        })
    }

    /// Starts the clock of a new call.
    pub(crate) fn begin_call(&mut self) {
        self.caps.deadline = Instant::now() + self.limits.wall;
        self.cpu_start = thread_cpu_time();
        self.tripped = None;
    }

    /// Called on every epoch tick that finds the guest running: enforces
    /// both time limits.
    pub(crate) fn on_tick(&mut self) -> Result<(), Tripped> {
        let tripped = if Instant::now() >= self.caps.deadline {
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

/// CPU time consumed by the calling thread so far.
fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
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
