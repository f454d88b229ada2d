//! Carrying out actions: the whole OVS part in one guarded transaction;
//! the networkd files (rendered from what was declared, never from
//! incidental live values) written while ovs-vswitchd carries it out; and
//! once it has, one reload, after which networkd reconfigures exactly the
//! links whose file changed, while the links that need nothing but
//! addresses are set up in the kernel at once.

use crate::kernel;
use crate::live::Live;
use crate::model::{Interface, Kind, PortConfig};
use crate::networkd;
use crate::ovs::{BridgeTxn, NewPort, Txn, WHO};
use portagent_sdk::{Action, ActionKind, PluginError, networkd as nd};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

fn bad_action(a: &Action, why: impl std::fmt::Display) -> PluginError {
    PluginError::Failed(format!("action on {}: {why}", a.resource))
}

/// Sets `path` (dotted) in a JSON object.
fn set_path(obj: &mut Value, path: &str, value: Value) {
    let mut at = obj;
    let mut parts = path.split('.').peekable();
    while let Some(part) = parts.next() {
        if parts.peek().is_none() {
            at[part] = value;
            return;
        }
        if !at[part].is_object() {
            at[part] = Value::Object(Default::default());
        }
        at = &mut at[part];
    }
}

/// Applies one action's body to `base` (Create replaces, Modify merges the
/// dotted changes).
fn merged(base: &Interface, a: &Action) -> Result<Interface, PluginError> {
    let body: Value = serde_json::from_str(&a.body).map_err(|e| bad_action(a, e))?;
    if a.kind == ActionKind::Create {
        return serde_json::from_value(body).map_err(|e| bad_action(a, e));
    }
    let mut json = serde_json::to_value(base).expect("interface serializes");
    for (k, v) in body.as_object().ok_or_else(|| bad_action(a, "changes are not an object"))? {
        // Not a field: the file is written again from what is declared.
        if k != crate::networkd::FILE_KEY {
            set_path(&mut json, k, v.clone());
        }
    }
    serde_json::from_value(json).map_err(|e| bad_action(a, e))
}

/// What the file of `name` declares after `a`: the previous declaration
/// (or, for a first file, the live IP configuration, so nothing the link
/// has is dropped) with the action applied.
fn declared(live: &Live, current: &Interface, a: &Action) -> Result<Interface, PluginError> {
    let base = match live.files.get(&a.resource).and_then(|f| f.declared.clone()) {
        Some(d) => d,
        None => Interface {
            state: None,
            mtu: None,
            ports: None,
            datapath_type: None,
            stp: None,
            rstp: None,
            fail_mode: None,
            ..current.clone()
        },
    };
    merged(&base, a)
}

/// The interfaces after the actions, starting from the live state.
fn target(
    current: Vec<Interface>,
    actions: &[Action],
) -> Result<(BTreeMap<String, Interface>, BTreeSet<String>), PluginError> {
    let mut target: BTreeMap<String, Interface> = current.into_iter().map(|i| (i.name.clone(), i)).collect();
    let mut deleted = BTreeSet::new();
    for a in actions {
        match a.kind {
            ActionKind::Create => {
                let iface = merged(target.get(&a.resource).unwrap_or(&placeholder(a)), a)?;
                target.insert(a.resource.clone(), iface);
            }
            ActionKind::Modify => {
                // A link renamed on the way (the port agent's): as it was.
                if let Some(raw) = rename_of(a)
                    && !target.contains_key(&a.resource)
                    && let Some(mut old) = target.remove(&raw)
                {
                    old.name = a.resource.clone();
                    target.insert(a.resource.clone(), old);
                    // A port under the old name (the agent's) goes with it.
                    deleted.insert(raw);
                }
                let cur = target.get(&a.resource).ok_or_else(|| bad_action(a, "no such interface"))?;
                let iface = merged(cur, a)?;
                target.insert(a.resource.clone(), iface);
            }
            ActionKind::Delete => {
                target.remove(&a.resource);
                deleted.insert(a.resource.clone());
            }
        }
    }
    Ok((target, deleted))
}

/// The link an action renames to its resource, if it does.
fn rename_of(a: &Action) -> Option<String> {
    let body: Value = serde_json::from_str(&a.body).ok()?;
    body["rename_from"].as_str().map(str::to_string)
}

