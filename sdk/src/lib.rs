//! The SDK for portagent state plugins written in Rust, and the toolbox
//! every plugin shares. A plugin implements [`Plugin`] on a type and
//! registers it with [`export_plugin!`]; `cargo build --target
//! wasm32-wasip2` then emits a component that `portagent plugin install`
//! accepts. The WIT in `wit/` (links to the repo's `wit/*.wit`) is the
//! single source of truth.
//!
//! - [`validate`]: interface names (the one rule, the host's too) and
//!   parsing a section with bad fields named by path. Built without the
//!   `guest` feature too: the host uses it.
//! - [`ports`]: what the host's port agent and `net` say to each other
//!   (a port change, `net`'s live state as the host reads it). Built
//!   without the `guest` feature too.
//! - [`ovsdb`]: OVSDB transactions with guards, and the wait for
//!   ovs-vswitchd.
//! - [`networkd`]: networkd's link states, reload, and a plugin's own
//!   `.network` files and drop-ins (marker, record, atomic writes).
//! - [`openflow`]: a plugin's own flows, replaced in one bundle, and OVS's
//!   normal form of flows.
//! - [`netlink`], [`hostname`], [`log`], [`settings`]: the other imports.
//! - [`section`]: the JSON of sections and checkpoints, as every plugin
//!   reads and writes it.
//! - [`testing`]: a fake host, to unit-test a plugin's logic natively.
//!
//! ```ignore
//! struct Hello;
//! impl portagent_sdk::Plugin for Hello { /* describe, query, diff, ... */ }
//! portagent_sdk::export_plugin!(Hello);
//! ```

pub mod ports;
pub mod validate;

#[cfg(feature = "guest")]
pub mod bindings;
#[cfg(feature = "guest")]
mod host;
#[cfg(feature = "guest")]
pub mod hostname;
#[cfg(feature = "guest")]
pub mod log;
#[cfg(feature = "guest")]
pub mod netlink;
#[cfg(feature = "guest")]
pub mod networkd;
#[cfg(feature = "guest")]
pub mod openflow;
#[cfg(feature = "guest")]
pub mod ovsdb;
#[cfg(feature = "guest")]
pub mod section;
#[cfg(feature = "guest")]
pub mod settings;
#[cfg(all(feature = "guest", not(target_arch = "wasm32")))]
pub mod testing;

#[cfg(feature = "guest")]
pub use guest::*;

#[cfg(feature = "guest")]
mod guest {
    pub use crate::bindings::export_plugin;
    pub use crate::bindings::exports::portagent::plugin::plugin::Guest as Plugin;
    pub use crate::bindings::portagent::plugin::types::{
        Action, ActionKind, CapError, CapabilityRequest, FieldError, Mismatch, PluginError, PluginInfo, Snapshot,
    };
    pub use crate::networkd::NETWORKD_DIR;

    impl PluginError {
        /// An invalid-input error naming `field`.
        pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
            PluginError::Invalid(FieldError { field: field.into(), message: message.into() })
        }
    }

    /// A capability's refusal, as the plugin's: `denied` stays `denied`,
    /// every other variant is the backend's refusal, `failed`.
    impl From<CapError> for PluginError {
        fn from(e: CapError) -> Self {
            match e {
                CapError::Denied(m) => PluginError::Denied(m),
                CapError::Failed(m)
                | CapError::NotFound(m)
                | CapError::InvalidArgument(m)
                | CapError::Conflict(m)
                | CapError::Timeout(m) => PluginError::Failed(m),
            }
        }
    }

    impl CapError {
        /// The message, whatever the variant.
        pub fn message(&self) -> &str {
            match self {
                CapError::Denied(m)
                | CapError::Failed(m)
                | CapError::NotFound(m)
                | CapError::InvalidArgument(m)
                | CapError::Conflict(m)
                | CapError::Timeout(m) => m,
            }
        }
    }

    impl Snapshot {
        /// The snapshot of `checkpoint(id)`: `state` as JSON, under the
        /// host's `id`.
        pub fn new<T: serde::Serialize>(id: String, state: &T) -> Self {
            Snapshot { id, data: crate::section::encode(state) }
        }

        /// The state a snapshot holds, as `plugin`'s (for `restore`).
        pub fn state<T: serde::de::DeserializeOwned>(&self, plugin: &str) -> Result<T, PluginError> {
            crate::section::decode(plugin, &self.data)
        }
    }

    impl From<crate::validate::Invalid> for PluginError {
        fn from(e: crate::validate::Invalid) -> Self {
            PluginError::invalid(e.field, e.message)
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
}
