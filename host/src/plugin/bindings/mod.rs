//! Generated bindings, one module per supported version of the WIT
//! package; each converts its types to the host's ([`super::api`]) at the
//! edge, so nothing outside `plugin/` depends on a version's bindings.
//!
//! - [`v0_2`]: for `portagent:plugin@0.2.0`.
//!
//! 0.1.0 is no longer supported (see `wit/CHANGES.md`): its plugins are
//! refused at install and load with the version named.

pub mod v0_2;

/// The version this host's plugins are built against.
pub use v0_2 as current;
