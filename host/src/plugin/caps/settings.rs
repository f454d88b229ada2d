//! `settings`: the non-secret `config.toml` keys that shape plugin defaults.
//! Not a capability: readable by every plugin, so no grant check.

use super::CapContext;
use crate::plugin::bindings::current::portagent::plugin::settings::Host;

impl Host for CapContext {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        let b = &self.backends;
        Ok(match key.as_str() {
            "datapath_type" => Some(b.datapath_type.clone()),
            "bridge_name" => Some(b.bridge_name.clone()),
            _ => None,
        })
    }
}
