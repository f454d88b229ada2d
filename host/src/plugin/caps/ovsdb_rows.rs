//! Row ownership for `ovsdb`: unless its scope holds `*` or `all-rows`, a
//! plugin changes only rows it made, tagged `external_ids:portagent-plugin=
//! NAME`. The host tags every row it inserts, narrows the `where` of every
//! update, mutate and delete to its rows, and, before sending, looks at
//! what each of them would match: a row of someone else's is refused by
//! name. The one row of `Open_vSwitch`, shared by all, takes only
//! `external_ids`/`other_config` keys named `NAME:...` and references
//! added to (or removed from, when they point at its own rows) its
//! reference columns.

use super::CapError;
use serde_json::{Value, json};

/// The `external_ids` key that says which plugin made a row.
pub const OWNER_KEY: &str = "portagent-plugin";
/// net's mark of the rows portagent made (`owned`) and the port agent's
/// ports (`dynamic`): net deletes only what carries it, so no plugin
/// confined to its own rows may set or clear it.
pub const NET_MARK: &str = "portagent";

/// The keys a map or set value of `external_ids` names: `["map", [[k, v],
/// ...]]`, `["set", [k, ...]]` or one key.
fn keys_of(v: &Value) -> Vec<&str> {
    match v {
        Value::String(k) => vec![k.as_str()],
        Value::Array(a) if a.len() == 2 && (a[0] == "map" || a[0] == "set") => a[1]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|item| match item {
                Value::Array(pair) => pair.first().and_then(Value::as_str),
                other => other.as_str(),
            })
            .collect(),
        _ => vec![],
    }
}

/// The scope item that lifts row ownership (the tables still apply).
pub const ALL_ROWS: &str = "all-rows";

/// Tables with no `external_ids` column: rows there cannot be owned.
const UNTAGGED: &[&str] = &["AutoAttach"];

/// Every reference column of vswitch.ovsschema: (table, column, the table
/// it points into, whether dropping a reference deletes the row: a strong
/// reference to a table that is not a root). A reference from a plugin's
/// own row to another's row changes that row too (OVS moves a port into
/// the bridge that references it).
pub const REFERENCES: &[(&str, &str, &str, bool)] = &[
    ("Open_vSwitch", "bridges", "Bridge", true),
    ("Open_vSwitch", "manager_options", "Manager", true),
    ("Open_vSwitch", "ssl", "SSL", true),
    ("Open_vSwitch", "datapaths", "Datapath", true),
    ("Bridge", "ports", "Port", true),
    ("Bridge", "mirrors", "Mirror", true),
    ("Bridge", "netflow", "NetFlow", true),
    ("Bridge", "sflow", "sFlow", true),
    ("Bridge", "ipfix", "IPFIX", true),
    ("Bridge", "controller", "Controller", true),
    ("Bridge", "flow_tables", "Flow_Table", true),
    ("Bridge", "auto_attach", "AutoAttach", true),
    ("Port", "interfaces", "Interface", true),
    ("Port", "qos", "QoS", false),
    ("QoS", "queues", "Queue", false),
    ("Mirror", "select_src_port", "Port", false),
    ("Mirror", "select_dst_port", "Port", false),
    ("Mirror", "output_port", "Port", false),
    ("Flow_Sample_Collector_Set", "bridge", "Bridge", false),
    ("Flow_Sample_Collector_Set", "ipfix", "IPFIX", true),
    ("Datapath", "ct_zones", "CT_Zone", true),
    ("CT_Zone", "timeout_policy", "CT_Timeout_Policy", true),
];

