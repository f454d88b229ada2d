//! The state manager through the real binary, in labs: idempotence and
//! serialized concurrent applies.

use crate::net::{GUIDE_NET, apply, ledger, net_lab, portagent};
use crate::support::text;

#[test]
fn the_same_file_applied_100_times_is_100_no_ops() {
    let lab = net_lab();
    let first = apply(&lab, "net", GUIDE_NET);
    assert!(first.status.success(), "{}", text(&first.stderr));
    for i in 0..100 {
        let out = portagent(&lab, &["apply-state", "/etc/ovs-port-agent/net.yaml", "--detailed-exitcode"]);
        assert_eq!(out.status.code(), Some(0), "run {i}: {}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(text(&out.stdout).trim(), "nothing to do: the system already matches the state file");
    }
    assert_eq!(ledger(&lab).len(), 1, "no-ops record nothing");
}

#[test]
fn concurrent_applies_are_serialized_and_the_last_one_wins() {
    let lab = net_lab();
    // 20 files, each giving ovsbr0 a different address.
    let files: Vec<String> = (0..20)
        .map(|i| {
            let yaml = GUIDE_NET.replace("192.168.1.100", &format!("192.168.1.{}", 100 + i));
            let path = format!("/etc/ovs-port-agent/c{i}.yaml");
            lab.write(&path, yaml.as_bytes()).unwrap();
            path
        })
        .collect();
    let children: Vec<_> = files
        .iter()
        .map(|f| {
            lab.command(env!("CARGO_BIN_EXE_portagent"))
                .args(["apply-state", f, "--output", "json"])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for (i, c) in children.into_iter().enumerate() {
        let out = c.wait_with_output().unwrap();
        assert!(out.status.success(), "apply {i}: {}{}", text(&out.stdout), text(&out.stderr));
    }
    // Every apply that changed something left one entry, in lock order;
    // the live state is the last one's.
    let entries = ledger(&lab);
    assert!(!entries.is_empty() && entries.len() <= 20, "{}", entries.len());
    assert!(entries.iter().all(|e| e["category"] == "apply_state"), "none rolled back");
    let last = entries.last().unwrap();
    let address = last["data"]["plugins"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|a| {
            let changes = if a["type"] == "Create" { &a["config"] } else { &a["changes"] };
            changes
                .get("ipv4")
                .map(|v| v["address"][0]["ip"].clone())
                .or_else(|| changes.get("ipv4.address").map(|v| v[0]["ip"].clone()))
        })
        .unwrap();
    assert_eq!(lab.addresses("ovsbr0").unwrap(), [format!("{}/24", address.as_str().unwrap())]);
    let v = portagent(&lab, &["ledger", "verify"]);
    assert!(text(&v.stdout).starts_with("VALID"), "{}", text(&v.stdout));
}

/// The probe guest as a second plugin, applied after `net`: its section's
/// `run` lists what its apply will do.
pub fn two_plugins(run: &str) -> String {
    format!("{GUIDE_NET}  probe:\n    run: [{run}]\n")
}

/// Installs the probe test guest in the lab, granted `log`.
pub fn install_probe(lab: &portagent_lab::Lab) {
    let probe = std::fs::read(env!("PORTAGENT_GUEST_PROBE")).unwrap();
    lab.write("/etc/ovs-port-agent/probe.wasm", &probe).unwrap();
    let out =
        portagent(lab, &["plugin", "install", "/etc/ovs-port-agent/probe.wasm", "--grant", "log", "--allow-unsigned"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn a_second_plugin_failing_rolls_back_the_first() {
    let lab = net_lab();
    install_probe(&lab);
    let before = crate::net::snapshot(&lab);

    // net applies its three actions, then probe crashes: all of it undone.
    let out = apply(&lab, "crash", &two_plugins("log, panic"));
    assert_eq!(out.status.code(), Some(3), "{}{}", text(&out.stdout), text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["plugins"][0]["plugin"], "net", "net goes first (probe declares after: [net])");
    assert_eq!(r["plugins"][0]["restored"], true, "{r}");
    assert!(r["errors"].to_string().contains("crashed"), "{r}");
    assert_eq!(crate::net::snapshot(&lab), before, "net's changes were rolled back too");
    let entries = ledger(&lab);
    assert_eq!(entries.last().unwrap()["category"], "rollback");
    assert_eq!(entries.last().unwrap()["action"], "net,probe");

    // Both plugins succeeding: applied and verified together.
    let out = apply(&lab, "both", &two_plugins("log"));
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["plugins"].as_array().unwrap().len(), 2, "{r}");
    assert!(r["plugins"].as_array().unwrap().iter().all(|p| p["verified"] == true), "{r}");
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"]);
}

/// Every plugin checkpoints under the host's id for the apply (the one
/// the user sees and the ledger records) and is restored with it; a
/// snapshot returned under another id is refused before anything changes.
#[test]
fn plugins_checkpoint_under_the_hosts_id() {
    let lab = net_lab();
    install_probe(&lab);
    let out = apply(&lab, "ids", &two_plugins("checkpoint-id"));
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = r["checkpoint"].as_str().unwrap();
    assert_eq!(r["plugins"][1]["changes_applied"][0], format!("checkpoint {id}"), "{r}");
    assert_eq!(ledger(&lab).last().unwrap()["data"]["checkpoint_id"], id);

    // A failure restores net and probe; probe's restore checks that it
    // got its snapshot back under the id it was taken under.
    let out = apply(&lab, "undo", &two_plugins("log, panic"));
    assert_eq!(out.status.code(), Some(3), "{}{}", text(&out.stdout), text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["rolled_back"], true, "{r}");
    assert!(r["plugins"].as_array().unwrap().iter().all(|p| p["restored"] == true), "{r}");

    let before = crate::net::snapshot(&lab);
    let entries = ledger(&lab).len();
    let out = apply(&lab, "wrong", &two_plugins("checkpoint-wrong-id"));
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stderr).contains("checkpoint returned the snapshot under id"), "{}", text(&out.stderr));
    assert_eq!(crate::net::snapshot(&lab), before, "nothing changed");
    assert_eq!(ledger(&lab).len(), entries, "nothing recorded");
}

/// On a terminal an apply tells each phase as it ends (on stderr, with
/// the time since the command started); piped, it prints the report alone.
#[test]
fn an_apply_on_a_terminal_shows_its_progress() {
    let lab = net_lab();
    lab.write("/etc/ovs-port-agent/net.yaml", GUIDE_NET.as_bytes()).unwrap();
    let shown = crate::net::on_a_terminal(
        &lab,
        &format!("{} apply-state /etc/ovs-port-agent/net.yaml", env!("CARGO_BIN_EXE_portagent")),
    );
    let phases = crate::net::progress_lines(&shown);
    let id = ledger(&lab)[0]["data"]["checkpoint_id"].as_str().unwrap().to_string();
    assert_eq!(phases[0], "planned: 3 action(s) (net 3)", "{shown}");
    assert_eq!(
        phases[1..],
        [
            format!("checkpointed 1 plugin(s) as {id}"),
            "applied net: 3 change(s)".into(),
            "verified net".into(),
            "recorded in the ledger".into()
        ],
        "{shown}"
    );

    // A failure says so, and that it was undone.
    let out = apply(&lab, "quiet", &GUIDE_NET.replace("192.168.1.100", "192.168.1.101"));
    assert!(out.status.success() && !text(&out.stderr).contains("planned:"), "not a terminal: {}", text(&out.stderr));
    install_probe(&lab);
    lab.write("/etc/ovs-port-agent/crash.yaml", two_plugins("log, panic").as_bytes()).unwrap();
    let shown = crate::net::on_a_terminal(
        &lab,
        &format!("{} apply-state /etc/ovs-port-agent/crash.yaml", env!("CARGO_BIN_EXE_portagent")),
    );
    let phases = crate::net::progress_lines(&shown);
    assert!(
        phases.iter().any(|p| p.starts_with("failed: apply: ") && p.contains("probe") && p.ends_with("; rolling back")),
        "{shown}"
    );
    assert!(phases.ends_with(&["rolled back".to_string(), "recorded in the ledger".to_string()]), "{shown}");
}

/// An action body that is not JSON is the plugin's fault, named with the
/// action, and nothing is applied (net's part included).
#[test]
fn an_action_body_that_is_not_json_is_refused_before_anything_changes() {
    let lab = net_lab();
    install_probe(&lab);
    let before = crate::net::snapshot(&lab);
    let out = apply(&lab, "badbody", &two_plugins("log, bad-body"));
    assert_eq!(out.status.code(), Some(1), "{}{}", text(&out.stdout), text(&out.stderr));
    let said = text(&out.stderr);
    assert!(
        said.contains("plugin 'probe' diff") && said.contains("actions[1] (bad-body): the body is not JSON"),
        "{said}"
    );
    assert_eq!(crate::net::snapshot(&lab), before);
    assert!(ledger(&lab).iter().all(|e| e["category"] == "plugin"), "no apply recorded");
}
