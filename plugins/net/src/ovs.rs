//! Open vSwitch through the `ovsdb` capability: one read of the tables the
//! plugin cares about, and a transaction builder whose `wait` guards make a
//! concurrent change by someone else fail the transaction instead of being
//! clobbered. Rows portagent creates carry `external_ids:portagent=owned`.

use portagent_sdk::{PluginError, ovsdb};
use serde_json::{Value, json};
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
}

#[derive(Debug, Clone, PartialEq)]
pub struct OvsPort {
    pub uuid: String,
    pub name: String,
    pub interfaces: Vec<OvsIface>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct OvsBridge {
    pub uuid: String,
    pub name: String,
    pub datapath_type: String,
    pub owned: bool,
    pub ports: Vec<OvsPort>,
    /// The `ports` column exactly as read, for the `wait` guard.
    pub ports_raw: Value,
}

impl OvsBridge {
    /// Port names other than the bridge's own internal port.
    pub fn port_names(&self) -> Vec<String> {
        let mut v: Vec<String> = self.ports.iter().filter(|p| p.name != self.name).map(|p| p.name.clone()).collect();
        v.sort();
        v
    }

    pub fn port(&self, name: &str) -> Option<&OvsPort> {
        self.ports.iter().find(|p| p.name == name)
    }
}

/// The OVS part of the live state.
#[derive(Debug, Clone, PartialEq)]
pub struct OvsView {
    pub root: String,
    pub bridges: Vec<OvsBridge>,
}

impl OvsView {
    pub fn bridge(&self, name: &str) -> Option<&OvsBridge> {
        self.bridges.iter().find(|b| b.name == name)
    }

    /// The bridge `port` is on, if any.
    pub fn bridge_of(&self, port: &str) -> Option<&OvsBridge> {
        self.bridges.iter().find(|b| b.name != port && b.port(port).is_some())
    }

