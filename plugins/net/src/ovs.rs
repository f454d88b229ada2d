//! Open vSwitch, as `net` sees it: one read of the bridges, ports and
//! interfaces (a snapshot, then only looked up), and the bridge and port
//! operations it adds to the SDK's guarded transaction
//! ([`portagent_sdk::ovsdb::Txn`]). Rows `net` creates carry
//! `external_ids:portagent=owned`.

use crate::model::{Bond, BondMode, FailMode, Patch, PortConfig, PortSpec, Vlan, VlanMode};
use portagent_sdk::PluginError;
use portagent_sdk::ovsdb::{self, OWNER_KEY, map_get, optional, owner_of, rows, set_items, uuid_of};
pub use portagent_sdk::ovsdb::{Applying, Txn};
use serde_json::{Value, json};
use std::collections::HashMap;

/// `external_ids:portagent` of the rows `net` creates.
pub const OWNER_VALUE: &str = "owned";
/// `external_ids:portagent` of ports the port agent (or `add_port`)
/// attached: kept by an apply whose `ports:` does not name them.
pub const DYNAMIC_VALUE: &str = "dynamic";
/// `external_ids` key of a dynamic port's name by `naming_template`.
pub const ALIAS_KEY: &str = "portagent-name";

/// Who `net`'s transactions say they are, in ovsdb-server's log.
pub const WHO: &str = "portagent net plugin";

#[derive(Debug, Clone, PartialEq)]
pub struct OvsIface {
    pub uuid: String,
    pub name: String,
    /// `""` (a system device), `internal`, `patch`, ...
    pub kind: String,
    pub mtu_request: Option<u32>,
    pub error: Option<String>,
    pub ofport: Option<i64>,
    /// `options:peer` of a patch interface.
    pub peer: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OvsPort {
    pub uuid: String,
    pub name: String,
    pub interfaces: Vec<OvsIface>,
    pub tag: Option<u16>,
    pub trunks: Vec<u16>,
    pub vlan_mode: Option<String>,
    pub bond_mode: Option<String>,
    /// Created by portagent (`external_ids:portagent=owned`).
    pub owned: bool,
    /// Attached by the port agent (`external_ids:portagent=dynamic`).
    pub dynamic: bool,
    /// Its name by `naming_template` (`external_ids:portagent-name`).
    pub alias: Option<String>,
}

impl OvsPort {
    /// The port as the `ports:` entry that would create it.
    pub fn config(&self) -> PortConfig {
        let vlan = match (self.tag, self.trunks.is_empty(), self.vlan_mode.as_deref()) {
            (Some(tag), _, None | Some("access")) => {
                Some(Vlan { mode: VlanMode::Access, tag: Some(tag), trunks: None })
            }
            (None, false, None | Some("trunk")) => {
                Some(Vlan { mode: VlanMode::Trunk, tag: None, trunks: Some(self.trunks.clone()) })
            }
            (None, true, Some("trunk")) => Some(Vlan { mode: VlanMode::Trunk, tag: None, trunks: Some(vec![]) }),
            _ => None,
        };
        let bond = (self.interfaces.len() > 1).then(|| {
            let mode = match self.bond_mode.as_deref() {
                Some("balance-slb") => BondMode::BalanceSlb,
                Some("balance-tcp") => BondMode::BalanceTcp,
                _ => BondMode::ActiveBackup,
            };
            Bond { mode, ports: self.interfaces.iter().map(|i| i.name.clone()).collect() }
        });
        let patch = self
            .interfaces
            .first()
            .filter(|i| i.kind == "patch")
            .map(|i| Patch { peer: i.peer.clone().unwrap_or_default() });
        let dynamic = self.dynamic.then_some(true);
        let mut config = PortConfig { name: self.name.clone(), vlan, bond, patch, dynamic, alias: self.alias.clone() };
        config.normalize();
        config
    }

