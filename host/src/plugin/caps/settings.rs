//! `settings`: the non-secret `config.toml` keys that shape plugin defaults.
//! Not a capability: readable by every plugin, so no grant check.

use crate::plugin::bindings::portagent::plugin::settings::Host;
use crate::plugin::sandbox::HostState;

impl Host for HostState {
    async fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        let b = &self.caps.backends;
        Ok(match key.as_str() {
            "datapath_type" => Some(b.datapath_type.clone()),
            "bridge_name" => Some(b.bridge_name.clone()),
            _ => None,
        })
    }
}
