//! `list_ports`, `add_port`, `del_port`: ports of the configured bridge
//! (`bridge_name`), changed as state (diff, checkpoint, apply, verify,
//! ledger) through the `net` plugin, never behind its back. A change
//! names only its own ports (`net` reads the bridge under the apply lock),
//! so concurrent changes never undo each other; ports added here are
//! dynamic (`external_ids:portagent=dynamic`): an apply-state whose
//! `ports:` does not name them leaves them attached. After a change, the
//! managed block of the interfaces file is rewritten to match them.

use crate::state::managed_block::{self, BlockError};
use crate::state::{ApplyOptions, ApplyReport, Caller, Manager, StateError, StateFile};
use portagent_sdk::ports::{BridgePort, LiveNet, PortRequest};
use std::collections::{BTreeMap, HashSet};

pub mod naming;

fn invalid(field: &str, message: impl Into<String>) -> StateError {
    StateError::invalid(field, message)
}

/// `net`'s live state, as the host reads it (the SDK's shared types).
fn live_net(manager: &Manager) -> Result<LiveNet, StateError> {
    let live = manager.query(Some("net"))?.plugins.remove("net").unwrap_or_default();
    serde_json::from_value(live).map_err(|e| StateError::invalid("plugins.net", format!("net's live state: {e}")))
}

/// Why a port operation cannot run: no configured bridge yet.
fn no_bridge(bridge: &str) -> StateError {
    invalid("bridge_name", format!("bridge {bridge:?} does not exist; create it with apply-state first"))
}

/// The configured bridge's ports in `net`'s live state.
fn bridge_ports(manager: &Manager) -> Result<Vec<BridgePort>, StateError> {
    let bridge = &manager.config().bridge_name;
    live_net(manager)?.ports_of(bridge).map(<[BridgePort]>::to_vec).ok_or_else(|| no_bridge(bridge))
}

/// The configured bridge's ports as the managed block lists them.
pub fn for_block(manager: &Manager) -> Result<Vec<managed_block::Port>, StateError> {
    let bridge = &manager.config().bridge_name;
    managed_block::ports_of(&live_net(manager)?, bridge).ok_or_else(|| no_bridge(bridge))
}

/// Names of the ports on the configured bridge.
pub fn list(manager: &Manager) -> Result<Vec<String>, StateError> {
    Ok(bridge_ports(manager)?.iter().map(|p| p.name().to_string()).collect())
}

/// Names of the dynamic ports (the agent's and `add_port`'s) on the
/// configured bridge; `None` when there is no such bridge (yet).
pub fn dynamic(manager: &Manager) -> Result<Option<Vec<String>>, StateError> {
    let live = live_net(manager)?;
    Ok(live
        .ports_of(&manager.config().bridge_name)
        .map(|ports| ports.iter().filter(|p| p.dynamic()).map(|p| p.name().to_string()).collect()))
}

/// Whether this network namespace has a link named `name`.
fn link_exists(name: &str) -> bool {
    // SAFETY: a NUL-terminated string that outlives the call.
    std::ffi::CString::new(name).is_ok_and(|c| unsafe { libc::if_nametoindex(c.as_ptr()) } != 0)
}

fn check_name(name: &str) -> Result<(), StateError> {
    portagent_sdk::validate::ifname(name).map_err(|why| invalid("port", why))
}

/// A change of one port of the configured bridge.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum PortChange {
    /// Attach a free link (a veth, a tap, a NIC) as a dynamic port; a
    /// link that is a port already, or gone, is left as it is.
    Attach(String),
    /// Detach a port, whoever attached it (`del_port`).
    Detach(String),
    /// Detach a port only if it is a dynamic one (the agent, when a link
    /// vanished).
    DetachDynamic(String),
    /// Attach `raw` as a dynamic port named `name` by `naming_template`:
    /// renamed to it (`rename`), or keeping its name with `name` in
    /// `external_ids:portagent-name`.
    AttachAs { raw: String, name: String, rename: bool },
}

/// The `net` section that makes exactly `changes` on `bridge`, and
/// nothing else: `net` reads the bridge's ports under the apply lock.
pub fn section(bridge: &str, changes: &[PortChange]) -> serde_json::Value {
    let interfaces: Vec<PortRequest> = changes
        .iter()
        .map(|c| match c {
            PortChange::Attach(n) => PortRequest::attach(n, bridge),
            PortChange::Detach(n) => PortRequest::detach(n),
            PortChange::DetachDynamic(n) => PortRequest::detach_dynamic(n),
            PortChange::AttachAs { raw, name, rename: true } => PortRequest::attach_renamed(raw, name, bridge),
            PortChange::AttachAs { raw, name, rename: false } => PortRequest::attach_aliased(raw, name, bridge),
        })
        .collect();
    serde_json::json!({"interfaces": interfaces})
}

/// Applies `changes` to the configured bridge as one apply.
pub fn apply(manager: &Manager, changes: &[PortChange], caller: Caller) -> Result<ApplyReport, StateError> {
    let file = StateFile {
        sections: BTreeMap::from([("net".to_string(), section(&manager.config().bridge_name, changes))]),
        probe: vec![],
        source: None,
    };
    manager.apply(&file, &ApplyOptions::new(caller))
}

/// What `create-interface` did.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Created {
    /// The interface's name by `naming_template`.
    pub name: String,
    /// The link's (and the OVS port's) name: `name` when renamed, else the
    /// raw name.
    pub port: String,
    pub renamed: bool,
    pub report: ApplyReport,
}

