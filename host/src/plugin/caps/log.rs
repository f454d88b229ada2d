//! `log`: guest messages into the host's log, tagged with the plugin name.

use super::Capability;
use crate::plugin::bindings::portagent::plugin::log::{Host, Level};
use crate::plugin::sandbox::HostState;

/// Longest message kept; a plugin cannot flood the journal with one call.
const MAX_MESSAGE: usize = 4096;

impl Host for HostState {
    async fn log(&mut self, level: Level, message: String) -> wasmtime::Result<()> {
        if self.caps.grants.scope(&self.caps.plugin, Capability::Log).is_err() {
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
        let mut end = message.len().min(MAX_MESSAGE);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        log::log!(target: "plugin", level, "[{}] {}", self.caps.plugin, &message[..end]);
        Ok(())
    }
}
