//! `portagent schema`: the state file's JSON Schema, with each plugin's
//! section. Every example state file (the README's, the docs', the
//! guide's as the lab keeps them, the tests') is valid by a real
//! validator (python-jsonschema, Draft 7, installed by `scripts/toolchains`);
//! a mistyped field is not, at its path.

use crate::support::{Scratch, text, tools_python};
use serde_json::{Value, json};
use std::collections::BTreeMap;

fn schema(scratch: &Scratch, args: &[&str]) -> Value {
    let out = scratch.portagent(&[&["schema"], args].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Each document's errors by python-jsonschema (`path: message`), by name;
/// `format`s (ipv4, ipv6) are checked, as check-jsonschema does.
pub fn errors(schema: &Value, docs: &BTreeMap<String, Value>) -> BTreeMap<String, Vec<String>> {
    let script = r#"
import json, sys
from jsonschema import Draft7Validator
given = json.load(sys.stdin)
Draft7Validator.check_schema(given["schema"])
v = Draft7Validator(given["schema"], format_checker=Draft7Validator.FORMAT_CHECKER)
print(json.dumps({name: [".".join(map(str, e.absolute_path)) + ": " + e.message for e in v.iter_errors(doc)]
                  for name, doc in given["docs"].items()}))
"#;
    let out = tools_python(script, &json!({"schema": schema, "docs": docs}).to_string());
    assert!(out.status.success(), "the validator failed: {}", text(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// The state files in Markdown `yaml` blocks (those with `version: 1`).
fn markdown_examples(path: &str, into: &mut BTreeMap<String, String>) {
    let text = std::fs::read_to_string(format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let mut rest = text.as_str();
    while let Some(start) = rest.find("```yaml\n") {
        let block = &rest[start + 8..];
        let end = block.find("```").unwrap();
        if block[..end].lines().any(|l| l == "version: 1") {
            let line = text.len() - rest.len() + start;
            into.insert(format!("{path}:{}", text[..line].lines().count() + 1), block[..end].to_string());
        }
        rest = &block[end..];
    }
}

/// The state files the tests apply: their `r#"version: 1 ..."#` literals.
fn test_examples(into: &mut BTreeMap<String, String>) {
    let dir = format!("{}/../tests/all", env!("CARGO_MANIFEST_DIR"));
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        for (i, piece) in source.split("r#\"version: 1\n").skip(1).enumerate() {
            let body = &piece[..piece.find("\"#").unwrap()];
            into.insert(format!("{}#{i}", path.file_name().unwrap().to_string_lossy()), format!("version: 1\n{body}"));
        }
    }
}

#[test]
fn every_example_state_file_is_valid_and_a_typo_is_not() {
    let scratch = Scratch::new("");
    let full = schema(&scratch, &[]);
    let sections = full["properties"]["plugins"]["properties"].as_object().unwrap();
    assert!(sections.contains_key("net") && sections.contains_key("netcfg"), "{full:#}");

    let mut examples = BTreeMap::new();
    for md in ["README.md", "docs/plugins.md"] {
        markdown_examples(md, &mut examples);
    }
    examples.insert("guide: net".into(), portagent_lab::guide::NET_STATE.into());
    examples.insert("guide: netcfg".into(), portagent_lab::guide::NETCFG_STATE.into());
    test_examples(&mut examples);
    assert!(examples.len() >= 6, "{:?}", examples.keys());
    let docs: BTreeMap<String, Value> = examples
        .iter()
        .map(|(name, yaml)| (name.clone(), serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{name}: {e}"))))
        .collect();
    let found = errors(&full, &docs);
    let invalid: Vec<_> = found.iter().filter(|(_, e)| !e.is_empty()).collect();
    assert!(invalid.is_empty(), "{invalid:#?}");

    // Mistakes an editor should underline, at their path.
    let mut bad = BTreeMap::new();
    let typo = portagent_lab::guide::NET_STATE.replacen("type: ovs-bridge", "type: ovs-brige", 1);
    bad.insert("typo".to_string(), serde_saphyr::from_str::<Value>(&typo).unwrap());
    bad.insert(
        "unknown field".into(),
        json!({"version": 1, "plugins": {"net": {"interfaces": [{"name": "a", "type": "ethernet", "mtuu": 9000}]}}}),
    );
    bad.insert("no plugin".into(), json!({"version": 1, "plugins": {"nosuch": {}}}));
    bad.insert("version".into(), json!({"version": 2, "plugins": {"net": {}}}));
    let found = errors(&full, &bad);
    assert!(found["typo"].iter().any(|e| e.starts_with("plugins.net.interfaces.0.type:")), "{found:#?}");
    assert!(found["unknown field"].iter().any(|e| e.contains("mtuu")), "{found:#?}");
    assert!(found["no plugin"].iter().any(|e| e.contains("nosuch")), "{found:#?}");
    assert!(found["version"].iter().any(|e| e.starts_with("version:")), "{found:#?}");
}

#[test]
fn one_plugins_section_schema_stands_alone() {
    let scratch = Scratch::new("");
    let net = schema(&scratch, &["--plugin", "net"]);
    assert_eq!(net["$schema"], "http://json-schema.org/draft-07/schema#");
    assert!(net["properties"]["interfaces"].is_object(), "{net:#}");
    let section = serde_saphyr::from_str::<Value>(portagent_lab::guide::NET_STATE).unwrap()["plugins"]["net"].clone();
    let found = errors(&net, &BTreeMap::from([("net".to_string(), section)]));
    assert_eq!(found["net"], Vec::<String>::new());

    let out = scratch.portagent(&["schema", "--plugin", "nosuch"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("plugins.nosuch"), "{}", text(&out.stderr));
}
