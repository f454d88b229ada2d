//! `log`: guest messages into the host's log, tagged with the plugin name.

use super::{CapContext, Capability, Spec};
use crate::plugin::bindings::current::portagent::plugin::log::{Host, Level};

/// Longest message kept; a plugin cannot flood the journal with one call.
const MAX_MESSAGE: usize = 4096;

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
        // Escaped: a plugin's line must not move a terminal's cursor or
        // forge another line of the log.
        let message = crate::plugin::manifest::escaped(&message[..end]);
        log::log!(target: "plugin", level, plugin = self.plugin.as_str(); "[{}] {}", self.plugin, message);
        Ok(())
    }
}

/// `log`: messages into the host's log; no scope.
pub const CAPABILITY: Capability = Capability("log");

pub static SPEC: Spec = Spec {
    capability: CAPABILITY,
    scope_item: |_| false,
    scope_expected: || "no scope".into(),
    empty_scope_grants: true,
};
