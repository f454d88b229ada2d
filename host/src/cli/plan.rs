//! `show-diff --output text`: the diff as a person reads it, like
//! `terraform plan`: per resource what will be created (its settings),
//! changed (each changed setting, dotted, `(removed)` for a `null` in the
//! merge patch) or deleted, then a count. Coloured on a terminal unless
//! `NO_COLOR` is set.

use crate::state::PluginDiff;
use serde_json::Value;
use std::io::Write;

/// Colours, or none.
struct Paint(bool);

impl Paint {
    fn paint(&self, code: &str, s: &str) -> String {
        if self.0 { format!("\x1b[{code}m{s}\x1b[0m") } else { s.to_string() }
    }
}

const GREEN: &str = "32";
const YELLOW: &str = "33";
const RED: &str = "31";
const BOLD: &str = "1";

/// Writes the plan of `diffs`; `colour` paints it.
pub fn write(out: &mut impl Write, diffs: &[PluginDiff], colour: bool) -> std::io::Result<()> {
    let p = Paint(colour);
    let (mut create, mut change, mut delete) = (0, 0, 0);
    if diffs.iter().all(|d| d.actions.is_empty()) {
        return writeln!(out, "{}", p.paint(BOLD, "No changes. The system already matches the state file."));
    }
    writeln!(out, "portagent will make these changes, in this order:")?;
    for d in diffs.iter().filter(|d| !d.actions.is_empty()) {
        for a in &d.actions {
            let resource = a["resource"].as_str().unwrap_or("?");
            writeln!(out)?;
            match a["type"].as_str() {
                Some("Create") => {
                    create += 1;
                    writeln!(out, "  {}", p.paint(BOLD, &format!("# {}: {resource} will be created", d.plugin)))?;
                    writeln!(out, "  {}", p.paint(GREEN, &format!("+ {resource}")))?;
                    for (path, value) in settings(&a["config"]) {
                        writeln!(out, "      {}", p.paint(GREEN, &format!("+ {path} = {value}")))?;
                    }
                }
                Some("Modify") => {
                    change += 1;
                    writeln!(out, "  {}", p.paint(BOLD, &format!("# {}: {resource} will be changed", d.plugin)))?;
                    writeln!(out, "  {}", p.paint(YELLOW, &format!("~ {resource}")))?;
                    for (path, value) in settings(&a["changes"]) {
                        let line = match value.as_str() {
                            "null" => p.paint(RED, &format!("- {path} (removed)")),
                            _ => p.paint(YELLOW, &format!("~ {path} = {value}")),
                        };
                        writeln!(out, "      {line}")?;
                    }
                }
                _ => {
                    delete += 1;
                    writeln!(out, "  {}", p.paint(BOLD, &format!("# {}: {resource} will be deleted", d.plugin)))?;
                    writeln!(out, "  {}", p.paint(RED, &format!("- {resource}")))?;
                }
            }
        }
    }
    writeln!(out)?;
    writeln!(out, "{}", p.paint(BOLD, &format!("Plan: {create} to create, {change} to change, {delete} to delete.")))
}

/// A config or merge patch as `path = value` lines: objects are opened
/// into dotted paths, anything else (lists, scalars, `null`) is one value
/// in compact JSON.
fn settings(v: &Value) -> Vec<(String, String)> {
    fn walk(prefix: &str, v: &Value, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(o) if !o.is_empty() => {
                for (k, child) in o {
                    let path = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                    walk(&path, child, out);
                }
            }
            _ if prefix.is_empty() => {
                if !v.is_null() && v != &Value::Object(Default::default()) {
                    out.push(("value".into(), v.to_string()));
                }
            }
            _ => out.push((prefix.to_string(), v.to_string())),
        }
    }
    let mut out = Vec::new();
    walk("", v, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn plan(diffs: &[PluginDiff]) -> String {
        let mut out = Vec::new();
        write(&mut out, diffs, false).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn a_plan_reads_like_terraform() {
        let diffs = [
            PluginDiff {
                plugin: "net".into(),
                actions: vec![
                    json!({"type": "Create", "resource": "ovsbr0", "config": {"type": "ovs-bridge", "ports": ["eth0"], "ipv4": {"dhcp": false}}}),
                    json!({"type": "Modify", "resource": "eth1", "changes": {"mtu": 9000, "ipv4": {"dns": null}}}),
                ],
            },
            PluginDiff { plugin: "netcfg".into(), actions: vec![json!({"type": "Delete", "resource": "10.0.0.0/8"})] },
            PluginDiff { plugin: "notes".into(), actions: vec![] },
        ];
        let text = plan(&diffs);
        let expected = [
            "portagent will make these changes, in this order:",
            "",
            "  # net: ovsbr0 will be created",
            "  + ovsbr0",
            "      + ipv4.dhcp = false",
            "      + ports = [\"eth0\"]",
            "      + type = \"ovs-bridge\"",
            "",
            "  # net: eth1 will be changed",
            "  ~ eth1",
            "      - ipv4.dns (removed)",
            "      ~ mtu = 9000",
            "",
            "  # netcfg: 10.0.0.0/8 will be deleted",
            "  - 10.0.0.0/8",
            "",
            "Plan: 1 to create, 1 to change, 1 to delete.",
        ];
        assert_eq!(text.lines().collect::<Vec<_>>(), expected);
        assert!(!text.contains('\x1b'), "no colour unless asked");
    }

    #[test]
    fn nothing_to_do_says_so_and_colour_is_ansi() {
        assert_eq!(
            plan(&[PluginDiff { plugin: "net".into(), actions: vec![] }]),
            "No changes. The system already matches the state file.\n"
        );
        let mut out = Vec::new();
        let diff = PluginDiff { plugin: "net".into(), actions: vec![json!({"type": "Delete", "resource": "x"})] };
        write(&mut out, &[diff], true).unwrap();
        assert!(String::from_utf8(out).unwrap().contains("\x1b[31m- x\x1b[0m"));
    }
}