/// The existing rows `op` (an insert, update or mutate of `table`) makes
/// or drops references to, by the table they are in: each must be the
/// plugin's own. Rows this transaction inserts (`named-uuid`) are.
fn references(table: &str, op: &Value) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for (_, column, target, _) in REFERENCES.iter().filter(|(t, ..)| *t == table) {
        let values: Vec<&Value> = match op.get("op").and_then(Value::as_str) {
            Some("insert" | "update") => op.get("row").and_then(|r| r.get(*column)).into_iter().collect(),
            Some("mutate") => {
                op["mutations"].as_array().into_iter().flatten().filter(|m| m[0] == *column).map(|m| &m[2]).collect()
            }
            _ => vec![],
        };
        let mut uuids = Vec::new();
        for v in values {
            uuid_atoms(v, &mut uuids);
        }
        if !uuids.is_empty() {
            out.push((target.to_string(), uuids));
        }
    }
    out
}

/// Every `["uuid", U]` atom in `value`, however nested (a set, a map).
fn uuid_atoms(value: &Value, out: &mut Vec<String>) {
    let Some(items) = value.as_array() else { return };
    match items.as_slice() {
        [t, Value::String(u)] if t == "uuid" => out.push(u.clone()),
        _ => items.iter().for_each(|i| uuid_atoms(i, out)),
    }
}

/// What must be looked at before the transaction is sent: rows that a
/// changed `where` would match, and rows a root reference would drop.
#[derive(Debug, Default, PartialEq)]
pub struct Preflight {
    /// `(operation index, table, where as the plugin wrote it)`.
    pub matched: Vec<(usize, String, Value)>,
    /// `(operation index, table, uuids)`.
    pub referenced: Vec<(usize, String, Vec<String>)>,
}

/// Whether a scope lifts row ownership.
pub fn all_rows(scope: &[String]) -> bool {
    scope.iter().any(|s| s == "*" || s == ALL_ROWS)
}

fn owner_condition(plugin: &str) -> Value {
    json!(["external_ids", "includes", ["map", [[OWNER_KEY, plugin]]]])
}

/// Rewrites `ops` so that they can change only `plugin`'s rows, and says
/// what to look at before sending them.
pub fn confine(plugin: &str, ops: &mut [Value]) -> Result<Preflight, CapError> {
    let mut pre = Preflight::default();
    for (i, op) in ops.iter_mut().enumerate() {
        let name = op.get("op").and_then(Value::as_str).unwrap_or("").to_string();
        let Some(table) = op.get("table").and_then(Value::as_str).map(str::to_string) else { continue };
        let denied = |why: String| CapError::Denied(format!("operation {i} ({name} {table}): {why}"));
        if !matches!(name.as_str(), "insert" | "update" | "mutate" | "delete") {
            continue;
        }
        if UNTAGGED.contains(&table.as_str()) {
            return Err(denied(format!("{table} rows cannot carry an owner; changing them needs ovsdb `*`")));
        }
        if table == "Open_vSwitch" {
            if name != "mutate" {
                return Err(denied(format!(
                    "the Open_vSwitch row is shared; plugin '{plugin}' may only mutate its own keys and references"
                )));
            }
            let uuids = root_mutations(plugin, op).map_err(denied)?;
            if !uuids.is_empty() {
                pre.referenced.extend(uuids.into_iter().map(|(t, u)| (i, t, u)));
            }
            continue;
        }
        pre.referenced.extend(references(&table, op).into_iter().map(|(t, u)| (i, t, u)));
        let row_ids = op.get("row").and_then(|r| r.get("external_ids"));
        if row_ids.is_some_and(|ids| keys_of(ids).contains(&NET_MARK)) {
            return Err(denied(format!("the {NET_MARK} key of external_ids is net's mark of what portagent made")));
        }
        match name.as_str() {
            "insert" => tag_row(plugin, op).map_err(denied)?,
            "update" if row_ids.is_some() => {
                tag_row(plugin, op).map_err(denied)?;
            }
            "mutate" => {
                let keys: Vec<&str> = op["mutations"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|m| m.get(0).and_then(Value::as_str) == Some("external_ids"))
                    .flat_map(|m| m.get(2).map(keys_of).unwrap_or_default())
                    .collect();
                if keys.contains(&OWNER_KEY) {
                    return Err(denied(format!("the {OWNER_KEY} key is the host's")));
                }
                if keys.contains(&NET_MARK) {
                    return Err(denied(format!(
                        "the {NET_MARK} key of external_ids is net's mark of what portagent made"
                    )));
                }
            }
            _ => {}
        }
        if name != "insert" {
            let where_ = op.get("where").cloned().unwrap_or(json!([]));
            pre.matched.push((i, table.clone(), where_));
            match op.get_mut("where").and_then(Value::as_array_mut) {
                Some(w) => w.push(owner_condition(plugin)),
                None => return Err(denied("has no `where`".into())),
            }
        }
    }
    Ok(pre)
}

