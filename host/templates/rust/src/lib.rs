//! __NAME__: a portagent state plugin. It owns the `__NAME__` section of a
//! state file,
//!
//!     plugins:
//!       __NAME__:
//!         notes: {rack: r12}
//!
//! and keeps each note as `external_ids:__NAME__:KEY=VALUE` on OVS's
//! Open_vSwitch row, through the `ovsdb` capability. Replace the notes
//! with what your plugin manages; keep the shape of each export.

use portagent_sdk::{Action, ActionKind, CapabilityRequest, Mismatch, Plugin, PluginError, PluginInfo, Snapshot, ovsdb};
use serde_json::{Value, json};
use std::collections::BTreeMap;

const PREFIX: &str = "__NAME__:";

type Notes = BTreeMap<String, String>;

/// The section as written (JSON), its fields checked and named when bad.
fn parse(section: &str) -> Result<Notes, PluginError> {
    let v: Value = if section.trim().is_empty() {
        json!({})
    } else {
        serde_json::from_str(section).map_err(|e| PluginError::invalid("", e.to_string()))?
    };
    if let Some(k) = v.as_object().and_then(|o| o.keys().find(|k| *k != "notes")) {
        return Err(PluginError::invalid(k.clone(), "unknown field (expected `notes`)"));
    }
    let mut notes = Notes::new();
    for (k, val) in v["notes"].as_object().into_iter().flatten() {
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_".contains(&b)) {
            return Err(PluginError::invalid(format!("notes.{k}"), "a key is lower-case letters, digits, - and _"));
        }
        let text = val.as_str().ok_or_else(|| PluginError::invalid(format!("notes.{k}"), "expected a string"))?;
        notes.insert(k.clone(), text.to_string());
    }
    Ok(notes)
}

/// Our notes on the Open_vSwitch row.
fn live() -> Result<Notes, PluginError> {
    let ops = json!([{"op": "select", "table": "Open_vSwitch", "where": [], "columns": ["external_ids"]}]);
    let result = ovsdb::transact(&ops)?;
    let pairs = result[0]["rows"][0]["external_ids"][1].as_array().cloned().unwrap_or_default();
    Ok(pairs
        .iter()
        .filter_map(|p| Some((p[0].as_str()?.strip_prefix(PREFIX)?.to_string(), p[1].as_str()?.to_string())))
        .collect())
}

/// One transaction: drop the `delete` keys, then set `set`.
fn write(delete: &[String], set: &Notes) -> Result<(), PluginError> {
    let mut mutations = vec![];
    if !delete.is_empty() {
        let keys: Vec<String> = delete.iter().map(|k| format!("{PREFIX}{k}")).collect();
        mutations.push(json!(["external_ids", "delete", ["set", keys]]));
    }
    if !set.is_empty() {
        let pairs: Vec<Value> = set.iter().map(|(k, v)| json!([format!("{PREFIX}{k}"), v])).collect();
        mutations.push(json!(["external_ids", "insert", ["map", pairs]]));
    }
    if !mutations.is_empty() {
        ovsdb::transact(&json!([{"op": "mutate", "table": "Open_vSwitch", "where": [], "mutations": mutations}]))?;
    }
    Ok(())
}

struct NotesPlugin;

impl Plugin for NotesPlugin {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "__NAME__".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            section: "__NAME__".into(),
            capabilities: vec![
                CapabilityRequest::new("ovsdb", &["Open_vSwitch"], "to keep notes in external_ids"),
                CapabilityRequest::new("log", &[], "to say what it changed"),
            ],
            after: vec!["net".into()],
        }
    }

    /// The section's JSON Schema, for `portagent schema` and editors: the
    /// same rules as `parse`.
    fn schema() -> String {
        json!({
            "type": "object",
            "additionalProperties": false,
            "properties": {
                "notes": {
                    "type": "object",
                    "propertyNames": {"pattern": "^[a-z0-9_-]+$"},
                    "additionalProperties": {"type": "string"}
                }
            }
        })
        .to_string()
    }

    fn validate(desired: String) -> Result<(), PluginError> {
        parse(&desired).map(drop)
    }

    fn query() -> Result<String, PluginError> {
        Ok(json!({"notes": live()?}).to_string())
    }

    fn diff(current: String, desired: String) -> Result<Vec<Action>, PluginError> {
        let (have, want) = (parse(&current)?, parse(&desired)?);
        let mut actions = vec![];
        for (k, v) in &want {
            let kind = match have.get(k) {
                None => ActionKind::Create,
                Some(old) if old != v => ActionKind::Modify,
                Some(_) => continue,
            };
            actions.push(Action { kind, resource: k.clone(), body: json!(v).to_string() });
        }
        for k in have.keys().filter(|k| !want.contains_key(*k)) {
            actions.push(Action { kind: ActionKind::Delete, resource: k.clone(), body: "null".into() });
        }
        Ok(actions)
    }

    fn apply(actions: Vec<Action>) -> Result<Vec<String>, PluginError> {
        let delete: Vec<String> = actions.iter().map(|a| a.resource.clone()).collect();
        let mut set = Notes::new();
        for a in actions.iter().filter(|a| a.kind != ActionKind::Delete) {
            let v: String = serde_json::from_str(&a.body).map_err(|e| PluginError::Failed(e.to_string()))?;
            set.insert(a.resource.clone(), v);
        }
        write(&delete, &set)?;
        portagent_sdk::log::info(&format!("{} notes changed", actions.len()));
        Ok(actions.iter().map(|a| format!("{PREFIX}{}", a.resource)).collect())
    }

    fn verify(desired: String) -> Result<Vec<Mismatch>, PluginError> {
        let (want, have) = (parse(&desired)?, live()?);
        let keys: std::collections::BTreeSet<&String> = want.keys().chain(have.keys()).collect();
        Ok(keys
            .into_iter()
            .filter(|k| want.get(*k) != have.get(*k))
            .map(|k| Mismatch {
                resource: format!("{PREFIX}{k}"),
                field: "value".into(),
                expected: json!(want.get(k)).to_string(),
                actual: json!(have.get(k)).to_string(),
            })
            .collect())
    }

    fn checkpoint(id: String) -> Result<Snapshot, PluginError> {
        // `id` is the host's, for this apply: give it back with the data.
        Ok(Snapshot::new(id, &live()?))
    }

    fn restore(snapshot: Snapshot) -> Result<(), PluginError> {
        let saved: Notes = snapshot.state("__NAME__")?;
        write(&live()?.into_keys().collect::<Vec<_>>(), &saved)
    }
}

portagent_sdk::export_plugin!(NotesPlugin);
