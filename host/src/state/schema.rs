//! The JSON Schema of a state file: the host's top level (`version`,
//! `plugins`, `probe`) with each runnable plugin's section schema, as its
//! `schema` export gives it, under `plugins.SECTION`. Draft-07, what
//! editors' YAML language servers read.

use super::error::StateError;
use super::manager::Manager;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

const DRAFT_07: &str = "http://json-schema.org/draft-07/schema#";

impl Manager {
    /// The schema of a state file for every runnable plugin; with `only`,
    /// that plugin's section alone, as a schema of its own. A plugin whose
    /// `schema()` fails (loops into its CPU limit, returns no JSON) is
    /// left out of the whole file's schema and named in the second value;
    /// asked for alone, its failure is the error.
    pub fn schema(&self, only: Option<&str>) -> Result<(Value, BTreeMap<String, StateError>), StateError> {
        let mut schemas = BTreeMap::new();
        let mut failed = BTreeMap::new();
        for mut l in self.load_only(only)? {
            let section = l.manifest.section.clone();
            let schema = l.plugin.schema().map_err(|e| super::manager::classify(&section, e)).and_then(|text| {
                section_schema(&text).map_err(|message| {
                    StateError::Plugin(crate::plugin::CallError::Trap {
                        plugin: l.manifest.name.clone(),
                        op: "schema",
                        message,
                    })
                })
            });
            match schema {
                Ok(schema) => {
                    schemas.insert(section, schema);
                }
                Err(e) if only.is_some() => return Err(e),
                Err(e) => {
                    failed.insert(l.manifest.name.clone(), e);
                }
            }
        }
        let schema = match only {
            Some(_) => schemas.into_values().next().map(standalone).unwrap_or_else(|| json!({})),
            None => state_file(schemas),
        };
        Ok((schema, failed))
    }
}

/// A plugin's schema text, checked: a JSON object (or `true`, any value).
fn section_schema(text: &str) -> Result<Value, String> {
    match serde_json::from_str::<Value>(text) {
        Ok(v @ (Value::Object(_) | Value::Bool(_))) => Ok(v),
        Ok(_) => Err("returned a schema that is not a JSON object".into()),
        Err(e) => Err(format!("returned a schema that is not JSON: {e}")),
    }
}

/// A section's schema as a document of its own.
fn standalone(mut schema: Value) -> Value {
    if let Some(o) = schema.as_object_mut() {
        o.entry("$schema").or_insert_with(|| json!(DRAFT_07));
    }
    schema
}

/// The whole file's schema, each section's under `plugins.SECTION`.
pub fn state_file(sections: BTreeMap<String, Value>) -> Value {
    let mut definitions = Map::new();
    let properties: Map<String, Value> = sections
        .into_iter()
        .map(|(section, schema)| {
            let s = hoist(&section, schema, &mut definitions);
            (section, s)
        })
        .collect();
    let mut root = json!({
        "$schema": DRAFT_07,
        "title": format!("portagent state file, version {}", super::file::VERSION),
        "description": "The network as it should be: each plugin's section under `plugins`.",
        "type": "object",
        "additionalProperties": false,
        "required": ["version", "plugins"],
        "properties": {
            "version": {"const": super::file::VERSION, "description": "The state file format's version."},
            "plugins": {
                "type": "object",
                "description": "One section per plugin, by the section it owns.",
                "minProperties": 1,
                "additionalProperties": false,
                "properties": properties,
            },
            "probe": {
                "type": "object",
                "description": "Hosts that must answer ping after the apply, or it is rolled back.",
                "additionalProperties": false,
                "properties": {"ping": {"type": "array", "items": {"type": "string", "pattern": "^[^-\\s]"}}},
            },
        },
    });
    if !definitions.is_empty() {
        root["definitions"] = Value::Object(definitions);
    }
    root
}

/// `schema` made to stand under `plugins.SECTION` of the file's schema:
/// its definitions moved to the root's, named `SECTION.NAME`, and every
/// reference into them (or to its own root) rewritten to match.
fn hoist(section: &str, mut schema: Value, definitions: &mut Map<String, Value>) -> Value {
    if let Some(o) = schema.as_object_mut() {
        o.remove("$schema");
        o.remove("$id");
        for key in ["definitions", "$defs"] {
            if let Some(Value::Object(defs)) = o.remove(key) {
                for (name, def) in defs {
                    definitions.insert(format!("{section}.{name}"), def);
                }
            }
        }
    }
    rewrite_refs(section, &mut schema);
    let own = format!("{section}.");
    definitions.iter_mut().filter(|(name, _)| name.starts_with(&own)).for_each(|(_, def)| rewrite_refs(section, def));
    schema
}

/// Every `$ref` in `v` that points into the section's own document,
/// pointed into the file's.
fn rewrite_refs(section: &str, v: &mut Value) {
    match v {
        Value::Object(o) => {
            for (k, child) in o.iter_mut() {
                match (k.as_str(), child) {
                    ("$ref", Value::String(r)) => {
                        let to = if let Some(name) =
                            r.strip_prefix("#/definitions/").or_else(|| r.strip_prefix("#/$defs/"))
                        {
                            format!("#/definitions/{section}.{name}")
                        } else if r == "#" {
                            format!("#/properties/plugins/properties/{section}")
                        } else {
                            continue;
                        };
                        *r = to;
                    }
                    (_, child) => rewrite_refs(section, child),
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|c| rewrite_refs(section, c)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_go_under_plugins_with_their_definitions_hoisted() {
        let net = json!({
            "$schema": DRAFT_07,
            "type": "object",
            "properties": {"interfaces": {"type": "array", "items": {"$ref": "#/definitions/Interface"}}},
            "definitions": {
                "Interface": {"type": "object", "properties": {"ipv4": {"$ref": "#/definitions/IpConfig"}}},
                "IpConfig": {"type": "object"},
            },
        });
        let notes = json!({"type": "object", "properties": {"again": {"$ref": "#"}}});
        let s = state_file(BTreeMap::from([("net".to_string(), net), ("notes".to_string(), notes)]));
        let sections = &s["properties"]["plugins"]["properties"];
        assert_eq!(sections["net"]["properties"]["interfaces"]["items"]["$ref"], "#/definitions/net.Interface");
        assert!(sections["net"].get("$schema").is_none() && sections["net"].get("definitions").is_none());
        assert_eq!(s["definitions"]["net.Interface"]["properties"]["ipv4"]["$ref"], "#/definitions/net.IpConfig");
        assert_eq!(sections["notes"]["properties"]["again"]["$ref"], "#/properties/plugins/properties/notes");
        assert_eq!(s["required"], json!(["version", "plugins"]));
        assert_eq!(s["properties"]["plugins"]["additionalProperties"], false, "a section no plugin owns is an error");
    }

    #[test]
    fn a_plugin_schema_must_be_a_json_object() {
        assert!(section_schema(r#"{"type":"object"}"#).is_ok());
        assert!(section_schema("[1]").unwrap_err().contains("not a JSON object"));
        assert!(section_schema("{").unwrap_err().contains("not JSON"));
        assert_eq!(standalone(json!({}))["$schema"], DRAFT_07);
    }
}