/// Sets the owner key in the row's `external_ids`, keeping its other keys.
fn tag_row(plugin: &str, op: &mut Value) -> Result<(), String> {
    let row = op.get_mut("row").and_then(Value::as_object_mut).ok_or("has no `row`")?;
    let ids = row.entry("external_ids").or_insert_with(|| json!(["map", []]));
    let pairs = match ids {
        Value::Array(a) if a.len() == 2 && a[0] == "map" => a[1].as_array_mut().ok_or("external_ids is not a map")?,
        _ => return Err("external_ids is not an OVSDB map".into()),
    };
    pairs.retain(|p| p.get(0).and_then(Value::as_str) != Some(OWNER_KEY));
    pairs.push(json!([OWNER_KEY, plugin]));
    Ok(())
}

/// Checks a mutate of the shared root row; returns the uuids whose
/// references it drops, by the table they point into.
fn root_mutations(plugin: &str, op: &Value) -> Result<Vec<(String, Vec<String>)>, String> {
    let own_prefix = format!("{plugin}:");
    let mut dropped = Vec::new();
    for m in op.get("mutations").and_then(Value::as_array).into_iter().flatten() {
        let (column, mutator, value) = (m[0].as_str().unwrap_or(""), m[1].as_str().unwrap_or(""), &m[2]);
        if column == "external_ids" || column == "other_config" {
            // A map (insert, delete) or a set of keys (delete).
            let keys: Vec<&str> = match value.get(0).and_then(Value::as_str) {
                Some("map") => value[1].as_array().into_iter().flatten().filter_map(|p| p[0].as_str()).collect(),
                Some("set") => value[1].as_array().into_iter().flatten().filter_map(Value::as_str).collect(),
                _ => value.as_str().into_iter().collect(),
            };
            if let Some(k) = keys.iter().find(|k| !k.starts_with(&own_prefix)) {
                return Err(format!(
                    "key {k:?} of the shared Open_vSwitch row is not plugin '{plugin}''s ({own_prefix}...)"
                ));
            }
            continue;
        }
        let Some((.., target, _)) = REFERENCES.iter().find(|(t, c, ..)| *t == "Open_vSwitch" && *c == column) else {
            return Err(format!("column {column:?} of the shared Open_vSwitch row needs ovsdb `*`"));
        };
        match mutator {
            "insert" => {}
            "delete" => dropped.push((target.to_string(), uuids_in(value)?)),
            other => return Err(format!("mutator {other:?} on {column}")),
        }
    }
    Ok(dropped)
}

/// The uuids of `["uuid", U]` or `["set", [["uuid", U], ...]]`.
fn uuids_in(value: &Value) -> Result<Vec<String>, String> {
    let one = |v: &Value| match v.as_array().map(Vec::as_slice) {
        Some([t, u]) if t == "uuid" => u.as_str().map(str::to_string),
        _ => None,
    };
    if let Some(u) = one(value) {
        return Ok(vec![u]);
    }
    match value.as_array().map(Vec::as_slice) {
        Some([t, items]) if t == "set" => items
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| one(i).ok_or_else(|| "a reference removed by name (named-uuid) or value, not by uuid".to_string()))
            .collect(),
        _ => Err("references must be removed by uuid".into()),
    }
}