    /// The interface type a new port of this config gets.
    pub fn kind(&self) -> &str {
        self.interfaces.first().map_or("", |i| i.kind.as_str())
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OvsBridge {
    pub uuid: String,
    pub name: String,
    pub datapath_type: String,
    pub owned: bool,
    pub stp: bool,
    pub rstp: bool,
    pub fail_mode: Option<FailMode>,
    pub ports: Vec<OvsPort>,
    /// The `ports` column exactly as read, for the `wait` guard.
    pub ports_raw: Value,
    /// Position in `ports` by port name (built by [`OvsView::new`]).
    pub(crate) port_at: HashMap<String, usize>,
}

impl OvsBridge {
    /// Port names other than the bridge's own internal port.
    pub fn port_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.ports.iter().filter(|p| p.name != self.name).map(|p| p.name.clone()).collect();
        v.sort();
        v
    }

    /// Its ports as `ports:` entries, by name.
    pub fn port_specs(&self) -> Vec<PortSpec> {
        let mut v: Vec<PortSpec> =
            self.ports.iter().filter(|p| p.name != self.name).map(|p| PortSpec::from_config(p.config())).collect();
        v.sort_by(|a, b| a.name().cmp(b.name()));
        v
    }

    pub fn port(&self, name: &str) -> Option<&OvsPort> {
        self.port_at.get(name).map(|&i| &self.ports[i])
    }
}

/// The OVS part of the live state, read once and then only looked up (by
/// name, through indexes: a bridge may have a thousand ports).
#[derive(Debug, Clone, PartialEq)]
pub struct OvsView {
    pub root: String,
    pub bridges: Vec<OvsBridge>,
    /// The bridge each port or bond member is on (the first, by name).
    member_of: HashMap<String, usize>,
    /// Each interface row by name: (bridge, port, interface) positions.
    iface_at: HashMap<String, (usize, usize, usize)>,
}

impl OvsView {
    /// The view of `bridges` (sorted by name), with its indexes.
    pub fn new(root: String, mut bridges: Vec<OvsBridge>) -> OvsView {
        bridges.sort_by(|a, b| a.name.cmp(&b.name));
        let mut member_of = HashMap::new();
        let mut iface_at = HashMap::new();
        for (b, bridge) in bridges.iter_mut().enumerate() {
            bridge.port_at = bridge.ports.iter().enumerate().rev().map(|(i, p)| (p.name.clone(), i)).collect();
            for (p, port) in bridge.ports.iter().enumerate() {
                for (i, iface) in port.interfaces.iter().enumerate() {
                    iface_at.entry(iface.name.clone()).or_insert((b, p, i));
                }
                let names = std::iter::once(&port.name).chain(port.interfaces.iter().map(|i| &i.name));
                for name in names.filter(|n| **n != bridge.name) {
                    member_of.entry(name.clone()).or_insert(b);
                }
            }
        }
        OvsView { root, bridges, member_of, iface_at }
    }

    pub fn bridge(&self, name: &str) -> Option<&OvsBridge> {
        self.bridges.iter().find(|b| b.name == name)
    }

    /// The bridge `port` is on (as a port, or a bond member), if any.
    pub fn bridge_of(&self, port: &str) -> Option<&OvsBridge> {
        self.member_of.get(port).map(|&b| &self.bridges[b])
    }

