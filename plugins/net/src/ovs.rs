//! Open vSwitch through the `ovsdb` capability: one read of the tables the
//! plugin cares about, and a transaction builder whose `wait` guards make a
//! concurrent change by someone else fail the transaction instead of being
//! clobbered. Rows portagent creates carry `external_ids:portagent=owned`.

use crate::model::{Bond, BondMode, FailMode, Patch, PortConfig, PortSpec, Vlan, VlanMode};
use portagent_sdk::{PluginError, ovsdb};
use serde_json::{Value, json};
use std::collections::HashMap;
use std::time::{Duration, Instant};

pub const OWNER_KEY: &str = "portagent";
pub const OWNER_VALUE: &str = "owned";

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
            let mut ports: Vec<String> = self.interfaces.iter().map(|i| i.name.clone()).collect();
            ports.sort();
            Bond { mode, ports }
        });
        let patch = self
            .interfaces
            .first()
            .filter(|i| i.kind == "patch")
            .map(|i| Patch { peer: i.peer.clone().unwrap_or_default() });
        PortConfig { name: self.name.clone(), vlan, bond, patch }
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

/// `["set", [a, b]]` or a single atom -> the atoms.
fn set_items(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) if a.first() == Some(&json!("set")) => {
            a.get(1).and_then(Value::as_array).cloned().unwrap_or_default()
        }
        other => vec![other.clone()],
    }
}

fn uuid_of(v: &Value) -> String {
    v.get(1).and_then(Value::as_str).unwrap_or_default().to_string()
}

fn map_get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.get(1)?.as_array()?.iter().find(|kv| kv.get(0).and_then(Value::as_str) == Some(key)).and_then(|kv| kv.get(1))
}

/// An optional scalar column: an empty set means none.
fn optional(v: &Value) -> Option<&Value> {
    match v {
        Value::Array(a) if a.first() == Some(&json!("set")) => None,
        other => Some(other),
    }
}

