//! Desired vs current: dependency-ordered actions (bridges before their
//! ports, ports before addresses; the reverse for deletion), empty when
//! they agree. Unset desired fields are left as they are.

use crate::model::{Interface, Invalid, IpConfig, Kind, NetState, PortConfig, PortSpec, State};
use portagent_sdk::{Action, ActionKind};
use serde_json::{Map, Value, json};
use std::collections::HashSet;

/// The ports a bridge should have, by name: its `ports:` list, or
/// (without one) what it has now, plus every interface that names it as
/// `controller`, plus the dynamic ports it has that the file does not
/// name, minus interfaces being deleted.
pub fn wanted_ports(desired: &NetState, bridge: &Interface, current: Option<&Interface>) -> Option<Vec<PortSpec>> {
    let children: Vec<PortSpec> = desired
        .interfaces
        .iter()
        .filter(|i| i.controller.as_deref() == Some(bridge.name.as_str()) && i.state != Some(State::Absent))
        .map(|i| {
            let (dynamic, alias) = (i.dynamic, i.alias.clone());
            PortSpec::from_config(PortConfig { name: i.name.clone(), dynamic, alias, ..Default::default() })
        })
        .collect();
    let live = current.and_then(|c| c.ports.clone()).unwrap_or_default();
    let base = match &bridge.ports {
        // The port agent's ports stay unless the file names them (in
        // `ports:` or as an interface of its own).
        Some(listed) => {
            let named: HashSet<&str> = listed
                .iter()
                .flat_map(|p| std::iter::once(p.name()).chain(p.bond_members().iter().map(String::as_str)))
                .chain(desired.interfaces.iter().map(|i| i.name.as_str()))
                .collect();
            let kept = live.iter().filter(|p| p.is_dynamic() && !named.contains(p.name())).cloned();
            listed.iter().map(|p| PortSpec::from_config(p.config())).chain(kept).collect()
        }
        None if !children.is_empty() => live,
        None => return None,
    };
    // A bond's NICs name the bridge as controller, but live inside the bond.
    let members: HashSet<String> = base.iter().flat_map(|p| p.bond_members().iter().cloned()).collect();
    let absent: HashSet<&str> =
        desired.interfaces.iter().filter(|i| i.state == Some(State::Absent)).map(|i| i.name.as_str()).collect();
    let mut seen: HashSet<String> = HashSet::new();
    let mut out: Vec<PortSpec> = Vec::new();
    for p in base.into_iter().chain(children.into_iter().filter(|c| !members.contains(c.name()))) {
        if seen.insert(p.name().to_string()) && !absent.contains(p.name()) {
            out.push(p);
        }
    }
    out.sort_by(|a, b| a.name().cmp(b.name()));
    Some(out)
}

fn ip_changes(prefix: &str, d: &IpConfig, c: Option<&IpConfig>, out: &mut Map<String, Value>) {
    let blank = IpConfig {
        enabled: false,
        dhcp: Some(false),
        address: Some(vec![]),
        gateway: None,
        gateway_on_link: None,
        dns: Some(vec![]),
    };
    let c = c.unwrap_or(&blank);
    if d.enabled != c.enabled {
        out.insert(format!("{prefix}.enabled"), json!(d.enabled));
    }
    if !d.enabled {
        return;
    }
    if d.dhcp.is_some() && d.dhcp.unwrap_or(false) != c.dhcp.unwrap_or(false) {
        out.insert(format!("{prefix}.dhcp"), json!(d.dhcp));
    }
    if let Some(want) = &d.address {
        let mut want = want.clone();
        want.sort();
        let mut have = c.address.clone().unwrap_or_default();
        have.sort();
        if want != have {
            out.insert(format!("{prefix}.address"), json!(want));
        }
    }
    if d.gateway.is_some() && d.gateway != c.gateway {
        out.insert(format!("{prefix}.gateway"), json!(d.gateway));
    }
    if d.gateway_on_link.is_some() && d.gateway_on_link.unwrap_or(false) != c.gateway_on_link.unwrap_or(false) {
        out.insert(format!("{prefix}.gateway_on_link"), json!(d.gateway_on_link));
    }
    if let Some(dns) = &d.dns
        && Some(dns) != c.dns.as_ref()
    {
        out.insert(format!("{prefix}.dns"), json!(dns));
    }
}

