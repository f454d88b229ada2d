//! Plugins in other languages: a Python guest (componentize-py) and a
//! JavaScript guest (componentize-js), built from `tests/guests-lang/` by
//! `scripts/lang-guests` against the whole `state-plugin` world, installed
//! with `portagent plugin install` and applied beside `net` in one file.

use crate::net::{GUIDE_NET, apply, ledger, net_lab, portagent, snapshot};
use crate::support::text;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::OnceLock;

/// The built guests, by name (`pynote`, `jsnote`): built once per test
/// run, cached across runs in the target dir.
fn lang_guest(name: &str) -> PathBuf {
    static BUILT: OnceLock<HashMap<String, PathBuf>> = OnceLock::new();
    let built = BUILT.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // <target>/release/deps/all-HASH
        let out = exe.ancestors().nth(3).unwrap().join("lang-guests");
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
        let run = std::process::Command::new(root.join("scripts/lang-guests"))
            .arg(&out)
            .env("PORTAGENT_BIN", env!("CARGO_BIN_EXE_portagent"))
            .output()
            .unwrap();
        assert!(run.status.success(), "scripts/lang-guests: {}", text(&run.stderr));
        text(&run.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(n, p)| (n.to_string(), PathBuf::from(p)))
            .collect()
    });
    built[name].clone()
}

/// `(plugin, its section's sabotage word for an exception)`.
const GUESTS: [(&str, &str, &str); 2] = [("pynote", "raise", "Python"), ("jsnote", "throw", "JavaScript")];

fn install(lab: &portagent_lab::Lab, name: &str) {
    let wasm = std::fs::read(lang_guest(name)).unwrap();
    let path = format!("/etc/ovs-port-agent/{name}.wasm");
    lab.write(&path, &wasm).unwrap();
    let out = portagent(lab, &["plugin", "install", &path, "--yes", "--allow-unsigned"]);
    assert!(out.status.success(), "{name}: {}{}", text(&out.stdout), text(&out.stderr));
    let shown = text(&out.stdout);
    // The toolchain imports the whole world; what it did not ask for is denied.
    assert!(shown.contains("imports but does not ask for (every call denied): hostname, netlink"), "{shown}");
}

fn notes_yaml(name: &str, notes: &str, sabotage: Option<&str>) -> String {
    let mut s = format!("{GUIDE_NET}  {name}:\n    notes: {{{notes}}}\n");
    if let Some(word) = sabotage {
        s.push_str(&format!("    sabotage: {word}\n"));
    }
    s
}

fn external_ids(lab: &portagent_lab::Lab) -> String {
    lab.vsctl("get Open_vSwitch . external_ids").unwrap().trim().to_string()
}