    /// The interface row named `name`, on any bridge.
    pub fn iface(&self, name: &str) -> Option<&OvsIface> {
        self.bridges.iter().flat_map(|b| &b.ports).flat_map(|p| &p.interfaces).find(|i| i.name == name)
    }
}

fn failed(e: impl std::fmt::Display) -> PluginError {
    PluginError::Failed(format!("OVSDB: {e}"))
}

/// `["set", [a, b]]` or a single atom -> the atoms.
fn set_items(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) if a.first() == Some(&json!("set")) => a.get(1).and_then(Value::as_array).cloned().unwrap_or_default(),
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

fn rows(result: &Value) -> Vec<Value> {
    result.get("rows").and_then(Value::as_array).cloned().unwrap_or_default()
}

/// Reads the Open_vSwitch, Bridge, Port and Interface tables in one
/// transaction (one consistent snapshot).
pub fn read() -> Result<OvsView, PluginError> {
    let results = ovsdb::transact(&json!([
        {"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["_uuid"]},
        {"op": "select", "table": "Bridge", "where": [], "columns": ["_uuid", "name", "ports", "datapath_type", "external_ids"]},
        {"op": "select", "table": "Port", "where": [], "columns": ["_uuid", "name", "interfaces"]},
        {"op": "select", "table": "Interface", "where": [], "columns": ["_uuid", "name", "type", "mtu_request", "error", "ofport"]},
    ]))?;
    let root = rows(&results[0])
        .first()
        .map(|r| uuid_of(&r["_uuid"]))
        .ok_or_else(|| failed("the Open_vSwitch table has no row (run `ovs-vsctl init`)"))?;
    let ifaces: Vec<OvsIface> = rows(&results[3])
        .iter()
        .map(|r| OvsIface {
            uuid: uuid_of(&r["_uuid"]),
            name: r["name"].as_str().unwrap_or_default().into(),
            kind: r["type"].as_str().unwrap_or_default().into(),
            mtu_request: optional(&r["mtu_request"]).and_then(Value::as_u64).map(|m| m as u32),
            error: optional(&r["error"]).and_then(Value::as_str).map(str::to_string),
            ofport: optional(&r["ofport"]).and_then(Value::as_i64),
        })
        .collect();
    let ports: Vec<OvsPort> = rows(&results[2])
        .iter()
        .map(|r| {
            let ids: Vec<String> = set_items(&r["interfaces"]).iter().map(uuid_of).collect();
            OvsPort {
                uuid: uuid_of(&r["_uuid"]),
                name: r["name"].as_str().unwrap_or_default().into(),
                interfaces: ifaces.iter().filter(|i| ids.contains(&i.uuid)).cloned().collect(),
            }
        })
        .collect();
    let mut bridges: Vec<OvsBridge> = rows(&results[1])
        .iter()
        .map(|r| {
            let ids: Vec<String> = set_items(&r["ports"]).iter().map(uuid_of).collect();
            OvsBridge {
                uuid: uuid_of(&r["_uuid"]),
                name: r["name"].as_str().unwrap_or_default().into(),
                datapath_type: r["datapath_type"].as_str().unwrap_or_default().into(),
                owned: map_get(&r["external_ids"], OWNER_KEY) == Some(&json!(OWNER_VALUE)),
                ports: ports.iter().filter(|p| ids.contains(&p.uuid)).cloned().collect(),
                ports_raw: r["ports"].clone(),
            }
        })
        .collect();
    bridges.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(OvsView { root, bridges })
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

    /// Inserts a Port with one Interface; returns the port's named uuid.
    fn insert_port(&mut self, name: &str, kind: &str, mtu: Option<u32>) -> Value {
        let iface = self.row_name();
        let port = self.row_name();
        let mut row = json!({"name": name, "type": kind});
        if let Some(mtu) = mtu {
            row["mtu_request"] = json!(mtu);
        }
        self.ops.push(json!({"op": "insert", "table": "Interface", "row": row, "uuid-name": iface}));
        self.ops.push(json!({"op": "insert", "table": "Port", "uuid-name": port, "row": {
            "name": name, "interfaces": ["named-uuid", iface],
            "external_ids": ["map", [[OWNER_KEY, OWNER_VALUE]]]}}));
        json!(["named-uuid", port])
    }

    /// A new bridge (owned by portagent) with its internal port and `ports`
    /// given as (name, interface type).
    pub fn create_bridge(&mut self, name: &str, datapath_type: &str, mtu: Option<u32>, ports: &[(String, String)]) {
        self.guard_absent(name);
        let mut members = vec![self.insert_port(name, "internal", mtu)];
        for (p, kind) in ports {
            members.push(self.insert_port(p, kind, None));
        }
        let br = self.row_name();
        self.ops.push(json!({"op": "insert", "table": "Bridge", "uuid-name": br, "row": {
            "name": name, "datapath_type": datapath_type, "ports": ["set", members],
            "external_ids": ["map", [[OWNER_KEY, OWNER_VALUE]]]}}));
        self.ops.push(json!({"op": "mutate", "table": "Open_vSwitch", "where": [["_uuid", "==", ["uuid", self.root]]],
            "mutations": [["bridges", "insert", ["set", [["named-uuid", br]]]]]}));
    }

    pub fn add_port(&mut self, bridge: &str, port: &str, kind: &str, mtu: Option<u32>) {
        let p = self.insert_port(port, kind, mtu);
        self.ops.push(json!({"op": "mutate", "table": "Bridge", "where": [["name", "==", bridge]],
            "mutations": [["ports", "insert", ["set", [p]]]]}));
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

    /// Commits, then waits until ovs-vswitchd has applied the change
    /// (`cur_cfg` catches up with the bumped `next_cfg`).
    pub fn commit(mut self, timeout: Duration) -> Result<(), PluginError> {
        if self.ops.is_empty() {
            return Ok(());
        }
        let root = json!(["uuid", self.root]);
        self.ops.push(json!({"op": "mutate", "table": "Open_vSwitch", "where": [["_uuid", "==", root]],
            "mutations": [["next_cfg", "+=", 1]]}));
        self.ops.push(json!({"op": "select", "table": "Open_vSwitch", "where": [["_uuid", "==", root]], "columns": ["next_cfg"]}));
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
        let target = rows(&results[n - 2]).first().and_then(|r| r["next_cfg"].as_i64()).unwrap_or(0);
        let deadline = Instant::now() + timeout;
        loop {
            let r = ovsdb::transact(&json!([{"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["cur_cfg"]}]))?;
            let cur = rows(&r[0]).first().and_then(|r| r["cur_cfg"].as_i64()).unwrap_or(0);
            if cur >= target {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(failed(format!("ovs-vswitchd did not apply the change within {timeout:?} (is it running?)")));
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}