/// The fields of `d` (with `ports` resolved) that `c` does not match, as
/// dotted keys with the desired values.
pub fn changes(d: &Interface, ports: Option<&Vec<PortSpec>>, c: &Interface) -> Map<String, Value> {
    let mut out = Map::new();
    if let Some(p) = ports
        && Some(p) != c.ports.as_ref()
    {
        out.insert("ports".into(), json!(p));
    }
    if d.controller.is_some() && d.controller != c.controller {
        out.insert("controller".into(), json!(d.controller));
    }
    if d.mtu.is_some() && d.mtu != c.mtu {
        out.insert("mtu".into(), json!(d.mtu));
    }
    if d.datapath_type.is_some() && d.datapath_type != c.datapath_type {
        out.insert("datapath_type".into(), json!(d.datapath_type));
    }
    if d.stp.is_some() && d.stp != c.stp.or(Some(false)) {
        out.insert("stp".into(), json!(d.stp));
    }
    if d.rstp.is_some() && d.rstp != c.rstp.or(Some(false)) {
        out.insert("rstp".into(), json!(d.rstp));
    }
    if d.fail_mode.is_some() && d.fail_mode != c.fail_mode {
        out.insert("fail_mode".into(), json!(d.fail_mode));
    }
    // `dynamic: false` takes an agent's port over (dynamic ones are
    // `dynamic_port`'s).
    if d.dynamic == Some(false) && c.dynamic == Some(true) {
        out.insert("dynamic".into(), json!(false));
    }
    let want_state = d.state.unwrap_or(State::Up);
    if want_state != State::Absent && Some(want_state) != c.state {
        out.insert("state".into(), json!(want_state));
    }
    if let Some(v4) = &d.ipv4 {
        ip_changes("ipv4", v4, c.ipv4.as_ref(), &mut out);
    }
    if let Some(v6) = &d.ipv6 {
        ip_changes("ipv6", v6, c.ipv6.as_ref(), &mut out);
    }
    out
}

fn kind_name(k: Kind) -> &'static str {
    match k {
        Kind::OvsBridge => "ovs-bridge",
        Kind::OvsInterface => "ovs-interface",
        Kind::Ethernet => "ethernet",
    }
}

/// `d` completed for creation: defaults filled in, ports resolved.
fn for_create(d: &Interface, ports: Option<Vec<PortSpec>>, default_dp: &str) -> Interface {
    let off = || {
        Some(IpConfig { enabled: false, dhcp: None, address: None, gateway: None, gateway_on_link: None, dns: None })
    };
    let mut n = d.clone();
    n.state = Some(d.state.unwrap_or(State::Up));
    if n.kind == Kind::OvsBridge {
        n.ports = Some(ports.unwrap_or_default());
        n.datapath_type = Some(d.datapath_type.clone().unwrap_or_else(|| default_dp.into()));
    }
    n.ipv4 = n.ipv4.or_else(off);
    n.ipv6 = n.ipv6.or_else(off);
    n
}

/// The port agent's change of one port, `d` (`dynamic: true`), safe to
/// ask for again and again: attaching takes only a free link (one that is
/// no port yet; the file's ports and other bridges' are left alone; one
/// that is gone is no change), and detaching takes only the agent's own
/// port, also once its link is gone.
fn dynamic_port(current: &NetState, d: &Interface, cur: Option<&Interface>) -> Option<Action> {
    let act = |kind, body: Value| Action { kind, resource: d.name.clone(), body: body.to_string() };
    if d.state == Some(State::Absent) {
        let ours = current
            .interfaces
            .iter()
            .filter_map(|i| i.ports.as_ref())
            .flatten()
            .any(|p| p.name() == d.name && p.is_dynamic());
        return ours.then(|| act(ActionKind::Delete, Value::Null));
    }
    // Still under its old name: renamed first (unless the new one is taken).
    let renaming = match (cur, &d.rename_from) {
        (None, Some(raw)) => current.interfaces.iter().find(|i| &i.name == raw),
        _ => None,
    };
    // Free, or (being renamed) the agent's own port under its old name.
    let free = |c: &&Interface| c.controller.is_none() || (renaming.is_some() && c.dynamic == Some(true));
    renaming.or(cur).filter(|c| c.kind == Kind::Ethernet).filter(free)?;
    // No such bridge (yet): nothing to attach to.
    current.interfaces.iter().find(|i| i.kind == Kind::OvsBridge && Some(&i.name) == d.controller.as_ref())?;
    let mut body = json!({"controller": d.controller, "dynamic": true});
    if let Some(raw) = renaming.map(|r| &r.name) {
        body["rename_from"] = json!(raw);
    }
    if let Some(alias) = &d.alias {
        body["alias"] = json!(alias);
    }
    Some(act(ActionKind::Modify, body))
}

/// An `ovs-interface` without `controller:` lives on the bridge whose
/// `ports:` list it, or else on the one it is on now (as nmstate infers
/// it); `Some` with the controller filled in, `None` when nothing is to
/// infer.
fn infer_controller(
    desired: &NetState,
    owners: &std::collections::BTreeMap<String, String>,
    i: usize,
    d: &Interface,
    cur: Option<&Interface>,
) -> Result<Option<Interface>, Invalid> {
    if d.kind != Kind::OvsInterface || d.controller.is_some() || d.state == Some(State::Absent) {
        return Ok(None);
    }
    let field = format!("interfaces[{i}].controller");
    if let Some(bridge) = owners.get(&d.name) {
        return Ok(Some(Interface { controller: Some(bridge.clone()), ..d.clone() }));
    }
    let Some(bridge) = cur.and_then(|c| c.controller.clone()) else {
        return Err(Invalid {
            field,
            message: format!(
                "{} does not exist yet, so it needs the bridge to live on: say controller:, or list it in a bridge's ports:",
                d.name
            ),
        });
    };
    if desired.get(&bridge).is_some_and(|b| b.ports.is_some()) {
        return Err(Invalid {
            field,
            message: format!(
                "{} lives on {bridge}, whose ports: in this file do not list it (list it there, or say controller:)",
                d.name
            ),
        });
    }
    Ok(Some(Interface { controller: Some(bridge), ..d.clone() }))
}