#[test]
fn python_and_javascript_plugins_install_and_apply_beside_net() {
    let lab = net_lab();
    for (name, ..) in GUESTS {
        install(&lab, name);
    }
    let yaml =
        format!("{GUIDE_NET}  pynote:\n    notes: {{rack: r12, owner: ops}}\n  jsnote:\n    notes: {{row: b}}\n");
    let out = apply(&lab, "all", &yaml);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let order: Vec<&str> = r["plugins"].as_array().unwrap().iter().map(|p| p["plugin"].as_str().unwrap()).collect();
    assert_eq!(order, ["net", "jsnote", "pynote"], "net first (after: [net]), then by name: {r}");
    assert!(r["plugins"].as_array().unwrap().iter().all(|p| p["verified"] == true), "{r}");
    let ids = external_ids(&lab);
    for pair in ["\"pynote:rack\"=r12", "\"pynote:owner\"=ops", "\"jsnote:row\"=b"] {
        assert!(ids.contains(pair), "{pair} in {ids}");
    }
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"], "net's part applied too");
    // Each section's schema comes from its plugin's `schema` export.
    let schema = portagent(&lab, &["schema"]);
    assert!(schema.status.success(), "{}", text(&schema.stderr));
    let schema: serde_json::Value = serde_json::from_slice(&schema.stdout).unwrap();
    for (name, ..) in GUESTS {
        let notes = &schema["properties"]["plugins"]["properties"][name]["properties"]["notes"];
        assert_eq!(notes["additionalProperties"]["type"], "string", "{name}: {schema:#}");
    }
    // The ledger names each plugin that ran: name, version, component sha256.
    let entry = ledger(&lab).pop().unwrap();
    let ran: Vec<(String, String)> = entry["data"]["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["name"].as_str().unwrap().to_string(), p["sha256"].as_str().unwrap().to_string()))
        .collect();
    let sha = |name: &str| portagent::util::hash::sha256_hex(&std::fs::read(lang_guest(name)).unwrap());
    assert_eq!(ran[1], ("jsnote".to_string(), sha("jsnote")), "{entry}");
    assert_eq!(ran[2], ("pynote".to_string(), sha("pynote")), "{entry}");
    assert_eq!(entry["data"]["plugins"][2]["version"], "0.1.0");
    assert_eq!(ran[0].0, "net");
    assert_eq!(ran[0].1.len(), 64, "the built-in's sha256 too");

    // Again: nothing to do. query-state's output re-applies as a no-op.
    let again = apply(&lab, "all", &yaml);
    let r: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(r["plugins"], serde_json::json!([]), "{r}");
    for (name, ..) in GUESTS {
        let q = portagent(&lab, &["query-state", "--plugin", name]);
        assert!(q.status.success(), "{name}: {}", text(&q.stderr));
        let r: serde_json::Value = serde_json::from_slice(&apply(&lab, name, &text(&q.stdout)).stdout).unwrap();
        assert_eq!(r["plugins"], serde_json::json!([]), "{name}: {}", text(&q.stdout));
    }

    // A bad field is named, with its plugin, and nothing changes.
    let before = snapshot(&lab);
    let out = apply(&lab, "bad", &notes_yaml("pynote", "Rack: r1", None));
    assert_eq!(out.status.code(), Some(2), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("notes.Rack"), "{}", text(&out.stderr));
    assert_eq!(snapshot(&lab), before);
}

/// A verify mismatch in either language's plugin undoes the whole apply,
/// net's part included.
#[test]
fn a_verify_mismatch_in_a_python_or_javascript_plugin_rolls_everything_back() {
    let lab = net_lab();
    for (name, ..) in GUESTS {
        install(&lab, name);
    }
    for (name, ..) in GUESTS {
        let before = (snapshot(&lab), external_ids(&lab));
        let out = apply(&lab, name, &notes_yaml(name, "rack: r12", Some("verify")));
        assert_eq!(out.status.code(), Some(3), "{name}: {}{}", text(&out.stdout), text(&out.stderr));
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert!(r["errors"].to_string().contains(&format!("{name}:rack")), "{name}: {r}");
        assert!(r["plugins"].as_array().unwrap().iter().all(|p| p["restored"] == true), "{name}: {r}");
        assert_eq!((snapshot(&lab), external_ids(&lab)), before, "{name}: everything was rolled back");
        let last = ledger(&lab).pop().unwrap();
        assert_eq!(
            (last["category"].as_str(), last["data"]["result"].as_str()),
            (Some("rollback"), Some("rolled_back"))
        );
        assert_eq!(last["action"], format!("net,{name}"));
    }
}

/// An exception in the guest is a crash whose message the admin reads.
#[test]
fn a_python_exception_and_a_javascript_error_reach_the_admin() {
    let lab = net_lab();
    for (name, word, language) in GUESTS {
        install(&lab, name);
        let before = snapshot(&lab);
        let out = apply(&lab, name, &notes_yaml(name, "rack: r12", Some(word)));
        assert_eq!(out.status.code(), Some(3), "{language}: {}{}", text(&out.stdout), text(&out.stderr));
        let shown = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert!(shown.contains(&format!("{name} was asked to {word} (note rack)")), "{language}: {shown}");
        if language == "Python" {
            assert!(shown.contains("crashed: an uncaught Python exception; it wrote: Traceback"), "{shown}");
        }
        assert_eq!(snapshot(&lab), before, "{language}: rolled back");
        // The daemon-less CLI keeps a short error in the ledger, not a backtrace.
        let last = ledger(&lab).pop().unwrap();
        assert!(last["data"]["errors"].to_string().len() < 4096, "{language}: {last}");
    }
}

/// The author kit: `plugin new` in each language makes a project that
/// builds with its own build script, installs, applies beside `net`,
/// re-applies as a no-op, and reads back.
#[test]
fn plugin_new_makes_a_project_that_builds_installs_and_applies_in_every_language() {
    lang_guest("pynote"); // the toolchains are there (built once)
    let lab = net_lab();
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let target = exe.ancestors().nth(3).unwrap().to_path_buf();
    let tools = std::env::var("PORTAGENT_TOOLS").unwrap_or_else(|_| "/var/tmp/portagent-tools".into());
    let mut yaml = GUIDE_NET.to_string();
    for (lang, name) in [("rust", "kit-rust"), ("python", "kit-python"), ("js", "kit-js")] {
        let project = dir.path().join(name);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_portagent"))
            .args(["plugin", "new", name, "--lang", lang, "--dir"])
            .arg(&project)
            .output()
            .unwrap();
        assert!(out.status.success(), "{lang}: {}", text(&out.stderr));
        let built = std::process::Command::new(project.join("build.sh"))
            .env("CARGO_TARGET_DIR", target.join("kit-target"))
            .env("PORTAGENT_TOOLS", &tools)
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap();
        assert!(built.status.success(), "{lang}: {}{}", text(&built.stdout), text(&built.stderr));
        let wasm = std::fs::read(project.join(format!("{name}.wasm"))).unwrap();
        let path = format!("/etc/ovs-port-agent/{name}.wasm");
        lab.write(&path, &wasm).unwrap();
        let out = portagent(&lab, &["plugin", "install", &path, "--yes", "--allow-unsigned"]);
        assert!(out.status.success(), "{lang}: {}", text(&out.stderr));
        // The project's own example, beside net's.
        let example = std::fs::read_to_string(project.join("state.yaml")).unwrap();
        yaml.push_str(example.split_once("plugins:\n").unwrap().1);
    }
    let out = apply(&lab, "kit", &yaml);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let ids = external_ids(&lab);
    for name in ["kit-rust", "kit-python", "kit-js"] {
        assert!(ids.contains(&format!("\"{name}:rack\"=r12")), "{name} in {ids}");
    }
    let again = apply(&lab, "kit", &yaml);
    let r: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(r["plugins"], serde_json::json!([]), "{r}");
}

/// Issue 27, authors' list: plain `plugin remove` leaves what the plugin
/// made (its notes stay in OVSDB, and no plugin owns them any more);
/// `--purge` applies its section empty first, as a recorded change, so
/// the notes go with it. Checked with ovs-vsctl.
#[test]
fn plugin_remove_purge_takes_away_what_the_plugin_made() {
    let lab = net_lab();
    for (name, ..) in GUESTS {
        install(&lab, name);
    }
    let yaml = format!("{GUIDE_NET}  pynote:\n    notes: {{rack: r12}}\n  jsnote:\n    notes: {{row: b}}\n");
    let out = apply(&lab, "all", &yaml);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let before = ledger(&lab).len();

    let out = portagent(&lab, &["plugin", "remove", "pynote", "--purge"]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("purged: 1 change(s) applied"), "{}", text(&out.stdout));
    let out = portagent(&lab, &["plugin", "remove", "jsnote"]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let ids = external_ids(&lab);
    assert!(!ids.contains("pynote:"), "purged: {ids}");
    assert!(ids.contains("\"jsnote:row\"=b"), "a plain remove leaves it: {ids}");
    let entries = ledger(&lab);
    let new: Vec<(String, String)> = entries[before..]
        .iter()
        .map(|e| (e["category"].as_str().unwrap().into(), e["data"]["action"].as_str().unwrap_or("").into()))
        .collect();
    let expected = [("apply_state", ""), ("plugin", "remove"), ("plugin", "remove")].map(|(c, a)| (c.into(), a.into()));
    assert_eq!(new, expected, "the purge is an apply of its own, then the removal");
    assert_eq!(entries[before]["data"]["plugins"][0]["plugin"], "pynote");
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"], "net's part untouched");
}
