//! The host's name (the `hostname` capability: `read`, `write`).

pub use crate::bindings::portagent::plugin::hostname::Hostnames;
use crate::{CapError, host};

/// The kernel's name and the static one.
pub fn get() -> Result<Hostnames, CapError> {
    host::with(|h| h.hostname_get())
}

/// Sets both (see [`crate::validate::hostname`] for what a name may be).
pub fn set(name: &str) -> Result<(), CapError> {
    host::with(|h| h.hostname_set(name))
}
