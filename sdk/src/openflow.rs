//! OpenFlow tables of OVS bridges (the `openflow` capability, scoped by
//! bridge). A plugin's flows carry a cookie the host gives it; it replaces
//! only its own, atomically in one bundle, and every other flow stays.

use crate::{CapError, host};

/// The bridge's flows (every cookie), one per entry, in `ovs-ofctl`
/// syntax without statistics.
pub fn dump_flows(bridge: &str) -> Result<Vec<String>, CapError> {
    host::with(|h| h.dump_flows(bridge))
}

/// The OVS bridges there are that this plugin's scope reaches.
pub fn list_bridges() -> Result<Vec<String>, CapError> {
    host::with(|h| h.list_bridges())
}

/// The cookie that marks this plugin's flows.
pub fn cookie() -> u64 {
    host::with(|h| h.flow_cookie())
}

/// This plugin's flows on the bridge, in OVS's normal form, without the
/// cookie.
pub fn own_flows(bridge: &str) -> Result<Vec<String>, CapError> {
    host::with(|h| h.own_flows(bridge))
}

/// Replaces this plugin's flows on the bridge with `flows` (`add-flow`
/// syntax, no `cookie`) in one bundle; a flow OVS refuses fails it whole.
pub fn replace_flows(bridge: &str, flows: &[String]) -> Result<(), CapError> {
    host::with(|h| h.replace_flows(bridge, flows))
}

/// `flows` in OVS's normal form, as [`own_flows`] would show them.
pub fn normalize(flows: &[String]) -> Result<Vec<String>, CapError> {
    host::with(|h| h.normalize_flows(flows))
}