/// Whether NIC `d`, a port of a bridge now (`c`), is declared on its own
/// while that bridge's `ports:` in the file no longer lists it: taken
/// off the bridge (else the bridge's list and the NIC's file disagree and
/// the NIC stays a port).
fn leaves_its_bridge(
    desired: &NetState,
    owners: &std::collections::BTreeMap<String, String>,
    d: &Interface,
    c: &Interface,
) -> bool {
    let Some(bridge) = c.controller.as_deref() else { return false };
    d.kind == Kind::Ethernet
        && d.controller.is_none()
        && d.dynamic.is_none()
        && !owners.contains_key(&d.name)
        && desired.get(bridge).is_some_and(|b| b.kind == Kind::OvsBridge && b.ports.is_some())
}

/// Whether `name` is an OVS bridge that stays: declared present in
/// `desired`, or in OVSDB and not declared absent.
fn bridge_stays(current: &NetState, desired: &NetState, name: &str) -> bool {
    match desired.get(name) {
        Some(d) => d.kind == Kind::OvsBridge && d.state != Some(State::Absent),
        None => current.get(name).is_some_and(|c| c.kind == Kind::OvsBridge),
    }
}

/// Every `controller:` names a bridge there will be.
fn check_controllers(current: &NetState, desired: &NetState) -> Result<(), Invalid> {
    for (i, d) in desired.interfaces.iter().enumerate() {
        // The port agent's attach waits for its bridge (see dynamic_port).
        if d.dynamic == Some(true) || d.state == Some(State::Absent) {
            continue;
        }
        if let Some(c) = d.controller.as_deref().filter(|c| !bridge_stays(current, desired, c)) {
            return Err(Invalid {
                field: format!("interfaces[{i}].controller"),
                message: format!("no OVS bridge named {c}: this file does not declare it and OVSDB has none"),
            });
        }
    }
    Ok(())
}

/// The patch ports of `state`'s bridges: (port, its bridge, its peer).
fn patches(state: &NetState) -> Vec<(&str, &str, &str)> {
    let mut out = Vec::new();
    for b in state.interfaces.iter().filter(|i| i.kind == Kind::OvsBridge) {
        for p in b.ports.iter().flatten() {
            if let PortSpec::Full(PortConfig { name, patch: Some(patch), .. }) = p {
                out.push((name.as_str(), b.name.as_str(), patch.peer.as_str()));
            }
        }
    }
    out
}

/// Every port a bridge's `ports:` lists is there to attach: a link, an
/// interface the file declares, a port the bridge has already, or a patch
/// port whose peer is in the file or in OVSDB. OVS would otherwise take
/// the row and report the port broken only after the change.
fn check_ports_exist(current: &NetState, desired: &NetState) -> Result<(), Invalid> {
    let current_by = current.by_name();
    let declared: HashSet<&str> =
        desired.interfaces.iter().filter(|i| i.state != Some(State::Absent)).map(|i| i.name.as_str()).collect();
    let patch_ports: HashSet<&str> = patches(desired).into_iter().chain(patches(current)).map(|(p, _, _)| p).collect();
    for (i, d) in desired.interfaces.iter().enumerate() {
        let has: HashSet<&str> = current_by
            .get(d.name.as_str())
            .and_then(|c| c.ports.as_ref())
            .into_iter()
            .flatten()
            .flat_map(|p| std::iter::once(p.name()).chain(p.bond_members().iter().map(String::as_str)))
            .collect();
        for (j, p) in d.ports.iter().flatten().enumerate() {
            let field = format!("interfaces[{i}].ports[{j}]");
            if let PortSpec::Full(PortConfig { patch: Some(patch), .. }) = p {
                if !patch_ports.contains(patch.peer.as_str()) {
                    return Err(Invalid {
                        field: format!("{field}.patch.peer"),
                        message: format!(
                            "no patch port named {}: this file does not declare it and OVSDB has none (declare the other end on its bridge too)",
                            patch.peer
                        ),
                    });
                }
                continue;
            }
            let members = p.bond_members();
            let names: Vec<&str> =
                if members.is_empty() { vec![p.name()] } else { members.iter().map(String::as_str).collect() };
            for n in names {
                if !current_by.contains_key(n) && !declared.contains(n) && !has.contains(n) {
                    return Err(Invalid {
                        field: if members.is_empty() { field } else { format!("{field}.bond.ports") },
                        message: format!(
                            "no network device named {n} exists and this file does not declare one \
                             (an internal port is made by declaring it with type: ovs-interface)"
                        ),
                    });
                }
            }
        }
    }
    Ok(())
}