/// The select that shows what rows a preflight entry would touch.
pub fn select(table: &str, where_: Value) -> Value {
    json!({"op": "select", "table": table, "where": where_})
}

/// The selects of rows by uuid, one each (`_uuid includes {a, b}` would
/// match no row: a row has one uuid).
pub fn select_uuids(table: &str, uuids: &[String]) -> Vec<Value> {
    uuids.iter().map(|u| json!({"op": "select", "table": table, "where": [["_uuid", "==", ["uuid", u]]]})).collect()
}

/// A matched row that is not the plugin's, named as a person would.
pub fn foreign_row(plugin: &str, table: &str, rows: &Value) -> Option<String> {
    rows.as_array()?.iter().find_map(|row| {
        let owner = row["external_ids"][1]
            .as_array()
            .into_iter()
            .flatten()
            .find(|p| p[0] == OWNER_KEY)
            .and_then(|p| p[1].as_str());
        if owner == Some(plugin) {
            return None;
        }
        let what = match row.get("name").and_then(Value::as_str) {
            Some(n) => format!("{table} {n:?}"),
            None => format!("{table} row {}", row["_uuid"][1].as_str().unwrap_or("?")),
        };
        Some(match owner {
            Some(o) => format!("{what} belongs to plugin '{o}', not to '{plugin}'"),
            None => format!(
                "{what} was not made by plugin '{plugin}' (no {OWNER_KEY} tag); changing it needs ovsdb `all-rows`"
            ),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ops(text: &str) -> Vec<Value> {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn inserts_are_tagged_and_changes_narrowed_to_own_rows() {
        let mut o = ops(r#"[{"op":"insert","table":"Bridge","row":{"name":"b","external_ids":["map",[["k","v"]]]}},
                {"op":"update","table":"Bridge","where":[["name","==","b"]],"row":{"stp_enable":true}},
                {"op":"delete","table":"Port","where":[]}]"#);
        let pre = confine("acme", &mut o).unwrap();
        assert_eq!(o[0]["row"]["external_ids"], json!(["map", [["k", "v"], [OWNER_KEY, "acme"]]]));
        assert_eq!(o[1]["where"][1], owner_condition("acme"));
        assert_eq!(o[2]["where"], json!([owner_condition("acme")]));
        let matched: Vec<_> = pre.matched.iter().map(|(i, t, _)| (*i, t.as_str())).collect();
        assert_eq!(matched, [(1, "Bridge"), (2, "Port")]);
    }

    #[test]
    fn the_owner_tag_cannot_be_changed_or_spoofed() {
        let mut o =
            ops(r#"[{"op":"insert","table":"Bridge","row":{"external_ids":["map",[["portagent-plugin","net"]]]}}]"#);
        confine("acme", &mut o).unwrap();
        assert_eq!(o[0]["row"]["external_ids"], json!(["map", [[OWNER_KEY, "acme"]]]));
        let mut o = ops(
            r#"[{"op":"mutate","table":"Bridge","where":[],"mutations":[["external_ids","delete",["set",["portagent-plugin"]]]]}]"#,
        );
        assert!(confine("acme", &mut o).is_err());
        // net's mark: neither set on an insert nor mutated in or out.
        for bad in [
            r#"[{"op":"insert","table":"Bridge","row":{"external_ids":["map",[["portagent","owned"]]]}}]"#,
            r#"[{"op":"mutate","table":"Bridge","where":[],"mutations":[["external_ids","insert",["map",[["portagent","owned"]]]]]}]"#,
            r#"[{"op":"mutate","table":"Bridge","where":[],"mutations":[["external_ids","delete",["set",["portagent"]]]]}]"#,
        ] {
            let e = confine("acme", &mut ops(bad)).unwrap_err();
            assert!(format!("{e:?}").contains("net's mark"), "{bad}: {e:?}");
        }
        // Keys that only contain the words are the plugin's to use.
        let ok = r#"[{"op":"mutate","table":"Bridge","where":[],"mutations":[["external_ids","insert",["map",[["acme:portagent","x"]]]]]}]"#;
        assert!(confine("acme", &mut ops(ok)).is_ok());
    }

    #[test]
    fn the_shared_root_row_takes_own_keys_and_references() {
        let ok = r#"[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[
            ["external_ids","delete",["set",["acme:a"]]],["external_ids","insert",["map",[["acme:a","1"]]]],
            ["bridges","insert",["named-uuid","b"]],["bridges","delete",["set",[["uuid","u1"]]]]]}]"#;
        let pre = confine("acme", &mut ops(ok)).unwrap();
        assert_eq!(pre.referenced, [(0, "Bridge".to_string(), vec!["u1".to_string()])]);
        for bad in [
            r#"[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["external_ids","insert",["map",[["system-id","x"]]]]]}]"#,
            r#"[{"op":"mutate","table":"Open_vSwitch","where":[],"mutations":[["next_cfg","+=",1]]}]"#,
            r#"[{"op":"update","table":"Open_vSwitch","where":[],"row":{"bridges":["set",[]]}}]"#,
            r#"[{"op":"insert","table":"AutoAttach","row":{}}]"#,
        ] {
            assert!(matches!(confine("acme", &mut ops(bad)), Err(CapError::Denied(_))), "{bad}");
        }
    }

    #[test]
    fn references_from_own_rows_to_existing_rows_are_looked_at() {
        // The campaign's: net's eth0 Port put into the plugin's own bridge.
        let mut o = ops(r#"[{"op":"mutate","table":"Bridge","where":[["name","==","hlbr"]],
            "mutations":[["ports","insert",["set",[["uuid","eth0-port"]]]]]},
            {"op":"insert","table":"Port","row":{"name":"p","interfaces":["set",[["named-uuid","new"],["uuid","old-if"]]]}},
            {"op":"update","table":"Mirror","where":[],"row":{"output_port":["uuid","their-port"]}},
            {"op":"update","table":"Bridge","where":[],"row":{"stp_enable":true}}]"#);
        let pre = confine("acme", &mut o).unwrap();
        let looked: Vec<(usize, &str, Vec<&str>)> =
            pre.referenced.iter().map(|(i, t, u)| (*i, t.as_str(), u.iter().map(String::as_str).collect())).collect();
        assert_eq!(
            looked,
            [(0, "Port", vec!["eth0-port"]), (1, "Interface", vec!["old-if"]), (2, "Port", vec!["their-port"])],
            "named-uuid rows are the transaction's own; columns that reference nothing are not looked at"
        );
        let selects = select_uuids("Port", &["a".into(), "b".into()]);
        assert_eq!(selects.len(), 2, "one select a uuid: {selects:?}");
        assert_eq!(selects[1]["where"], json!([["_uuid", "==", ["uuid", "b"]]]));
    }

    #[test]
    fn foreign_rows_are_named() {
        let rows = json!([
            {"_uuid": ["uuid", "u1"], "name": "mine", "external_ids": ["map", [[OWNER_KEY, "acme"]]]},
            {"_uuid": ["uuid", "u2"], "name": "ovsbr0", "external_ids": ["map", [["portagent", "owned"]]]}
        ]);
        let why = foreign_row("acme", "Bridge", &rows).unwrap();
        assert!(why.contains("Bridge \"ovsbr0\" was not made by plugin 'acme'"), "{why}");
        let theirs = json!([{"_uuid": ["uuid", "u3"], "external_ids": ["map", [[OWNER_KEY, "other"]]]}]);
        assert!(foreign_row("acme", "Port", &theirs).unwrap().contains("belongs to plugin 'other'"));
        assert_eq!(foreign_row("acme", "Bridge", &json!([rows[0]])), None);
    }
}
