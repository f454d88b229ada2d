//! The limits of a plugin call: memory, guest CPU time, and the wall clock
//! (`CallClock`) the host races every call against.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Where guests see systemd-networkd's config dir when granted `networkd`.
pub const GUEST_NETWORKD_DIR: &str = "/etc/systemd/network";

/// Sandbox limits of one plugin call.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub memory_bytes: usize,
    /// CPU time the calling thread may spend in the call (guest code plus
    /// host work on its behalf; time blocked in a capability does not count).
    pub cpu: Duration,
    /// Time a call may go without starting a capability call (a guest
    /// blocked or asleep this long is stopped).
    pub wall: Duration,
    /// Time for the whole call, however busy it keeps its capabilities.
    pub max: Duration,
    /// What its files in the networkd dir may take.
    pub networkd: super::networkd_files::Quota,
}

impl Limits {
    pub fn from_config(limits: &crate::config::PluginLimits) -> Limits {
        Limits {
            memory_bytes: usize::try_from(limits.memory_limit_mb.saturating_mul(1 << 20)).unwrap_or(usize::MAX),
            cpu: Duration::from_millis(limits.cpu_limit_ms),
            wall: Duration::from_millis(limits.call_timeout_ms),
            max: Duration::from_millis(limits.call_max_ms),
            networkd: super::networkd_files::Quota {
                files: limits.networkd_max_files,
                bytes: limits.networkd_max_mb.saturating_mul(1 << 20),
            },
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

/// The wall clock of one call, shared by the store (every capability call
/// the guest starts moves the deadline to `wall` from then, up to `max`
/// from the start of the call) and the host's watcher, which stops the
/// call when the deadline passes whatever the guest is doing.
#[derive(Debug)]
pub struct CallClock {
    base: Instant,
    /// Nanoseconds after `base`: the current deadline, and the hard one.
    deadline: AtomicU64,
    hard: AtomicU64,
    wall: Duration,
    max: Duration,
    /// Calls begun so far (which call a capability call belongs to).
    calls: AtomicU64,
}

impl CallClock {
    pub fn new(limits: &Limits) -> Arc<CallClock> {
        let clock = CallClock {
            base: Instant::now(),
            deadline: AtomicU64::new(0),
            hard: AtomicU64::new(0),
            wall: limits.wall,
            max: limits.max,
            calls: AtomicU64::new(0),
        };
        clock.begin();
        Arc::new(clock)
    }

    fn nanos(&self, t: Instant) -> u64 {
        u64::try_from(t.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }

    /// A new call starts: `wall` from now, and never past `max` from now.
    pub fn begin(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let now = Instant::now();
        self.hard.store(self.nanos(now + self.max), Ordering::SeqCst);
        self.deadline.store(self.nanos(now + self.wall).min(self.hard.load(Ordering::SeqCst)), Ordering::SeqCst);
    }

    /// The guest got on with its work (a capability call): `wall` from now.
    pub fn progressed(&self) {
        let to = self.nanos(Instant::now() + self.wall).min(self.hard.load(Ordering::SeqCst));
        self.deadline.fetch_max(to, Ordering::SeqCst);
    }

    /// How many calls have begun on this clock.
    pub fn calls(&self) -> u64 {
        self.calls.load(Ordering::SeqCst)
    }

    pub fn deadline(&self) -> Instant {
        self.base + Duration::from_nanos(self.deadline.load(Ordering::SeqCst))
    }

    /// Time left before the call is stopped.
    pub fn remaining(&self) -> Duration {
        self.deadline().saturating_duration_since(Instant::now())
    }

    /// Resolves once the deadline has passed (the deadline may move while
    /// it waits).
    pub async fn expired(&self) {
        loop {
            let left = self.remaining();
            if left.is_zero() {
                return;
            }
            tokio::time::sleep(left).await;
        }
    }
}

/// CPU time consumed by the calling thread so far.
pub(crate) fn thread_cpu_time() -> Duration {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_call_clock_moves_with_progress_up_to_its_hard_limit() {
        let limits = Limits {
            memory_bytes: 0,
            cpu: Duration::ZERO,
            wall: Duration::from_millis(100),
            max: Duration::from_millis(250),
            networkd: crate::plugin::networkd_files::Quota { files: 0, bytes: 0 },
        };
        let clock = CallClock::new(&limits);
        let first = clock.deadline();
        std::thread::sleep(Duration::from_millis(60));
        clock.progressed();
        assert!(clock.deadline() > first + Duration::from_millis(50), "progress moves it");
        std::thread::sleep(Duration::from_millis(200));
        clock.progressed();
        assert!(
            clock.remaining() <= Duration::from_millis(0) + Duration::from_millis(10),
            "never past max: {:?}",
            clock.remaining()
        );
        let calls = clock.calls();
        clock.begin();
        assert!(clock.remaining() > Duration::from_millis(90), "a new call starts afresh");
        // Each call is counted: per-call budgets (the log's) start again.
        assert_eq!(clock.calls(), calls + 1);
    }
}