fn rows(result: &Value) -> &[Value] {
    result.get("rows").and_then(Value::as_array).map_or(&[], Vec::as_slice)
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
                owned: map_get(&r["external_ids"], OWNER_KEY) == Some(&json!(OWNER_VALUE)),
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
                owned: map_get(&r["external_ids"], OWNER_KEY) == Some(&json!(OWNER_VALUE)),
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

/// `external_ids` of a row portagent owns, or of one it does not.
fn owner_ids(owned: bool) -> Value {
    if owned { json!(["map", [[OWNER_KEY, OWNER_VALUE]]]) } else { json!(["map", []]) }
}

/// Builds one OVSDB transaction.
pub struct Txn {
    ops: Vec<Value>,
    next_row: usize,
    root: String,
}

impl Txn {
    pub fn new(root: &str) -> Txn {
        Txn { ops: vec![], next_row: 0, root: root.into() }
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    fn row_name(&mut self) -> String {
        self.next_row += 1;
        format!("row{}", self.next_row)
    }

    /// Fails the transaction if `bridge`'s ports changed since `read`.
    pub fn guard_ports(&mut self, bridge: &OvsBridge) {
        self.ops.push(json!({"op": "wait", "timeout": 0, "table": "Bridge",
            "where": [["name", "==", bridge.name]], "columns": ["ports"], "until": "==",
            "rows": [{"ports": bridge.ports_raw}]}));
    }

    /// Fails the transaction if a bridge named `name` appeared meanwhile.
    pub fn guard_absent(&mut self, name: &str) {
        self.ops.push(json!({"op": "wait", "timeout": 0, "table": "Bridge",
            "where": [["name", "==", name]], "columns": ["name"], "until": "==", "rows": []}));
    }

    /// Inserts one Interface row for `port`; returns its named uuid.
    fn insert_iface(&mut self, name: &str, port: &PortConfig, kind: &str, mtu: Option<u32>) -> Value {
        let iface = self.row_name();
        let mut row = json!({"name": name, "type": kind});
        if let Some(patch) = &port.patch {
            row["type"] = json!("patch");
            row["options"] = json!(["map", [["peer", patch.peer]]]);
        }
        if let Some(mtu) = mtu {
            row["mtu_request"] = json!(mtu);
        }
        self.ops.push(json!({"op": "insert", "table": "Interface", "row": row, "uuid-name": iface}));
        json!(["named-uuid", iface])
    }

    /// Inserts a Port and its Interfaces (one; several for a bond);
    /// returns the port's named uuid. `kind` is the interface type of a
    /// plain port (`""` or `internal`); `owned` tags it as portagent's.
    fn insert_port(&mut self, port: &PortConfig, kind: &str, mtu: Option<u32>, owned: bool) -> Value {
        let members: Vec<Value> =
            port.interface_names().iter().map(|n| self.insert_iface(n, port, kind, mtu)).collect();
        let row_name = self.row_name();
        let mut row = port_columns(port);
        row["name"] = json!(port.name);
        row["interfaces"] = json!(["set", members]);
        row["external_ids"] = owner_ids(owned);
        self.ops.push(json!({"op": "insert", "table": "Port", "uuid-name": row_name, "row": row}));
        json!(["named-uuid", row_name])
    }

    /// Makes an existing port match `port` in place: VLAN and bond columns,
    /// its interface set (existing Interface rows are reused: their names
    /// are unique in OVSDB) and a patch port's peer.
    pub fn update_port(&mut self, row: &OvsPort, port: &PortConfig, kind: &str) {
        let mut members = Vec::new();
        for name in port.interface_names() {
            match row.interfaces.iter().find(|i| i.name == name) {
                Some(existing) => {
                    members.push(json!(["uuid", existing.uuid]));
                    if let Some(patch) = &port.patch {
                        self.ops.push(json!({"op": "update", "table": "Interface", "where": [["_uuid", "==", ["uuid", existing.uuid]]],
                            "row": {"type": "patch", "options": ["map", [["peer", patch.peer]]]}}));
                    }
                }
                None => members.push(self.insert_iface(&name, port, kind, None)),
            }
        }
        let mut columns = port_columns(port);
        columns["interfaces"] = json!(["set", members]);
        self.ops.push(
            json!({"op": "update", "table": "Port", "where": [["_uuid", "==", ["uuid", row.uuid]]], "row": columns}),
        );
    }

    /// A new bridge with its internal port and `ports` given as (config,
    /// interface type, owned); `owned` tags the bridge (and its own port) as
    /// portagent's. Bridges portagent creates are owned; a restore brings
    /// back a foreign one as foreign.
    pub fn create_bridge(
        &mut self,
        name: &str,
        datapath_type: &str,
        mtu: Option<u32>,
        owned: bool,
        ports: &[(PortConfig, String, bool)],
    ) {
        self.guard_absent(name);
        let own = PortConfig { name: name.into(), ..Default::default() };
        let mut members = vec![self.insert_port(&own, "internal", mtu, owned)];
        for (p, kind, port_owned) in ports {
            members.push(self.insert_port(p, kind, None, *port_owned));
        }
        let br = self.row_name();
        self.ops.push(json!({"op": "insert", "table": "Bridge", "uuid-name": br, "row": {
            "name": name, "datapath_type": datapath_type, "ports": ["set", members],
            "external_ids": owner_ids(owned)}}));
        self.ops.push(json!({"op": "mutate", "table": "Open_vSwitch", "where": [["_uuid", "==", ["uuid", self.root]]],
            "mutations": [["bridges", "insert", ["set", [["named-uuid", br]]]]]}));
    }

    pub fn add_port(&mut self, bridge: &str, port: &PortConfig, kind: &str, mtu: Option<u32>, owned: bool) {
        let p = self.insert_port(port, kind, mtu, owned);
        self.ops.push(json!({"op": "mutate", "table": "Bridge", "where": [["name", "==", bridge]],
            "mutations": [["ports", "insert", ["set", [p]]]]}));
    }

    pub fn set_bridge_options(
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
            self.ops.push(json!({"op": "update", "table": "Bridge", "where": [["name", "==", bridge]], "row": row}));
        }
    }

    /// Tags (or untags) an existing bridge as portagent's.
    pub fn set_bridge_owned(&mut self, bridge: &str, owned: bool) {
        let mutation = if owned {
            json!(["external_ids", "insert", ["map", [[OWNER_KEY, OWNER_VALUE]]]])
        } else {
            json!(["external_ids", "delete", ["set", [OWNER_KEY]]])
        };
        self.ops.push(
            json!({"op": "mutate", "table": "Bridge", "where": [["name", "==", bridge]], "mutations": [mutation]}),
        );
    }

    pub fn remove_port(&mut self, bridge: &str, port_uuid: &str) {
        self.ops.push(json!({"op": "mutate", "table": "Bridge", "where": [["name", "==", bridge]],
            "mutations": [["ports", "delete", ["set", [["uuid", port_uuid]]]]]}));
    }

    pub fn delete_bridge(&mut self, uuid: &str) {
        self.ops.push(json!({"op": "mutate", "table": "Open_vSwitch", "where": [["_uuid", "==", ["uuid", self.root]]],
            "mutations": [["bridges", "delete", ["set", [["uuid", uuid]]]]]}));
    }

    pub fn set_datapath_type(&mut self, bridge: &str, datapath_type: &str) {
        self.ops.push(json!({"op": "update", "table": "Bridge", "where": [["name", "==", bridge]],
            "row": {"datapath_type": datapath_type}}));
    }

    pub fn set_mtu_request(&mut self, iface: &str, mtu: u32) {
        self.ops.push(json!({"op": "update", "table": "Interface", "where": [["name", "==", iface]],
            "row": {"mtu_request": mtu}}));
    }

    /// Commits (all or nothing; a row read earlier and changed since
    /// makes it fail) and returns what to wait for: ovs-vswitchd carrying
    /// the change out.
    pub fn commit(mut self) -> Result<Applying, PluginError> {
        if self.ops.is_empty() {
            return Ok(Applying { next_cfg: None });
        }
        let root = json!(["uuid", self.root]);
        self.ops.push(json!({"op": "mutate", "table": "Open_vSwitch", "where": [["_uuid", "==", root]],
            "mutations": [["next_cfg", "+=", 1]]}));
        self.ops.push(
            json!({"op": "select", "table": "Open_vSwitch", "where": [["_uuid", "==", root]], "columns": ["next_cfg"]}),
        );
        self.ops.push(json!({"op": "comment", "comment": "portagent net plugin"}));
        let n = self.ops.len();
        let results = ovsdb::transact(&Value::Array(self.ops))?;
        // RFC 7047: an error in any operation aborts the whole transaction.
        if let Some((i, e)) = results.iter().enumerate().find(|(_, r)| r.get("error").is_some()) {
            let detail = e.get("details").and_then(Value::as_str).unwrap_or_default();
            let what = if e["error"] == "timed out" { "changed by someone else since it was read" } else { detail };
            return Err(failed(format!("transaction refused at operation {i}: {} {what}", e["error"])));
        }
        if results.len() < n {
            return Err(failed("transaction aborted (a later result is missing)"));
        }
        let next_cfg = rows(&results[n - 2]).first().and_then(|r| r["next_cfg"].as_i64()).unwrap_or(0);
        Ok(Applying { next_cfg: Some(next_cfg) })
    }
}

/// A committed transaction ovs-vswitchd may still be carrying out.
#[must_use = "wait until ovs-vswitchd has carried the transaction out"]
pub struct Applying {
    next_cfg: Option<i64>,
}

/// How long ovs-vswitchd may go without visible progress before a wait
/// for it fails.
pub const STALL: Duration = Duration::from_secs(15);
/// How often the kernel's links are looked at for progress.
const LINKS_EVERY: Duration = Duration::from_millis(250);

/// The kernel's links, in brief: how many, and which (by index).
fn links_fingerprint() -> Result<(usize, u64), PluginError> {
    let links = portagent_sdk::netlink::list_links()?;
    let which = links.iter().fold(0u64, |h, l| h ^ u64::from(l.index).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    Ok((links.len(), which))
}

impl Applying {
    /// Waits until ovs-vswitchd has carried the change out (`cur_cfg`
    /// catches up with the bumped `next_cfg`). A change of thousands of
    /// ports takes it a minute or more (its interfaces come and go in the
    /// kernel one by one), so there is no fixed deadline: the wait goes on
    /// while ovs-vswitchd makes progress (`cur_cfg` moves, or the kernel's
    /// links change) and fails after [`STALL`] without any. Each look at
    /// `cur_cfg` is a transaction the OVSDB server also has to answer
    /// ovs-vswitchd beside, so the looks thin out a little while it works
    /// (2 ms up to 10 ms).
    pub fn wait(self) -> Result<(), PluginError> {
        let Some(target) = self.next_cfg else { return Ok(()) };
        let mut progress = Instant::now();
        let (mut last_cur, mut last_links) = (None, links_fingerprint()?);
        let mut links_at = Instant::now() + LINKS_EVERY;
        let mut pause = Duration::from_millis(2);
        loop {
            let r = ovsdb::transact(
                &json!([{"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["cur_cfg"]}]),
            )?;
            let cur = rows(&r[0]).first().and_then(|r| r["cur_cfg"].as_i64()).unwrap_or(0);
            if cur >= target {
                return Ok(());
            }
            if last_cur.replace(cur).is_some_and(|c| c != cur) {
                progress = Instant::now();
            }
            if Instant::now() >= links_at {
                let links = links_fingerprint()?;
                if links != last_links {
                    progress = Instant::now();
                    last_links = links;
                }
                links_at = Instant::now() + LINKS_EVERY;
            }
            if progress.elapsed() >= STALL {
                return Err(failed(format!(
                    "ovs-vswitchd made no progress on the change for {STALL:?} (cur_cfg {cur}, waiting for {target}; is it running?)"
                )));
            }
            std::thread::sleep(pause);
            pause = (pause * 3 / 2).min(Duration::from_millis(10));
        }
    }
}
