//! `list_ports`, `add_port`, `del_port`: ports of the configured bridge
//! (`bridge_name`), changed as state (diff, checkpoint, apply, verify,
//! ledger) through the `net` plugin, never behind its back.

use crate::state::{ApplyOptions, ApplyReport, Caller, Manager, StateError, StateFile};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn invalid(field: &str, message: impl Into<String>) -> StateError {
    StateError::invalid(field, message)
}

fn port_name(p: &Value) -> Option<&str> {
    p.as_str().or_else(|| p["name"].as_str())
}

/// The bridge's entry in `net`'s live state, and its ports.
fn bridge_ports(manager: &Manager) -> Result<Vec<Value>, StateError> {
    let bridge = &manager.config().bridge_name;
    let live = manager.query(Some("net"))?.plugins;
    let entry = live["net"]["interfaces"]
        .as_array()
        .and_then(|l| l.iter().find(|i| i["name"] == bridge.as_str() && i["type"] == "ovs-bridge"))
        .ok_or_else(|| {
            invalid("bridge_name", format!("bridge {bridge:?} does not exist; create it with apply-state first"))
        })?;
    Ok(entry["ports"].as_array().cloned().unwrap_or_default())
}

/// Names of the ports on the configured bridge.
pub fn list(manager: &Manager) -> Result<Vec<String>, StateError> {
    Ok(bridge_ports(manager)?.iter().filter_map(port_name).map(str::to_string).collect())
}

fn check_name(name: &str) -> Result<(), StateError> {
    portagent_sdk::validate::ifname(name).map_err(|why| invalid("port", why))
}

/// Adds (or removes) port `name` on the configured bridge, as an apply.
pub fn change(manager: &Manager, name: &str, add: bool, caller: Caller) -> Result<ApplyReport, StateError> {
    check_name(name)?;
    let mut ports = bridge_ports(manager)?;
    let present = ports.iter().any(|p| port_name(p) == Some(name));
    match (add, present) {
        (true, false) => ports.push(json!(name)),
        (false, true) => ports.retain(|p| port_name(p) != Some(name)),
        (false, false) => {
            return Err(invalid("port", format!("{name} is not a port of {}", manager.config().bridge_name)));
        }
        (true, true) => {}
    }
    let bridge = json!({"name": manager.config().bridge_name, "type": "ovs-bridge", "ports": ports});
    let file = StateFile {
        sections: BTreeMap::from([("net".to_string(), json!({"interfaces": [bridge]}))]),
        probe: vec![],
        source: None,
    };
    manager.apply(&file, &ApplyOptions::new(caller))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_names_are_checked() {
        for ok in ["veth123", "eth0", "a"] {
            check_name(ok).unwrap();
        }
        for bad in ["", "a/b", "with space", "sixteen-bytes-xx", "..", "a:b", "!lo", "eth*"] {
            assert!(matches!(check_name(bad), Err(StateError::Invalid { field, .. }) if field == "port"), "{bad}");
        }
    }

    #[test]
    fn ports_are_names_or_maps() {
        assert_eq!(port_name(&json!("eth0")), Some("eth0"));
        assert_eq!(port_name(&json!({"name": "vm1", "vlan": {"mode": "access", "tag": 10}})), Some("vm1"));
        assert_eq!(port_name(&json!(3)), None);
    }
}
