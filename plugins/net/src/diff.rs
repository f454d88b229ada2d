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
    for (i, d) in desired.interfaces.iter().enumerate() {
        let cur = current_by.get(d.name.as_str()).copied();
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
                let ch = changes(d, ports.as_ref(), c);
                if !ch.is_empty() {
                    buckets[if bridge { 2 } else { 3 }].push(act(ActionKind::Modify, &d.name, Value::Object(ch)));
                }
            }
        }
    }
    // Every port must be free to join its bridge: not a bridge itself, and
    // not a port of a bridge this file does not name (that bridge is not
    // this file's to change).
    let desired_by = desired.by_name();
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

    #[test]
    fn missing_ethernet_and_kind_clash_are_invalid() {
        let desired = state(json!({"interfaces": [{"name": "eth9", "type": "ethernet"}]}));
        assert_eq!(diff(&current(), &desired, "system", &|_| true).unwrap_err().field, "interfaces[0].name");
        let desired = state(json!({"interfaces": [{"name": "eth0", "type": "ovs-bridge"}]}));
        assert_eq!(diff(&current(), &desired, "system", &|_| true).unwrap_err().field, "interfaces[0].type");
    }
}