    /// The interface row named `name`, on any bridge.
    pub fn iface(&self, name: &str) -> Option<&OvsIface> {
        self.iface_at.get(name).map(|&(b, p, i)| &self.bridges[b].ports[p].interfaces[i])
    }
}

fn failed(e: impl std::fmt::Display) -> PluginError {
    PluginError::Failed(format!("OVSDB: {e}"))
}

/// Reads the Open_vSwitch, Bridge, Port and Interface tables in one
/// transaction (one consistent snapshot).
pub fn read() -> Result<OvsView, PluginError> {
    let results = ovsdb::transact(&json!([
        {"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["_uuid"]},
        {"op": "select", "table": "Bridge", "where": [], "columns": ["_uuid", "name", "ports", "datapath_type", "external_ids", "stp_enable", "rstp_enable", "fail_mode"]},
        {"op": "select", "table": "Port", "where": [], "columns": ["_uuid", "name", "interfaces", "tag", "trunks", "vlan_mode", "bond_mode", "external_ids"]},
        {"op": "select", "table": "Interface", "where": [], "columns": ["_uuid", "name", "type", "mtu_request", "error", "ofport", "options"]},
    ]))?;
    let root = rows(&results[0])
        .first()
        .map(|r| uuid_of(&r["_uuid"]))
        .ok_or_else(|| failed("the Open_vSwitch table has no row (run `ovs-vsctl init`)"))?;
    let ifaces: HashMap<String, OvsIface> = rows(&results[3])
        .iter()
        .map(|r| {
            let iface = OvsIface {
                uuid: uuid_of(&r["_uuid"]),
                name: r["name"].as_str().unwrap_or_default().into(),
                kind: r["type"].as_str().unwrap_or_default().into(),
                mtu_request: optional(&r["mtu_request"]).and_then(Value::as_u64).map(|m| m as u32),
                error: optional(&r["error"]).and_then(Value::as_str).map(str::to_string),
                ofport: optional(&r["ofport"]).and_then(Value::as_i64),
                peer: map_get(&r["options"], "peer").and_then(Value::as_str).map(str::to_string),
            };
            (iface.uuid.clone(), iface)
        })
        .collect();
    let ports: HashMap<String, OvsPort> = rows(&results[2])
        .iter()
        .map(|r| {
            let mut trunks: Vec<u16> =
                set_items(&r["trunks"]).iter().filter_map(Value::as_u64).map(|t| t as u16).collect();
            trunks.sort();
            let port = OvsPort {
                uuid: uuid_of(&r["_uuid"]),
                name: r["name"].as_str().unwrap_or_default().into(),
                interfaces: set_items(&r["interfaces"])
                    .iter()
                    .filter_map(|id| ifaces.get(&uuid_of(id)).cloned())
                    .collect(),
                tag: optional(&r["tag"]).and_then(Value::as_u64).map(|t| t as u16),
                trunks,
                vlan_mode: optional(&r["vlan_mode"]).and_then(Value::as_str).map(str::to_string),
                bond_mode: optional(&r["bond_mode"]).and_then(Value::as_str).map(str::to_string),
                owned: owner_of(&r["external_ids"]) == Some(OWNER_VALUE),
                dynamic: owner_of(&r["external_ids"]) == Some(DYNAMIC_VALUE),
                alias: map_get(&r["external_ids"], ALIAS_KEY).and_then(Value::as_str).map(str::to_string),
            };
            (port.uuid.clone(), port)
        })
        .collect();
    let bridges: Vec<OvsBridge> = rows(&results[1])
        .iter()
        .map(|r| {
            // In the order OVSDB lists them (a set's order is stable).
            let ports = set_items(&r["ports"]).iter().filter_map(|id| ports.get(&uuid_of(id)).cloned()).collect();
            OvsBridge {
                uuid: uuid_of(&r["_uuid"]),
                name: r["name"].as_str().unwrap_or_default().into(),
                datapath_type: r["datapath_type"].as_str().unwrap_or_default().into(),
                owned: owner_of(&r["external_ids"]) == Some(OWNER_VALUE),
                stp: r["stp_enable"] == json!(true),
                rstp: r["rstp_enable"] == json!(true),
                fail_mode: match optional(&r["fail_mode"]).and_then(Value::as_str) {
                    Some("secure") => Some(FailMode::Secure),
                    Some("standalone") => Some(FailMode::Standalone),
                    _ => None,
                },
                ports,
                ports_raw: r["ports"].clone(),
                port_at: HashMap::new(),
            }
        })
        .collect();
    Ok(OvsView::new(root, bridges))
}

/// The VLAN and bond columns of a Port row for `port` (empty sets clear).
fn port_columns(port: &PortConfig) -> Value {
    let empty = json!(["set", []]);
    let (tag, trunks, mode) = match &port.vlan {
        Some(Vlan { mode: VlanMode::Access, tag, .. }) => {
            (tag.map_or(empty.clone(), |t| json!(t)), empty.clone(), json!("access"))
        }
        Some(Vlan { mode: VlanMode::Trunk, trunks, .. }) => {
            (empty.clone(), json!(["set", trunks.clone().unwrap_or_default()]), json!("trunk"))
        }
        None => (empty.clone(), empty.clone(), empty.clone()),
    };
    let bond_mode = port.bond.as_ref().map_or(empty, |b| json!(b.mode.ovs()));
    json!({"tag": tag, "trunks": trunks, "vlan_mode": mode, "bond_mode": bond_mode})
}

/// `external_ids` of a row `net` owns, or of one it does not.
fn owner_ids(owned: bool) -> Value {
    ovsdb::owner_ids(owned.then_some(OWNER_VALUE))
}

/// The bridge and port operations `net` builds its one transaction from.
pub trait BridgeTxn {
    fn guard_ports(&mut self, bridge: &OvsBridge);
    fn guard_absent(&mut self, name: &str);
    /// Fails the transaction if an Interface named `name` exists (on any
    /// bridge) at commit.
    fn guard_unattached(&mut self, name: &str);
    /// Makes `row` match `port`; `owned` is the tag it carries unless
    /// `port` is dynamic.
    fn update_port(&mut self, row: &OvsPort, port: &PortConfig, kind: &str, owned: bool);
    fn create_bridge(&mut self, name: &str, datapath_type: &str, mtu: Option<u32>, owned: bool, ports: &[NewPort]);
    fn add_port(&mut self, bridge: &str, port: &PortConfig, kind: &str, mtu: Option<u32>, owned: bool);
    fn set_bridge_options(
        &mut self,
        bridge: &str,
        stp: Option<bool>,
        rstp: Option<bool>,
        fail_mode: Option<Option<FailMode>>,
    );
    fn set_bridge_owned(&mut self, bridge: &str, owned: bool);
    fn remove_port(&mut self, bridge: &str, port_uuid: &str);
    fn delete_bridge(&mut self, uuid: &str);
    fn set_datapath_type(&mut self, bridge: &str, datapath_type: &str);
    /// Sets (or, with `None`, clears) an interface's `mtu_request`.
    fn set_mtu_request(&mut self, iface: &str, mtu: Option<u32>);
}

/// A port to insert with a new bridge.
#[derive(Debug, Clone)]
pub struct NewPort {
    pub config: PortConfig,
    /// The interface type of a plain port (`""` or `internal`).
    pub kind: String,
    /// Tagged as portagent's.
    pub owned: bool,
    /// An internal port's `mtu_request`.
    pub mtu: Option<u32>,
}

/// Inserts one Interface row for `port`; returns its named uuid.
fn insert_iface(txn: &mut Txn, name: &str, port: &PortConfig, kind: &str, mtu: Option<u32>) -> Value {
    let mut row = json!({"name": name, "type": kind});
    if let Some(patch) = &port.patch {
        row["type"] = json!("patch");
        row["options"] = json!(["map", [["peer", patch.peer]]]);
    }
    if let Some(mtu) = mtu {
        row["mtu_request"] = json!(mtu);
    }
    txn.insert("Interface", row)
}

/// Inserts a Port and its Interfaces (one; several for a bond); returns
/// the port's named uuid. `kind` is the interface type of a plain port
/// (`""` or `internal`); `owned` tags it as portagent's, a dynamic
/// `port` as the port agent's.
fn insert_port(txn: &mut Txn, port: &PortConfig, kind: &str, mtu: Option<u32>, owned: bool) -> Value {
    let members: Vec<Value> = port.interface_names().iter().map(|n| insert_iface(txn, n, port, kind, mtu)).collect();
    let mut row = port_columns(port);
    row["name"] = json!(port.name);
    row["interfaces"] = json!(["set", members]);
    row["external_ids"] =
        if port.dynamic == Some(true) { ovsdb::owner_ids(Some(DYNAMIC_VALUE)) } else { owner_ids(owned) };
    if let Some(alias) = &port.alias {
        row["external_ids"][1].as_array_mut().expect("a map").push(json!([ALIAS_KEY, alias]));
    }
    txn.insert("Port", row)
}

impl BridgeTxn for Txn {
    /// Fails the transaction if `bridge`'s ports changed since `read`.
    fn guard_ports(&mut self, bridge: &OvsBridge) {
        self.guard("Bridge", json!([["name", "==", bridge.name]]), &["ports"], json!([{"ports": bridge.ports_raw}]));
    }

    /// Fails the transaction if a bridge named `name` appeared meanwhile.
    fn guard_absent(&mut self, name: &str) {
        self.guard("Bridge", json!([["name", "==", name]]), &["name"], json!([]));
    }

    fn guard_unattached(&mut self, name: &str) {
        self.guard("Interface", json!([["name", "==", name]]), &["name"], json!([]));
    }

    /// Makes an existing port match `port` in place: VLAN and bond columns,
    /// its interface set (existing Interface rows are reused: their names
    /// are unique in OVSDB) and a patch port's peer.
    fn update_port(&mut self, row: &OvsPort, port: &PortConfig, kind: &str, owned: bool) {
        let mut members = Vec::new();
        for name in port.interface_names() {
            match row.interfaces.iter().find(|i| i.name == name) {
                Some(existing) => {
                    members.push(json!(["uuid", existing.uuid]));
                    if let Some(patch) = &port.patch {
                        self.push(json!({"op": "update", "table": "Interface", "where": [["_uuid", "==", ["uuid", existing.uuid]]],
                            "row": {"type": "patch", "options": ["map", [["peer", patch.peer]]]}}));
                    }
                }
                None => members.push(insert_iface(self, &name, port, kind, None)),
            }
        }
        let mut columns = port_columns(port);
        columns["interfaces"] = json!(["set", members]);
        self.push(
            json!({"op": "update", "table": "Port", "where": [["_uuid", "==", ["uuid", row.uuid]]], "row": columns}),
        );
        // Named plainly, a port becomes the file's (an apply tags what it
        // changes, so a restore knows it is portagent's to put back); said
        // dynamic, the port agent's. A restore gives back the tag it had.
        // Only the tag changes: other keys (a cloud's `iface-id`, ...) stay.
        let tag = match (port.dynamic == Some(true), owned) {
            (true, _) => Some(DYNAMIC_VALUE),
            (false, true) => Some(OWNER_VALUE),
            (false, false) => None,
        };
        let had = if row.dynamic { Some(DYNAMIC_VALUE) } else { row.owned.then_some(OWNER_VALUE) };
        if tag != had {
            let mut mutations = vec![json!(["external_ids", "delete", ["set", [OWNER_KEY]]])];
            mutations.extend(tag.map(|t| json!(["external_ids", "insert", ["map", [[OWNER_KEY, t]]]])));
            self.push(json!({"op": "mutate", "table": "Port", "where": [["_uuid", "==", ["uuid", row.uuid]]],
                "mutations": mutations}));
        }
    }

    /// A new bridge with its internal port and `ports`; `owned` tags the
    /// bridge (and its own port) as portagent's. Bridges portagent creates
    /// are owned; a restore brings back a foreign one as foreign.
    fn create_bridge(&mut self, name: &str, datapath_type: &str, mtu: Option<u32>, owned: bool, ports: &[NewPort]) {
        self.guard_absent(name);
        let own = PortConfig { name: name.into(), ..Default::default() };
        let mut members = vec![insert_port(self, &own, "internal", mtu, owned)];
        for p in ports {
            members.push(insert_port(self, &p.config, &p.kind, p.mtu, p.owned));
        }
        let br = self.row_name();
        self.push(json!({"op": "insert", "table": "Bridge", "uuid-name": br, "row": {
            "name": name, "datapath_type": datapath_type, "ports": ["set", members],
            "external_ids": owner_ids(owned)}}));
        self.push(json!({"op": "mutate", "table": "Open_vSwitch", "where": [["_uuid", "==", ["uuid", self.root()]]],
            "mutations": [["bridges", "insert", ["set", [["named-uuid", br]]]]]}));
    }

    fn add_port(&mut self, bridge: &str, port: &PortConfig, kind: &str, mtu: Option<u32>, owned: bool) {
        let p = insert_port(self, port, kind, mtu, owned);
        self.push(json!({"op": "mutate", "table": "Bridge", "where": [["name", "==", bridge]],
            "mutations": [["ports", "insert", ["set", [p]]]]}));
    }

    fn set_bridge_options(
        &mut self,
        bridge: &str,
        stp: Option<bool>,
        rstp: Option<bool>,
        fail_mode: Option<Option<FailMode>>,
    ) {
        let mut row = serde_json::Map::new();
        if let Some(stp) = stp {
            row.insert("stp_enable".into(), json!(stp));
        }
        if let Some(rstp) = rstp {
            row.insert("rstp_enable".into(), json!(rstp));
        }
        if let Some(fm) = fail_mode {
            let v = match fm {
                Some(FailMode::Secure) => json!("secure"),
                Some(FailMode::Standalone) => json!("standalone"),
                None => json!(["set", []]),
            };
            row.insert("fail_mode".into(), v);
        }
        if !row.is_empty() {
            self.push(json!({"op": "update", "table": "Bridge", "where": [["name", "==", bridge]], "row": row}));
        }
    }

    /// Tags (or untags) an existing bridge as portagent's.
    fn set_bridge_owned(&mut self, bridge: &str, owned: bool) {
        let mutation = if owned {
            json!(["external_ids", "insert", ["map", [[OWNER_KEY, OWNER_VALUE]]]])
        } else {
            json!(["external_ids", "delete", ["set", [OWNER_KEY]]])
        };
        self.push(
            json!({"op": "mutate", "table": "Bridge", "where": [["name", "==", bridge]], "mutations": [mutation]}),
        );
    }

    fn remove_port(&mut self, bridge: &str, port_uuid: &str) {
        self.push(json!({"op": "mutate", "table": "Bridge", "where": [["name", "==", bridge]],
            "mutations": [["ports", "delete", ["set", [["uuid", port_uuid]]]]]}));
    }

    fn delete_bridge(&mut self, uuid: &str) {
        self.push(json!({"op": "mutate", "table": "Open_vSwitch", "where": [["_uuid", "==", ["uuid", self.root()]]],
            "mutations": [["bridges", "delete", ["set", [["uuid", uuid]]]]]}));
    }

    fn set_datapath_type(&mut self, bridge: &str, datapath_type: &str) {
        self.push(json!({"op": "update", "table": "Bridge", "where": [["name", "==", bridge]],
            "row": {"datapath_type": datapath_type}}));
    }

    fn set_mtu_request(&mut self, iface: &str, mtu: Option<u32>) {
        let value = mtu.map_or(json!(["set", []]), |m| json!(m));
        self.push(json!({"op": "update", "table": "Interface", "where": [["name", "==", iface]],
            "row": {"mtu_request": value}}));
    }
}
