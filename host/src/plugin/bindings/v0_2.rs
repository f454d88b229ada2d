//! `bindgen!` for `portagent:plugin@0.2.0`: Rust types and traits for the
//! WIT world `state-plugin` in `../wit`, and their conversions to the
//! host's own types ([`crate::plugin::api`]).
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

use self::portagent::plugin::types as wit;
pub use self::portagent::plugin::types::CapError;
use crate::plugin::api;

/// This bindings module's version of the WIT package.
pub const WIT_VERSION: &str = "0.2.0";

use crate::plugin::errno::name_errors;

impl From<wit::PluginError> for api::PluginError {
    fn from(e: wit::PluginError) -> api::PluginError {
        match e {
            wit::PluginError::Invalid(f) => {
                api::PluginError::Invalid(api::FieldError { field: f.field, message: name_errors(f.message) })
            }
            wit::PluginError::Failed(m) => api::PluginError::Failed(name_errors(m)),
            wit::PluginError::Denied(m) => api::PluginError::Denied(name_errors(m)),
        }
    }
}

impl From<wit::ActionKind> for api::ActionKind {
    fn from(k: wit::ActionKind) -> api::ActionKind {
        match k {
            wit::ActionKind::Create => api::ActionKind::Create,
            wit::ActionKind::Modify => api::ActionKind::Modify,
            wit::ActionKind::Delete => api::ActionKind::Delete,
        }
    }
}

impl From<api::ActionKind> for wit::ActionKind {
    fn from(k: api::ActionKind) -> wit::ActionKind {
        match k {
            api::ActionKind::Create => wit::ActionKind::Create,
            api::ActionKind::Modify => wit::ActionKind::Modify,
            api::ActionKind::Delete => wit::ActionKind::Delete,
        }
    }
}

impl From<wit::Action> for api::Action {
    fn from(a: wit::Action) -> api::Action {
        api::Action { kind: a.kind.into(), resource: a.resource, body: a.body }
    }
}

impl From<&api::Action> for wit::Action {
    fn from(a: &api::Action) -> wit::Action {
        wit::Action { kind: a.kind.into(), resource: a.resource.clone(), body: a.body.clone() }
    }
}

impl From<wit::Mismatch> for api::Mismatch {
    fn from(m: wit::Mismatch) -> api::Mismatch {
        api::Mismatch { resource: m.resource, field: m.field, expected: m.expected, actual: m.actual }
    }
}

impl From<wit::PluginInfo> for api::PluginInfo {
    fn from(i: wit::PluginInfo) -> api::PluginInfo {
        api::PluginInfo {
            name: i.name,
            version: i.version,
            section: i.section,
            capabilities: i
                .capabilities
                .into_iter()
                .map(|c| api::CapabilityRequest { name: c.name, scope: c.scope, reason: c.reason })
                .collect(),
            after: i.after,
        }
    }
}