/// Whether `a` changes an IP setting (what networkd's file is about,
/// unlike a bridge's ports).
fn changes_ip(a: &Action) -> bool {
    serde_json::from_str::<Value>(&a.body)
        .ok()
        .and_then(|b| b.as_object().map(|o| o.keys().any(|k| k.starts_with("ipv4") || k.starts_with("ipv6"))))
        .unwrap_or(false)
}

/// A stand-in base for a Create (whose body replaces it whole).
fn placeholder(a: &Action) -> Interface {
    Interface::new(&a.resource, Kind::OvsBridge)
}

/// Whether `a` is the port agent's attach of a link (`dynamic: true` with
/// a controller).
fn is_dynamic_attach(a: &Action) -> bool {
    a.kind == ActionKind::Modify
        && serde_json::from_str::<Value>(&a.body).is_ok_and(|b| b["dynamic"] == true && b["controller"].is_string())
}

pub fn apply(actions: &[Action]) -> Result<Vec<String>, PluginError> {
    if actions.is_empty() {
        return Ok(vec![]);
    }
    let live = Live::read()?;
    // Someone else (a hypervisor's `ovs-vsctl --may-exist add-port`) may
    // have plugged a link since the diff: the agent never moves or
    // replaces such a port, it leaves it where it is.
    let raced: Vec<&str> = actions
        .iter()
        .filter(|a| {
            // A port of that name someone else made (the agent's own, under
            // its raw name, is renamed: that is the agent's to do).
            let plugged = |name: &str| {
                live.ovs.iface(name).is_some()
                    && !live.ovs.bridge_of(name).and_then(|b| b.port(name)).is_some_and(|p| p.dynamic)
            };
            is_dynamic_attach(a) && (plugged(&a.resource) || rename_of(a).is_some_and(|raw| plugged(&raw)))
        })
        .map(|a| a.resource.as_str())
        .collect();
    for name in &raced {
        portagent_sdk::log::info(&format!("{name} was attached by someone else meanwhile; left where it is"));
    }
    let kept: Vec<Action>;
    let actions = if raced.is_empty() {
        actions
    } else {
        kept = actions.iter().filter(|a| !raced.contains(&a.resource.as_str())).cloned().collect();
        if kept.is_empty() {
            return Ok(vec![]);
        }
        kept.as_slice()
    };
    let current = live.state();
    let (target, deleted) = target(current.interfaces.clone(), actions)?;
    let touched: BTreeSet<&str> = actions.iter().map(|a| a.resource.as_str()).collect();
    crate::guard::take(&live, &touched);
    let created: BTreeSet<&str> =
        actions.iter().filter(|a| a.kind == ActionKind::Create).map(|a| a.resource.as_str()).collect();
    let port_kind = |name: &str| match target.get(name).map(|i| i.kind) {
        Some(Kind::OvsInterface) => "internal",
        _ => "",
    };
    let mtu_of = |name: &str| target.get(name).and_then(|i| i.mtu);

    // --- The port agent's links get their names first (the ports are
    // named after them); a failure is undone by restore (checkpoint.rs
    // keeps every link's name).
    for a in actions {
        if let Some(raw) = rename_of(a) {
            portagent_sdk::netlink::rename_link(&raw, &a.resource)?;
        }
    }

    // --- OVS: one transaction for everything.
    let mut txn = Txn::new(&live.ovs.root, WHO);
    let mut detached: Vec<(String, String)> = Vec::new(); // (port, bridge)
    for name in &created {
        let Some(b) = target.get(*name).filter(|i| i.kind == Kind::OvsBridge) else { continue };
        let ports: Vec<NewPort> = b
            .ports
            .iter()
            .flatten()
            .map(|p| {
                let kind = port_kind(p.name());
                let mtu = mtu_of(p.name()).filter(|_| kind == "internal");
                NewPort { config: p.config(), kind: kind.to_string(), owned: true, mtu }
            })
            .collect();
        txn.create_bridge(&b.name, b.datapath_type.as_deref().unwrap_or("system"), b.mtu, true, &ports);
        txn.set_bridge_options(&b.name, b.stp.filter(|s| *s), b.rstp.filter(|s| *s), b.fail_mode.map(Some));
    }
    for bridge in &live.ovs.bridges {
        if deleted.contains(&bridge.name) {
            let forced = actions.iter().any(|a| {
                a.kind == ActionKind::Delete
                    && a.resource == bridge.name
                    && serde_json::from_str::<serde_json::Value>(&a.body).is_ok_and(|b| b["force"] == true)
            });
            if !bridge.owned && !forced {
                return Err(PluginError::Failed(format!(
                    "{} was not created by portagent; not deleting it",
                    bridge.name
                )));
            }
            txn.guard_ports(bridge);
            txn.delete_bridge(&bridge.uuid);
            detached.extend(bridge.port_names().into_iter().map(|p| (p, bridge.name.clone())));
            continue;
        }
        let Some(t) = target.get(&bridge.name) else { continue };
        // The wanted ports by name, with their settings.
        let mut want: BTreeMap<String, PortConfig> =
            t.ports.iter().flatten().map(|p| (p.name().to_string(), p.config())).collect();
        let members: BTreeSet<String> =
            want.values().filter_map(|c| c.bond.as_ref()).flat_map(|b| b.ports.clone()).collect();
        for (name, iface) in &target {
            if touched.contains(name.as_str()) && !members.contains(name) {
                match &iface.controller {
                    Some(c) if c == &bridge.name => {
                        want.entry(name.clone())
                            .or_insert_with(|| PortConfig { name: name.clone(), ..Default::default() });
                        let port = want.get_mut(name).expect("just inserted");
                        port.dynamic = iface.dynamic.filter(|d| *d);
                        if iface.dynamic == Some(true) {
                            port.alias = iface.alias.clone();
                        }
                    }
                    Some(_) => {
                        want.remove(name);
                    }
                    None => {}
                }
            }
        }
        want.retain(|p, _| !deleted.contains(p));
        let have: BTreeMap<String, PortConfig> =
            bridge.ports.iter().filter(|p| p.name != bridge.name).map(|p| (p.name.clone(), p.config())).collect();
        let bridge_touched = touched.contains(bridge.name.as_str());
        if want == have && !bridge_touched {
            continue;
        }
        let mut guarded = false;
        let mut guard = |txn: &mut Txn| {
            if !guarded {
                txn.guard_ports(bridge);
                guarded = true;
            }
        };
        for (name, cfg) in &want {
            let kind = port_kind(name);
            let mtu = mtu_of(name).filter(|_| kind == "internal");
            match (have.get(name), bridge.port(name)) {
                (None, _) => {
                    guard(&mut txn);
                    // The agent's port: only while nobody else has plugged
                    // the link, checked by OVSDB itself at commit.
                    if cfg.dynamic == Some(true) {
                        txn.guard_unattached(name);
                    }
                    txn.add_port(&bridge.name, cfg, kind, mtu, true);
                }
                (Some(old), Some(row)) if old != cfg => {
                    guard(&mut txn);
                    txn.update_port(row, cfg, kind, true);
                }
                _ => {}
            }
        }
        for name in have.keys().filter(|p| !want.contains_key(*p)) {
            guard(&mut txn);
            txn.remove_port(&bridge.name, &bridge.port(name).expect("port read from this bridge").uuid);
            detached.push((name.clone(), bridge.name.clone()));
        }
        if bridge_touched {
            let have_dp = if bridge.datapath_type.is_empty() { "system" } else { bridge.datapath_type.as_str() };
            if let Some(dp) = t.datapath_type.as_deref().filter(|dp| *dp != have_dp) {
                txn.set_datapath_type(&bridge.name, dp);
            }
            let differs = |want: Option<bool>, have: bool| want.filter(|w| *w != have);
            let fail_mode = t.fail_mode.filter(|f| Some(*f) != bridge.fail_mode).map(Some);
            txn.set_bridge_options(&bridge.name, differs(t.stp, bridge.stp), differs(t.rstp, bridge.rstp), fail_mode);
        }
    }
    for name in &touched {
        let Some(t) = target.get(*name).filter(|i| i.kind != Kind::Ethernet) else { continue };
        if let (Some(mtu), false) = (t.mtu, created.contains(name))
            && live.ovs.iface(name).and_then(|i| i.mtu_request) != Some(mtu)
            && live.link(name).map(|l| l.mtu) != Some(mtu)
        {
            txn.set_mtu_request(name, Some(mtu));
        }
    }
    // Committed: from here on a failure is undone by restore. The files
    // are written while ovs-vswitchd carries the change out (creating
    // 1,000 files costs as much as ovs-vswitchd's work on this bench's
    // churned ext4), but networkd reads them only at the reload, once
    // ovs-vswitchd is done: a link networkd configures while ovs-vswitchd
    // still sets it up can end `failed` (seen: the bridge's default
    // route), and networkd does not retry by itself.
    let applying = txn.commit()?;

    // --- networkd files.
    let mut changed_links: BTreeSet<String> = BTreeSet::new();
    let mut setups = Vec::new();
    // Links whose addresses differ from their unchanged file: changed by
    // hand since. A reload would not touch them.
    let mut drifted = Vec::new();
    for a in actions {
        let wrote = match (a.kind, current.get(&a.resource)) {
            (ActionKind::Delete, _) => networkd::remove(&a.resource)?,
            // A dynamic port is only attached: its link is its owner's.
            _ if target.get(&a.resource).is_some_and(|i| i.dynamic == Some(true)) => false,
            (_, cur) => {
                let base = cur.cloned().unwrap_or_else(|| placeholder(a));
                let declared = declared(&live, &base, a)?;
                let wrote = networkd::write(&a.resource, &networkd::render(&declared))?;
                let drift = !wrote && cur.is_some() && live.link(&a.resource).is_some() && changes_ip(a);
                if wrote || drift {
                    match kernel::setup(&declared) {
                        Some(setup) => setups.push(setup),
                        None if drift => drifted.push(a.resource.clone()),
                        None => {}
                    }
                }
                wrote
            }
        };
        if wrote {
            changed_links.insert(a.resource.clone());
        }
    }
    // Ports that left a bridge lose the port-only file portagent gave them.
    for (port, bridge) in detached {
        let ours = live
            .files
            .get(&port)
            .and_then(|f| f.declared.as_ref())
            .is_some_and(|d| d.controller.as_deref() == Some(bridge.as_str()));
        if ours && !touched.contains(port.as_str()) && networkd::remove(&port)? {
            changed_links.insert(port);
        }
    }
    applying.wait()?;
    // networkd reconfigures exactly the links whose file was added,
    // changed or removed; an extra `reconfigure` would configure them twice.
    if !changed_links.is_empty() {
        nd::reload()?;
    }
    // A link that another plugin gave DNS settings at run time (netcfg
    // does, to spare the link a reconfigure) takes them from its files
    // again: networkd has just read those, drop-ins included, and a
    // run-time setting would hide a change of this file's `DNS=`.
    // A link this apply deleted (a bridge, an internal port) has nothing
    // to revert, though another plugin's drop-in may still name it.
    for link in
        changed_links.iter().filter(|l| !deleted.contains(*l) && live.link(l).is_some() && networkd::has_drop_ins(l))
    {
        match nd::revert_link_dns(link) {
            // Gone meanwhile: nothing to revert either.
            Err(portagent_sdk::CapError::NotFound(_)) => {}
            other => other?,
        }
    }
    // The links that need nothing but being up with static addresses get
    // them now (see kernel.rs). After the reload: by then networkd has
    // taken the links and counts these addresses as asked for by their
    // files; before it, it would drop them as foreign, then add them again.
    if !setups.is_empty() {
        portagent_sdk::netlink::set_up_links(&setups)?;
    }
    // As an admin would: `networkctl reconfigure` puts back what its file says.
    for link in &drifted {
        nd::reconfigure(link)?;
    }
    Ok(touched.into_iter().map(str::to_string).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ip_changes_are_told_from_ovs_ones() {
        let modify = |body: serde_json::Value| Action {
            kind: ActionKind::Modify,
            resource: "ovsbr0".into(),
            body: body.to_string(),
        };
        assert!(changes_ip(&modify(json!({"ipv4.address": [], "ipv4.enabled": true}))));
        assert!(changes_ip(&modify(json!({"ipv6.dhcp": true}))));
        assert!(!changes_ip(&modify(json!({"ports": ["eth0"], "stp": true}))));
    }

    /// OVSDB with the owned bridge `br0`: its internal port, and `foreign`
    /// ports (name, tag) someone else (a hypervisor) plugged into it, as
    /// the fake host answers it. With `frozen`, any change fails the test.
    fn br0_with(
        foreign: &'static [(&'static str, u16)],
        frozen: bool,
    ) -> impl FnMut(&serde_json::Value) -> Result<serde_json::Value, portagent_sdk::CapError> {
        move |ops| {
            let owned = json!(["map", [["portagent", "owned"]]]);
            let none = json!(["set", []]);
            let port = |name: &str, tag: Value, ids: &Value| {
                json!({"_uuid": ["uuid", format!("p-{name}")], "name": name, "interfaces": ["uuid", format!("i-{name}")],
                    "tag": tag, "trunks": none, "vlan_mode": none, "bond_mode": none, "external_ids": ids})
            };
            let iface = |name: &str, kind: &str, ofport: usize| {
                json!({"_uuid": ["uuid", format!("i-{name}")], "name": name, "type": kind, "mtu_request": none,
                    "error": none, "ofport": ofport, "options": ["map", []]})
            };
            let mut ports = vec![port("br0", none.clone(), &owned)];
            let mut ifaces = vec![iface("br0", "internal", 1)];
            for (i, (name, tag)) in foreign.iter().enumerate() {
                ports.push(port(name, json!(tag), &json!(["map", []])));
                ifaces.push(iface(name, "", i + 2));
            }
            let refs: Vec<Value> = ports.iter().map(|p| p["_uuid"].clone()).collect();
            Ok(Value::Array(
                ops.as_array()
                    .unwrap()
                    .iter()
                    .map(|op| match (op["op"].as_str(), op["table"].as_str()) {
                        (Some("select"), Some("Open_vSwitch")) => {
                            json!({"rows": [{"_uuid": ["uuid", "root"], "cur_cfg": 1, "next_cfg": 1}]})
                        }
                        (Some("select"), Some("Bridge")) => json!({"rows": [{"_uuid": ["uuid", "b1"], "name": "br0",
                            "ports": ["set", refs], "datapath_type": "netdev", "external_ids": owned,
                            "stp_enable": false, "rstp_enable": false, "fail_mode": none}]}),
                        (Some("select"), Some("Port")) => json!({"rows": ports}),
                        (Some("select"), Some("Interface")) => json!({"rows": ifaces}),
                        (op, table) if frozen && op != Some("select") => {
                            panic!("changed OVSDB: {op:?} on {table:?}")
                        }
                        _ => json!({}),
                    })
                    .collect(),
            ))
        }
    }

    #[test]
    fn an_address_change_writes_the_file_reloads_and_sets_the_link_up_at_once() {
        let fake = portagent_sdk::testing::Fake::new().with_link("br0", true).with_ovsdb(br0_with(&[], false));
        let action = Action {
            kind: ActionKind::Modify,
            resource: "br0".into(),
            body: json!({"ipv4.address": [{"ip": "10.0.0.1", "prefix": 24}], "ipv4.enabled": true}).to_string(),
        };
        let (result, fake) = portagent_sdk::testing::run(fake, || apply(&[action]));
        assert_eq!(result.unwrap(), ["br0"]);
        let file = std::fs::read_to_string(fake.networkd_dir().join("10-portagent-br0.network")).unwrap();
        assert!(file.contains("[Match]\nName=br0\n") && file.contains("Address=10.0.0.1/24\n"), "{file}");
        assert_eq!(fake.calls, ["networkd.reload", "netlink.set-up-link br0"], "one reload, then the kernel at once");
        assert!(fake.addresses.iter().any(|a| a.link == "br0" && a.ip == "10.0.0.1" && a.prefix == 24));
    }

    #[test]
    fn an_attach_raced_by_a_hypervisors_plug_leaves_its_port_alone() {
        let fake = portagent_sdk::testing::Fake::new()
            .with_link("br0", true)
            .with_link("tap1", true)
            .with_ovsdb(br0_with(&[("tap1", 20)], true));
        // The diff saw tap1 free and asked to attach it to br1; by apply
        // time the hypervisor had plugged it into br0.
        let attach = Action {
            kind: ActionKind::Modify,
            resource: "tap1".into(),
            body: json!({"controller": "br1", "dynamic": true}).to_string(),
        };
        let (result, fake) = portagent_sdk::testing::run(fake, || apply(&[attach]));
        assert_eq!(result.unwrap(), Vec::<String>::new(), "nothing changed");
        assert!(fake.calls.is_empty(), "{:?}", fake.calls);
    }

    #[test]
    fn dotted_paths_create_objects() {
        let mut v = json!({"name": "x", "ipv4": null});
        set_path(&mut v, "ipv4.address", json!([{"ip": "10.0.0.1", "prefix": 8}]));
        set_path(&mut v, "mtu", json!(9000));
        assert_eq!(v, json!({"name": "x", "mtu": 9000, "ipv4": {"address": [{"ip": "10.0.0.1", "prefix": 8}]}}));
    }
}
