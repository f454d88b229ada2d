//! `log`: guest messages into the host's log, tagged with the plugin name.

use super::{CapContext, Capability, Spec};
use crate::plugin::bindings::current::portagent::plugin::log::{Host, Level};

/// Longest message kept; a plugin cannot flood the journal with one call.
const MAX_MESSAGE: usize = 4096;

/// What one plugin call may log, and one plugin in a minute; beyond it
/// lines are dropped and counted (one apply once wrote 800 MB).
const PER_CALL: Budget = Budget { lines: 1_000, bytes: 256 << 10 };
const PER_MINUTE: Budget = Budget { lines: 5_000, bytes: 1 << 20 };

#[derive(Clone, Copy)]
struct Budget {
    lines: u64,
    bytes: u64,
}

/// A plugin's use of its budgets: this call's and this minute's.
#[derive(Default)]
struct Used {
    call: (usize, u64),
    call_lines: u64,
    call_bytes: u64,
    minute: Option<std::time::Instant>,
    minute_lines: u64,
    minute_bytes: u64,
    dropped: u64,
}

impl Used {
    /// Whether a line of `len` bytes, in call `call`, at `now`, fits; a
    /// line that does not is counted as dropped.
    fn admit(&mut self, call: (usize, u64), len: u64, now: std::time::Instant) -> bool {
        if self.call != call {
            (self.call, self.call_lines, self.call_bytes) = (call, 0, 0);
        }
        if self.minute.is_none_or(|m| now.duration_since(m) >= std::time::Duration::from_secs(60)) {
            (self.minute, self.minute_lines, self.minute_bytes) = (Some(now), 0, 0);
        }
        let fits = |lines: u64, bytes: u64, b: Budget| lines < b.lines && bytes + len <= b.bytes;
        if fits(self.call_lines, self.call_bytes, PER_CALL) && fits(self.minute_lines, self.minute_bytes, PER_MINUTE) {
            self.call_lines += 1;
            self.call_bytes += len;
            self.minute_lines += 1;
            self.minute_bytes += len;
            true
        } else {
            self.dropped += 1;
            false
        }
    }
}

/// Every plugin's use, by name.
static USED: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, Used>>> =
    std::sync::LazyLock::new(Default::default);

impl Host for CapContext {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        if self.grants.scope(&self.plugin, Capability::LOG).is_err() {
            // Not granted: dropped, as a log call has no error to return.
            return Ok(());
        }
        let level = match level {
            Level::Error => log::Level::Error,
            Level::Warn => log::Level::Warn,
            Level::Info => log::Level::Info,
            Level::Debug => log::Level::Debug,
            Level::Trace => log::Level::Trace,
        };
        let end = message.floor_char_boundary(MAX_MESSAGE);
        // Which call: the instance's clock, and how many calls it began.
        let call = (std::sync::Arc::as_ptr(&self.clock) as usize, self.clock.calls());
        let dropped = {
            let mut used = USED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let used = used.entry(self.plugin.clone()).or_default();
            if !used.admit(call, end as u64, std::time::Instant::now()) {
                return Ok(());
            }
            std::mem::take(&mut used.dropped)
        };
        say_dropped(&self.plugin, dropped);
        // Escaped: a plugin's line must not move a terminal's cursor or
        // forge another line of the log.
        let message = crate::plugin::manifest::escaped(&message[..end]);
        log::log!(target: "plugin", level, plugin = self.plugin.as_str(); "[{}] {}", self.plugin, message);
        Ok(())
    }
}

/// One line for `dropped` lines of `plugin`'s (none for none).
fn say_dropped(plugin: &str, dropped: u64) {
    if dropped > 0 {
        log::warn!(target: "plugin", plugin = plugin;
            "[{plugin}] {dropped} log lines dropped (at most {} lines or {} KiB a call, {} or {} KiB a minute)",
            PER_CALL.lines, PER_CALL.bytes >> 10, PER_MINUTE.lines, PER_MINUTE.bytes >> 10);
    }
}

/// Says how many of `plugin`'s lines were dropped and not yet told: run
/// when a call ends, so a flood is counted though no line gets through
/// after it.
pub fn tell_dropped(plugin: &str) {
    let dropped = {
        let mut used = USED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        used.get_mut(plugin).map_or(0, |u| std::mem::take(&mut u.dropped))
    };
    say_dropped(plugin, dropped);
}

/// `log`: messages into the host's log; no scope.
pub const CAPABILITY: Capability = Capability("log");

pub static SPEC: Spec = Spec {
    capability: CAPABILITY,
    scope_item: |_| false,
    scope_expected: || "no scope".into(),
    empty_scope_grants: true,
};

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn lines_beyond_a_calls_or_a_minutes_budget_are_dropped_and_counted() {
        let mut used = Used::default();
        let t = Instant::now();
        let admitted = (0..PER_CALL.lines + 10).filter(|_| used.admit((1, 0), 10, t)).count() as u64;
        assert_eq!((admitted, used.dropped), (PER_CALL.lines, 10), "one call's budget");
        assert!(used.admit((1, 1), 10, t), "a new call starts a new call budget");
        // Calls of a plugin within one minute share the minute's budget.
        let mut calls = 3;
        while used.admit((1, calls), 10, t) {
            calls += 1;
        }
        assert_eq!(used.minute_lines, PER_MINUTE.lines);
        assert!(used.admit((1, calls + 1), 10, t + Duration::from_secs(61)), "a minute later");
        let mut big = Used::default();
        assert!(!big.admit((1, 0), PER_CALL.bytes + 1, t), "bytes count too");
    }
}