/// `create-interface RAW CONTAINER VMID`: names `raw`'s link by
/// `naming_template`, renames it when `enable_rename` (else the name goes
/// to `external_ids:portagent-name`), and attaches it as a dynamic port.
pub fn create_interface(
    manager: &Manager,
    raw: &str,
    container: &str,
    vmid: u32,
    caller: Caller,
) -> Result<Created, StateError> {
    check_name(raw).map_err(|_| invalid("raw", format!("{raw:?} is not an interface name")))?;
    let config = manager.config();
    let wanted =
        naming::render(&config.naming_template, raw, container, vmid).map_err(|e| invalid("naming_template", e))?;
    // Taken: another link's name, or another port's (or its template
    // name, kept in OVSDB when links keep theirs): two NICs of one guest
    // (`vi{vmid}` for veth900i0 and veth900i1) get two names.
    let others: HashSet<String> = bridge_ports(manager)?
        .iter()
        .filter(|p| p.name() != raw)
        .flat_map(|p| [Some(p.name().to_string()), p.alias().map(str::to_string)])
        .flatten()
        .collect();
    let name = naming::fit(&wanted, raw, |n| link_exists(n) || others.contains(n));
    let rename = config.enable_rename;
    if !link_exists(raw) {
        return Err(invalid("raw", format!("no network device named {raw} exists")));
    }
    let change = PortChange::AttachAs { raw: raw.into(), name: name.clone(), rename };
    let report = apply(manager, &[change], caller)?;
    let port = if rename { name.clone() } else { raw.to_string() };
    if report.success && !list(manager)?.contains(&port) {
        return Err(invalid(
            "raw",
            format!("{raw} is a port of another bridge, or not a container's link; nothing was attached"),
        ));
    }
    Ok(Created { name, port, renamed: rename, report })
}

/// `remove-interface NAME`: takes the dynamic port named `name` (or whose
/// name by `naming_template` is `name`) off the bridge. The link stays its
/// owner's to delete (the container runtime, the hypervisor).
pub fn remove_interface(manager: &Manager, name: &str, caller: Caller) -> Result<ApplyReport, StateError> {
    check_name(name)?;
    let ports = bridge_ports(manager)?;
    let port = ports
        .iter()
        .find(|p| p.name() == name)
        .or_else(|| ports.iter().find(|p| p.alias() == Some(name)))
        .map(BridgePort::name)
        .ok_or_else(|| invalid("name", format!("no port of {} is named {name}", manager.config().bridge_name)))?;
    apply(manager, &[PortChange::Detach(port.to_string())], caller)
}

/// Adds (or removes) port `name` on the configured bridge, as an apply.
pub fn change(manager: &Manager, name: &str, add: bool, caller: Caller) -> Result<ApplyReport, StateError> {
    check_name(name)?;
    let bridge = &manager.config().bridge_name;
    let before = list(manager)?;
    if !add && !before.iter().any(|p| p == name) {
        return Err(invalid("port", format!("{name} is not a port of {bridge}")));
    }
    if add && !link_exists(name) {
        return Err(invalid("port", format!("no network device named {name} exists")));
    }
    let change = if add { PortChange::Attach(name.into()) } else { PortChange::Detach(name.into()) };
    let report = apply(manager, &[change], caller)?;
    // Attaching leaves a link that is some bridge's port already as it is.
    if add && report.success && !list(manager)?.iter().any(|p| p == name) {
        return Err(invalid("port", format!("{name} is a port of another bridge; detach it there first")));
    }
    Ok(report)
}

/// After a change of ports: the managed block rewritten if the change
/// applied something.
pub fn mirror(manager: &Manager, caller: Caller, report: &ApplyReport) {
    if report.success && !report.changes_applied.is_empty() {
        refresh_block(manager, caller, BlockState::default());
    }
}

/// The last refusal to write the managed block, so that a file left
/// malformed is recorded once, not at every change.
#[derive(Debug, Default)]
pub struct BlockState {
    refused: Option<String>,
}

/// Rewrites the managed block of `interfaces_path` to list the bridge and
/// its ports now; a rewrite, or a refusal to write a malformed file, is
/// recorded in the ledger (category `interfaces_file`).
pub fn refresh_block(manager: &Manager, caller: Caller, mut state: BlockState) -> BlockState {
    let config = manager.config();
    let ports = match for_block(manager) {
        Ok(p) => p,
        // No such bridge (yet): nothing to list.
        Err(e) if e.kind() == crate::state::ErrorKind::Invalid => {
            log::debug!("managed block: not written: {e}");
            return state;
        }
        Err(e) => {
            log::warn!("managed block: not written, the bridge's ports could not be read: {e}");
            return state;
        }
    };
    let path = &config.interfaces_path;
    let base = serde_json::json!({"path": path, "tag": config.managed_block_tag, "bridge": config.bridge_name});
    let record = match managed_block::update(path, &config.managed_block_tag, &config.bridge_name, &ports) {
        Ok(None) => None,
        Ok(Some((before, after))) => {
            state.refused = None;
            let mut d = base;
            d["result"] = "rewritten".into();
            d["ports"] = serde_json::json!(ports);
            d["sha256_before"] = before.into();
            d["sha256_after"] = after.into();
            Some(d)
        }
        Err(e) => {
            let why = e.to_string();
            log::error!("managed block: {why}");
            let again = state.refused.as_deref() == Some(why.as_str());
            state.refused = Some(why.clone());
            let mut d = base;
            d["result"] = if matches!(e, BlockError::Malformed { .. }) { "refused" } else { "failed" }.into();
            d["error"] = why.into();
            (!again).then_some(d)
        }
    };
    if let Some(data) = record
        && let Err(e) = manager.record("interfaces_file", data, caller)
    {
        log::error!("managed block: {e}");
    }
    state
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
}
