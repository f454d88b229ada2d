//! The one place `bindgen!` runs: Rust types and traits for the WIT world
//! `portagent:plugin/state-plugin` in `../wit`.
//!
//! Every capability import is `trappable` so a host implementation can turn
//! an exhausted call deadline into a trap; errors the guest should handle
//! stay inside the WIT `result` as `cap-error`. Imports and exports are
//! `async`: a call runs on a fiber the host can stop at any await point
//! (a guest asleep in WASI included), so its wall-clock limit always holds.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "portagent:plugin/state-plugin",
    imports: { default: async | trappable },
    exports: { default: async },
});

pub use self::portagent::plugin::types::{
    Action, ActionKind, CapError, CapabilityRequest, FieldError, Mismatch, PluginError, PluginInfo,
};
pub use exports::portagent::plugin::plugin as exports_plugin;

/// The WIT package this host implements, and its version.
pub const WIT_PACKAGE: &str = "portagent:plugin";
pub const WIT_VERSION: &str = "0.1.0";

/// The user-facing text of a plugin error.
pub fn error_message(e: &PluginError) -> String {
    match e {
        PluginError::Invalid(e) => format!("invalid {}: {}", e.field, e.message),
        PluginError::Failed(m) => format!("failed: {m}"),
        PluginError::Denied(m) => format!("denied: {m}"),
    }
}
