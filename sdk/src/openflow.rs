//! OpenFlow tables of OVS bridges (the `openflow` capability, scoped by
//! bridge): dump, and replace atomically in one bundle.

use crate::{CapError, host};

/// The bridge's flows, one per entry, in `ovs-ofctl` syntax without
/// statistics.
pub fn dump_flows(bridge: &str) -> Result<Vec<String>, CapError> {
    host::with(|h| h.dump_flows(bridge))
}

/// Replaces the bridge's whole flow table atomically (one OpenFlow bundle).
pub fn replace_flows(bridge: &str, flows: &[String]) -> Result<(), CapError> {
    host::with(|h| h.replace_flows(bridge, flows))
}
