//! The epoch ticker: advances the engine's epoch while plugin calls run,
//! which is what lets the host check a call's CPU and wall-clock limits.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use wasmtime::Engine;

/// How often the epoch advances while any plugin call runs.
pub const TICK: Duration = Duration::from_millis(10);

/// Advances the engine's epoch every [`TICK`] while at least one plugin
/// call is running, and sleeps otherwise.
pub(crate) struct Ticker {
    active: AtomicUsize,
    lock: Mutex<()>,
    wake: Condvar,
}

/// Marks one running call; the ticker idles when none is left.
pub(crate) struct Active<'a>(&'a Ticker);

impl Drop for Active<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Ticker {
    pub(crate) fn start(engine: Engine) -> Arc<Ticker> {
        let ticker = Arc::new(Ticker { active: AtomicUsize::new(0), lock: Mutex::new(()), wake: Condvar::new() });
        let weak = Arc::downgrade(&ticker);
        std::thread::Builder::new()
            .name("portagent-epoch".into())
            .spawn(move || {
                while let Some(t) = weak.upgrade() {
                    let guard = t.lock.lock().unwrap();
                    if t.active.load(Ordering::SeqCst) == 0 {
                        // `activate` notifies under the same lock: no lost wake-up.
                        let _ = t.wake.wait_timeout(guard, Duration::from_secs(1)).unwrap();
                        continue;
                    }
                    drop(guard);
                    drop(t);
                    std::thread::sleep(TICK);
                    engine.increment_epoch();
                }
            })
            .expect("spawn epoch ticker");
        ticker
    }

    pub(crate) fn activate(&self) -> Active<'_> {
        if self.active.fetch_add(1, Ordering::SeqCst) == 0 {
            let _guard = self.lock.lock().unwrap();
            self.wake.notify_all();
        }
        Active(self)
    }
}