/// A patch port this change removes must not leave its peer behind: the
/// peer would stay in OVSDB, broken (`No usable peer`), on a bridge the
/// change may not even name.
fn check_no_patch_left_dangling(current: &NetState, desired: &NetState) -> Result<(), Invalid> {
    let current_by = current.by_name();
    // The ports each declared bridge loses, and the field that says so.
    let mut removed: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (i, d) in desired.interfaces.iter().enumerate().filter(|(_, d)| d.kind == Kind::OvsBridge) {
        let Some(cur) = current_by.get(d.name.as_str()).copied() else { continue };
        let (kept, field): (HashSet<String>, String) = if d.state == Some(State::Absent) {
            (HashSet::new(), format!("interfaces[{i}].state"))
        } else {
            let Some(wanted) = wanted_ports(desired, d, Some(cur)) else { continue };
            (wanted.iter().map(|p| p.name().to_string()).collect(), format!("interfaces[{i}].ports"))
        };
        for p in cur.ports.iter().flatten().filter(|p| !kept.contains(p.name())) {
            removed.insert(p.name().to_string(), field.clone());
        }
    }
    for a in desired.interfaces.iter().filter(|i| i.state == Some(State::Absent)) {
        removed.entry(a.name.clone()).or_insert_with(|| desired.field_naming(&a.name));
    }
    for (port, bridge, peer) in patches(current) {
        if removed.contains_key(port) {
            continue;
        }
        if let Some(field) = removed.get(peer) {
            return Err(Invalid {
                field: field.clone(),
                message: format!(
                    "removes patch port {peer}, the peer of {port} on {bridge}, which stays and would be left broken: \
                     remove {port} too, or keep {peer}"
                ),
            });
        }
    }
    Ok(())
}

