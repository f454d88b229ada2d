//! Guest SDK for portagent state plugins written in Rust. Its pure parts
//! ([`validate`]) are shared with the host, which builds this crate without
//! the `guest` feature.
//!
//! A plugin implements [`Plugin`] on a type and registers it with
//! [`export_plugin!`]; `cargo build --target wasm32-wasip2` then emits a
//! component that `portagent plugin install` accepts. The WIT in `../wit` is
//! the single source of truth; this crate only adds friendlier wrappers.
//!
//! ```ignore
//! struct Hello;
//! impl portagent_sdk::Plugin for Hello { /* describe, query, diff, ... */ }
//! portagent_sdk::export_plugin!(Hello);
//! ```

pub mod validate;

#[cfg(feature = "guest")]
mod guest;
#[cfg(feature = "guest")]
pub use guest::*;
