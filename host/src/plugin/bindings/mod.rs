//! Generated bindings, one module per supported version of the WIT
//! package; each converts its types to the host's ([`super::api`]) at the
//! edge, so nothing outside `plugin/` depends on a version's bindings.
//!
//! - [`v0_1`]: for `portagent:plugin@0.1.0`.

pub mod v0_1;

/// The version this host's plugins are built against.
pub use v0_1 as current;