/// The actions turning `current` into `desired`. `owned` says whether an
/// OVS bridge or port was created by portagent (only those are deleted).
pub fn diff(
    current: &NetState,
    desired: &NetState,
    default_dp: &str,
    owned: &dyn Fn(&str) -> bool,
) -> Result<Vec<Action>, Invalid> {
    // Buckets, in apply order.
    let mut buckets: [Vec<Action>; 6] = Default::default();
    let act = |kind, name: &str, body: Value| Action { kind, resource: name.into(), body: body.to_string() };
    let current_by = current.by_name();
    let owners = desired.port_owners();
    for (i, d) in desired.interfaces.iter().enumerate() {
        let cur = current_by.get(d.name.as_str()).copied();
        let inferred;
        let d = match infer_controller(desired, &owners, i, d, cur)? {
            Some(resolved) => {
                inferred = resolved;
                &inferred
            }
            None => d,
        };
        let bridge = d.kind == Kind::OvsBridge;
        if d.dynamic == Some(true) {
            if let Some(a) = dynamic_port(current, d, cur) {
                buckets[if a.kind == ActionKind::Delete { 4 } else { 3 }].push(a);
            }
            continue;
        }
        if d.state == Some(State::Absent) {
            let Some(c) = cur else { continue };
            if c.kind != Kind::Ethernet && !owned(&d.name) && d.force != Some(true) {
                return Err(Invalid {
                    field: format!("interfaces[{i}].state"),
                    message: format!(
                        "{} was not created by portagent; portagent deletes only what it created (force: true to delete it anyway)",
                        d.name
                    ),
                });
            }
            // A NIC is never deleted, but taking it off a bridge is a change
            // of that bridge: only of one portagent created, unless forced.
            if let (Kind::Ethernet, Some(bridge)) = (c.kind, &c.controller)
                && !owned(&d.name)
                && c.dynamic != Some(true)
                && d.force != Some(true)
            {
                return Err(Invalid {
                    field: format!("interfaces[{i}].state"),
                    message: format!(
                        "{} is a port of {bridge}, which portagent did not create; it detaches ports only from its own bridges (force: true to detach it anyway)",
                        d.name
                    ),
                });
            }
            // Forced: the action says so, for apply's own ownership check.
            let body = if d.force == Some(true) { serde_json::json!({"force": true}) } else { Value::Null };
            buckets[if bridge { 5 } else { 4 }].push(act(ActionKind::Delete, &d.name, body));
            continue;
        }
        let ports = if bridge { wanted_ports(desired, d, cur) } else { None };
        match cur {
            None if d.kind == Kind::Ethernet => {
                return Err(Invalid {
                    field: format!("interfaces[{i}].name"),
                    message: format!("no network device named {} exists; an ethernet cannot be created", d.name),
                });
            }
            None => {
                let body = serde_json::to_value(for_create(d, ports, default_dp)).expect("interface serializes");
                buckets[if bridge { 0 } else { 1 }].push(act(ActionKind::Create, &d.name, body));
            }
            Some(c) if c.kind != d.kind => {
                return Err(Invalid {
                    field: format!("interfaces[{i}].type"),
                    message: format!("{} exists as {}, not {}", d.name, kind_name(c.kind), kind_name(d.kind)),
                });
            }
            Some(c) => {
                let mut ch = changes(d, ports.as_ref(), c);
                if leaves_its_bridge(desired, &owners, d, c) {
                    ch.insert("controller".into(), Value::Null);
                }
                if !ch.is_empty() {
                    buckets[if bridge { 2 } else { 3 }].push(act(ActionKind::Modify, &d.name, Value::Object(ch)));
                }
            }
        }
    }
    let desired_by = desired.by_name();
    check_controllers(current, desired)?;
    check_ports_exist(current, desired)?;
    check_no_patch_left_dangling(current, desired)?;
    // Every port must be free to join its bridge: not a bridge itself, and
    // not a port of a bridge this file does not name (that bridge is not
    // this file's to change).
    for (i, d) in desired.interfaces.iter().enumerate() {
        for (j, p) in d.ports.iter().flatten().enumerate() {
            for n in std::iter::once(p.name()).chain(p.bond_members().iter().map(String::as_str)) {
                let Some(c) = current_by.get(n) else { continue };
                let field = format!("interfaces[{i}].ports[{j}]");
                if c.kind == Kind::OvsBridge {
                    return Err(Invalid {
                        field,
                        message: format!(
                            "{n} is an OVS bridge; a bridge cannot be a port of another (use a patch port)"
                        ),
                    });
                }
                if let Some(other) = c.controller.as_deref().filter(|o| *o != d.name && !desired_by.contains_key(o)) {
                    return Err(Invalid {
                        field,
                        message: format!(
                            "{n} is a port of {other}, which this file does not name: detach it there first, or list {other} here too"
                        ),
                    });
                }
            }
        }
    }
    // Ports named only in a bridge's `ports:` list: attach existing ones.
    for (port, bridge) in desired.port_owners() {
        if desired_by.contains_key(port.as_str()) {
            continue;
        }
        if let Some(c) = current_by.get(port.as_str())
            && c.controller.as_deref() != Some(bridge.as_str())
        {
            buckets[3].push(act(ActionKind::Modify, &port, json!({"controller": bridge})));
        }
    }
    Ok(buckets.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::parse;
    use serde_json::json;

    fn state(v: Value) -> NetState {
        parse(&v.to_string()).unwrap()
    }

    fn summary(actions: &[Action]) -> Vec<String> {
        actions
            .iter()
            .map(|a| {
                let kind = match a.kind {
                    ActionKind::Create => "Create",
                    ActionKind::Modify => "Modify",
                    ActionKind::Delete => "Delete",
                };
                format!("{kind} {} {}", a.resource, a.body)
            })
            .collect()
    }

    fn current() -> NetState {
        state(json!({"interfaces": [
            {"name": "eth0", "type": "ethernet", "state": "up", "mtu": 1500,
             "ipv4": {"enabled": false, "dhcp": false, "address": [], "dns": []},
             "ipv6": {"enabled": false, "dhcp": false, "address": [], "dns": []}}
        ]}))
    }

    #[test]
    fn guide_example_from_empty() {
        let desired = state(json!({"interfaces": [
            {"name": "ovsbr0", "type": "ovs-bridge", "ports": ["eth0"],
             "ipv4": {"enabled": true, "dhcp": false, "address": [{"ip": "192.168.1.100", "prefix": 24}], "gateway": "192.168.1.1"}},
            {"name": "eth0", "type": "ethernet", "controller": "ovsbr0", "ipv4": {"enabled": false}}
        ]}));
        let a = diff(&current(), &desired, "netdev", &|_| true).unwrap();
        let s = summary(&a);
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(
            s[0].starts_with("Create ovsbr0 ")
                && s[0].contains("\"datapath_type\":\"netdev\"")
                && s[0].contains("\"ports\":[\"eth0\"]"),
            "{s:?}"
        );
        assert_eq!(s[1], "Modify eth0 {\"controller\":\"ovsbr0\"}");
    }

    #[test]
    fn equal_state_gives_no_actions() {
        assert!(diff(&current(), &current(), "system", &|_| true).unwrap().is_empty());
    }

    #[test]
    fn deletion_order_and_ownership() {
        let cur = state(json!({"interfaces": [
            {"name": "br", "type": "ovs-bridge", "ports": ["p1"]},
            {"name": "p1", "type": "ovs-interface", "controller": "br"}
        ]}));
        let desired = state(json!({"interfaces": [
            {"name": "br", "type": "ovs-bridge", "state": "absent"},
            {"name": "p1", "type": "ovs-interface", "state": "absent"}
        ]}));
        let s = summary(&diff(&cur, &desired, "system", &|_| true).unwrap());
        assert_eq!(s, ["Delete p1 null", "Delete br null"]);
        let e = diff(&cur, &desired, "system", &|n| n != "br").unwrap_err();
        assert_eq!(e.field, "interfaces[0].state");
        assert!(e.message.contains("force: true"), "{}", e.message);
        let forced =
            state(json!({"interfaces": [{"name": "br", "type": "ovs-bridge", "state": "absent", "force": true}]}));
        let s = summary(&diff(&cur, &forced, "system", &|n| n != "br").unwrap());
        assert_eq!(s, ["Delete br {\"force\":true}"]);
    }

    #[test]
    fn one_changed_address_is_one_modify() {
        let cur = state(json!({"interfaces": [{"name": "br", "type": "ovs-bridge", "ports": [], "state": "up",
            "ipv4": {"enabled": true, "dhcp": false, "address": [{"ip": "10.0.0.1", "prefix": 24}], "dns": []}}]}));
        let desired = state(json!({"interfaces": [{"name": "br", "type": "ovs-bridge",
            "ipv4": {"enabled": true, "address": [{"ip": "10.0.0.2", "prefix": 24}]}}]}));
        let s = summary(&diff(&cur, &desired, "system", &|_| true).unwrap());
        assert_eq!(s, ["Modify br {\"ipv4.address\":[{\"ip\":\"10.0.0.2\",\"prefix\":24}]}"]);
    }

    /// A bridge with eth0 from the file and veth1 the port agent attached.
    fn with_dynamic_port() -> NetState {
        state(json!({"interfaces": [
            {"name": "ovsbr0", "type": "ovs-bridge", "state": "up", "ports": ["eth0", {"name": "veth1", "dynamic": true}]},
            {"name": "eth0", "type": "ethernet", "state": "up", "controller": "ovsbr0"},
            {"name": "veth1", "type": "ethernet", "state": "down", "controller": "ovsbr0", "dynamic": true},
            {"name": "veth2", "type": "ethernet", "state": "down"}
        ]}))
    }

    #[test]
    fn dynamic_ports_stay_unless_the_file_names_them() {
        let cur = with_dynamic_port();
        let file = state(json!({"interfaces": [{"name": "ovsbr0", "type": "ovs-bridge", "ports": ["eth0"]}]}));
        assert_eq!(summary(&diff(&cur, &file, "system", &|_| true).unwrap()), Vec::<String>::new());
        // Named plainly: the file's now (the tag changes, nothing detaches).
        let adopt =
            state(json!({"interfaces": [{"name": "ovsbr0", "type": "ovs-bridge", "ports": ["eth0", "veth1"]}]}));
        assert_eq!(
            summary(&diff(&cur, &adopt, "system", &|_| true).unwrap()),
            ["Modify ovsbr0 {\"ports\":[\"eth0\",\"veth1\"]}"]
        );
        // The file drops it by naming it absent.
        let gone = state(json!({"interfaces": [{"name": "ovsbr0", "type": "ovs-bridge", "ports": ["eth0"]},
            {"name": "veth1", "type": "ethernet", "state": "absent"}]}));
        let s = summary(&diff(&cur, &gone, "system", &|_| false).unwrap());
        assert_eq!(s, ["Modify ovsbr0 {\"ports\":[\"eth0\"]}", "Delete veth1 null"]);
    }

    #[test]
    fn one_dynamic_port_is_attached_or_detached_alone() {
        let cur = with_dynamic_port();
        let attach = |name: &str| {
            state(json!({"interfaces": [{"name": name, "type": "ethernet", "controller": "ovsbr0", "dynamic": true}]}))
        };
        let detach = |name: &str| {
            state(json!({"interfaces": [{"name": name, "type": "ethernet", "state": "absent", "dynamic": true}]}))
        };
        let run = |d: &NetState| summary(&diff(&cur, d, "system", &|_| false).unwrap());
        // Only the port: its link state stays its owner's.
        assert_eq!(run(&attach("veth2")), ["Modify veth2 {\"controller\":\"ovsbr0\",\"dynamic\":true}"]);
        // Asked again, or for a port that is the file's, or for a link that is gone: nothing.
        for name in ["veth1", "eth0", "gone0"] {
            assert_eq!(run(&attach(name)), Vec::<String>::new(), "{name}");
        }
        // Detached, although portagent did not make the bridge: it is the agent's port.
        assert_eq!(run(&detach("veth1")), ["Delete veth1 null"]);
        assert_eq!(run(&detach("eth0")), Vec::<String>::new(), "eth0 is the file's");
        // Its link gone, the agent's port is still detached.
        let mut gone = cur.clone();
        gone.interfaces.retain(|i| i.name != "veth1");
        assert_eq!(summary(&diff(&gone, &detach("veth1"), "system", &|_| false).unwrap()), ["Delete veth1 null"]);
        // Asked by name without `dynamic` (del_port), it is detached too.
        let del = state(json!({"interfaces": [{"name": "veth1", "type": "ethernet", "state": "absent"}]}));
        assert_eq!(run(&del), ["Delete veth1 null"]);
        let del = state(json!({"interfaces": [{"name": "eth0", "type": "ethernet", "state": "absent"}]}));
        assert!(diff(&cur, &del, "system", &|_| false).is_err(), "eth0 is not the agent's");
    }

    #[test]
    fn a_named_attach_renames_a_free_link_or_the_agents_own_port() {
        let cur = with_dynamic_port();
        let named = |raw: &str| {
            state(json!({"interfaces": [{"name": "vi100", "type": "ethernet", "controller": "ovsbr0",
                "dynamic": true, "rename_from": raw}]}))
        };
        let run = |d: &NetState| summary(&diff(&cur, d, "system", &|_| false).unwrap());
        let body = |raw: &str| {
            format!("Modify vi100 {{\"controller\":\"ovsbr0\",\"dynamic\":true,\"rename_from\":\"{raw}\"}}")
        };
        assert_eq!(run(&named("veth2")), [body("veth2")], "a free link");
        assert_eq!(run(&named("veth1")), [body("veth1")], "the agent's own port");
        assert_eq!(run(&named("eth0")), Vec::<String>::new(), "the file's port is never taken");
        // Keeping its name, with the template's name beside it.
        let alias = state(json!({"interfaces": [{"name": "veth2", "type": "ethernet", "controller": "ovsbr0",
            "dynamic": true, "alias": "vi100"}]}));
        assert_eq!(run(&alias), ["Modify veth2 {\"alias\":\"vi100\",\"controller\":\"ovsbr0\",\"dynamic\":true}"]);
    }

    /// A bridge with a bond of eth1 and eth2, a trunk and a patch port
    /// to br1's.
    fn with_bond_trunk_and_patch() -> NetState {
        state(json!({"interfaces": [
            {"name": "br0", "type": "ovs-bridge", "state": "up", "ports": [
                {"name": "bond0", "bond": {"mode": "balance-slb", "ports": ["eth1", "eth2"]}},
                {"name": "eth3", "vlan": {"mode": "trunk", "trunks": [10, 20]}},
                {"name": "patch0", "patch": {"peer": "patch1"}}]},
            {"name": "br1", "type": "ovs-bridge", "state": "up", "ports": [{"name": "patch1", "patch": {"peer": "patch0"}}]},
            {"name": "eth1", "type": "ethernet", "controller": "br0"},
            {"name": "eth2", "type": "ethernet", "controller": "br0"},
            {"name": "eth3", "type": "ethernet", "controller": "br0"},
            {"name": "eth4", "type": "ethernet"},
            {"name": "int0", "type": "ovs-interface", "controller": "br1", "mtu": 1500, "state": "up"}
        ]}))
    }

    #[test]
    fn sets_in_any_order_are_the_same_state() {
        let cur = with_bond_trunk_and_patch();
        let reordered = state(json!({"interfaces": [{"name": "br0", "type": "ovs-bridge", "ports": [
            {"name": "patch0", "patch": {"peer": "patch1"}},
            {"name": "eth3", "vlan": {"mode": "trunk", "trunks": [20, 10, 20]}},
            {"name": "bond0", "bond": {"mode": "balance-slb", "ports": ["eth2", "eth1"]}}]}]}));
        assert_eq!(summary(&diff(&cur, &reordered, "system", &|_| true).unwrap()), Vec::<String>::new());
        // From empty, the action carries them sorted (what OVS reads back).
        let mut empty = cur.clone();
        empty.interfaces.retain(|i| i.name != "br0");
        let s = summary(&diff(&empty, &reordered, "system", &|_| true).unwrap());
        assert!(s[0].contains("[\"eth1\",\"eth2\"]") && s[0].contains("[10,20]"), "{s:?}");
    }

    #[test]
    fn an_ovs_interface_finds_its_bridge_in_ovsdb_or_in_a_bridges_ports() {
        let cur = with_bond_trunk_and_patch();
        let mtu = state(json!({"interfaces": [{"name": "int0", "type": "ovs-interface", "mtu": 1400}]}));
        assert_eq!(summary(&diff(&cur, &mtu, "system", &|_| true).unwrap()), ["Modify int0 {\"mtu\":1400}"]);
        let listed = state(json!({"interfaces": [{"name": "br1", "type": "ovs-bridge", "ports": ["patch1", "int1"]},
            {"name": "int1", "type": "ovs-interface", "mtu": 1400}]}));
        let s = summary(&diff(&cur, &listed, "system", &|_| true).unwrap());
        assert!(s.iter().any(|a| a.starts_with("Create int1 ") && a.contains("\"controller\":\"br1\"")), "{s:?}");
        let cases = [
            // New, and no bridge says where.
            (
                json!({"interfaces": [{"name": "int9", "type": "ovs-interface"}]}),
                "interfaces[0].controller",
                "say controller:",
            ),
            // On br1 in OVSDB, but the file's br1 does not list it.
            (
                json!({"interfaces": [{"name": "br1", "type": "ovs-bridge", "ports": [{"name": "patch1", "patch": {"peer": "patch0"}}]},
                    {"name": "int0", "type": "ovs-interface", "mtu": 1400}]}),
                "interfaces[1].controller",
                "do not list it",
            ),
            // A bridge that is nowhere.
            (
                json!({"interfaces": [{"name": "int9", "type": "ovs-interface", "controller": "br9"}]}),
                "interfaces[0].controller",
                "no OVS bridge named br9",
            ),
            (
                json!({"interfaces": [{"name": "eth4", "type": "ethernet", "controller": "br9"}]}),
                "interfaces[0].controller",
                "br9",
            ),
        ];
        for (file, field, says) in cases {
            let e = diff(&cur, &state(file.clone()), "system", &|_| true).unwrap_err();
            assert_eq!(e.field, field, "{file}: {}", e.message);
            assert!(e.message.contains(says), "{file}: {}", e.message);
        }
    }

    #[test]
    fn ports_that_cannot_be_attached_are_refused_before_the_change() {
        let cur = with_bond_trunk_and_patch();
        let br = |ports: Value| state(json!({"interfaces": [{"name": "br1", "type": "ovs-bridge", "ports": ports}]}));
        let cases = [
            (br(json!([{"name": "patch1", "patch": {"peer": "patch0"}}, "eth9"])), "interfaces[0].ports[1]", "eth9"),
            (
                br(
                    json!([{"name": "patch1", "patch": {"peer": "patch0"}}, {"name": "b1", "bond": {"mode": "active-backup", "ports": ["eth4", "eth8"]}}]),
                ),
                "interfaces[0].ports[1].bond.ports",
                "eth8",
            ),
            (
                br(
                    json!([{"name": "patch1", "patch": {"peer": "patch0"}}, {"name": "p9", "patch": {"peer": "falsepatch"}}]),
                ),
                "interfaces[0].ports[1].patch.peer",
                "falsepatch",
            ),
            // Dropping patch1 would leave br0's patch0 broken.
            (br(json!(["eth4"])), "interfaces[0].ports", "patch0 on br0"),
            (
                state(json!({"interfaces": [{"name": "br1", "type": "ovs-bridge", "state": "absent"}]})),
                "interfaces[0].state",
                "patch0 on br0",
            ),
        ];
        for (file, field, says) in cases {
            let e = diff(&cur, &file, "system", &|_| true).unwrap_err();
            assert_eq!(e.field, field, "{}", e.message);
            assert!(e.message.contains(says), "{}", e.message);
        }
        // Both ends go, or a new pair comes, or a listed port is there already: fine.
        let both = state(json!({"interfaces": [
            {"name": "br0", "type": "ovs-bridge", "ports": [{"name": "bond0", "bond": {"mode": "balance-slb", "ports": ["eth1", "eth2"]}}, "eth3"]},
            {"name": "br1", "type": "ovs-bridge", "ports": ["eth4"]}]}));
        assert!(diff(&cur, &both, "system", &|_| true).is_ok());
        let pair = state(json!({"interfaces": [
            {"name": "br1", "type": "ovs-bridge", "ports": [{"name": "patch1", "patch": {"peer": "patch0"}}, {"name": "pa", "patch": {"peer": "pb"}}, {"name": "pb", "patch": {"peer": "pa"}}]}]}));
        assert!(diff(&cur, &pair, "system", &|_| true).is_ok());
    }

    #[test]
    fn a_nic_dropped_from_its_bridges_ports_and_declared_alone_leaves_the_bridge() {
        let cur = with_bond_trunk_and_patch();
        let alone = state(json!({"interfaces": [
            {"name": "br0", "type": "ovs-bridge", "ports": [{"name": "bond0", "bond": {"mode": "balance-slb", "ports": ["eth1", "eth2"]}},
                {"name": "patch0", "patch": {"peer": "patch1"}}]},
            {"name": "eth3", "type": "ethernet", "ipv4": {"address": [{"ip": "10.3.0.1", "prefix": 24}]}}]}));
        let s = summary(&diff(&cur, &alone, "system", &|_| true).unwrap());
        let eth3 = s.iter().find(|a| a.starts_with("Modify eth3 ")).unwrap_or_else(|| panic!("{s:?}"));
        assert!(eth3.contains("\"controller\":null"), "{s:?}");
        // Declared alone but the bridge is not in the file: left as it is.
        let only_nic = state(json!({"interfaces": [{"name": "eth3", "type": "ethernet", "mtu": 1400}]}));
        let s = summary(&diff(&cur, &only_nic, "system", &|_| true).unwrap());
        assert!(!s.iter().any(|a| a.contains("controller")), "{s:?}");
    }

    #[test]
    fn missing_ethernet_and_kind_clash_are_invalid() {
        let desired = state(json!({"interfaces": [{"name": "eth9", "type": "ethernet"}]}));
        assert_eq!(diff(&current(), &desired, "system", &|_| true).unwrap_err().field, "interfaces[0].name");
        let desired = state(json!({"interfaces": [{"name": "eth0", "type": "ovs-bridge"}]}));
        assert_eq!(diff(&current(), &desired, "system", &|_| true).unwrap_err().field, "interfaces[0].type");
    }
}
