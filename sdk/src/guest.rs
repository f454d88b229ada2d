//! The guest side: bindings of the WIT world and friendlier wrappers.

/// Raw bindings generated from the `state-plugin` world.
pub mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "portagent:plugin/state-plugin",
        pub_export_macro: true,
        export_macro_name: "export_plugin",
        default_bindings_module: "portagent_sdk::bindings",
    });
}

pub use bindings::export_plugin;
pub use bindings::exports::portagent::plugin::plugin::Guest as Plugin;
pub use bindings::portagent::plugin::types::{
    Action, ActionKind, CapError, CapabilityRequest, FieldError, Mismatch, PluginError, PluginInfo,
};
pub use bindings::portagent::plugin::{netlink, networkd, openflow, settings};

/// Where the host preopens systemd-networkd's config dir for plugins granted
/// the `networkd` capability.
pub const NETWORKD_DIR: &str = "/etc/systemd/network";

impl PluginError {
    /// An invalid-input error naming `field`.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        PluginError::Invalid(FieldError { field: field.into(), message: message.into() })
    }
}

impl From<CapError> for PluginError {
    fn from(e: CapError) -> Self {
        match e {
            CapError::Denied(m) => PluginError::Denied(m),
            CapError::Failed(m) => PluginError::Failed(m),
        }
    }
}

impl CapabilityRequest {
    /// A request for capability `name` narrowed to `scope`.
    pub fn new(name: &str, scope: &[&str], reason: &str) -> Self {
        CapabilityRequest {
            name: name.into(),
            scope: scope.iter().map(|s| s.to_string()).collect(),
            reason: reason.into(),
        }
    }
}

/// Logging into the host's log, tagged with the plugin's name.
pub mod log {
    use crate::bindings::portagent::plugin::log::{Level, log};
    pub fn error(msg: &str) {
        log(Level::Error, msg)
    }
    pub fn warn(msg: &str) {
        log(Level::Warn, msg)
    }
    pub fn info(msg: &str) {
        log(Level::Info, msg)
    }
    pub fn debug(msg: &str) {
        log(Level::Debug, msg)
    }
}

/// The OVSDB capability with JSON values instead of text.
pub mod ovsdb {
    use crate::CapError;
    use serde_json::Value;

    /// One RFC 7047 `transact` against `Open_vSwitch`; returns the results.
    pub fn transact(operations: &Value) -> Result<Vec<Value>, CapError> {
        let text = crate::bindings::portagent::plugin::ovsdb::transact("Open_vSwitch", &operations.to_string())?;
        match serde_json::from_str(&text) {
            Ok(Value::Array(results)) => Ok(results),
            _ => Err(CapError::Failed(format!("OVSDB returned a non-array result: {text}"))),
        }
    }
}
