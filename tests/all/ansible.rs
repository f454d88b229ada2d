//! The Ansible collection (`ansible/`): its module `ovs_port_agent_state`
//! run by ansible-core (pinned in `scripts/toolchains`) against a lab, the
//! localhost connection inside the lab's namespaces: check mode reports
//! changed and changes nothing, an apply reports changed with the ledger
//! hash, a second run is unchanged, a failed apply is failed and rolled
//! back, and confirm_timeout waits for a confirm task.

use crate::net::{GUIDE_NET, ledger, net_lab, snapshot};
use crate::support::text;
use portagent_lab::Lab;
use serde_json::Value;

/// Runs a playbook of module tasks (each its arguments, YAML indented for
/// a module's mapping) in `lab`; each task's registered result, in order.
fn play(lab: &Lab, flags: &[&str], tasks: &[String]) -> Vec<Value> {
    let mut playbook = String::from("- hosts: localhost\n  gather_facts: false\n  tasks:\n");
    for (i, args) in tasks.iter().enumerate() {
        playbook += &format!(
            "    - ovs.port_agent.ovs_port_agent_state:\n        executable: \"{{{{ portagent }}}}\"\n{args}      register: r{i}\n      ignore_errors: true\n"
        );
    }
    let all: Vec<String> = (0..tasks.len()).map(|i| format!("r{i}")).collect();
    playbook += &format!(
        "    - ansible.builtin.copy:\n        content: \"{{{{ [{}] | to_json }}}}\"\n        dest: /run/ansible-results.json\n      check_mode: false\n",
        all.join(", ")
    );
    lab.write("/etc/ovs-port-agent/playbook.yml", playbook.as_bytes()).unwrap();
    let tools = std::env::var("PORTAGENT_TOOLS").unwrap_or_else(|_| "/var/tmp/portagent-tools".into());
    let out = lab
        .command(format!("{tools}/py/bin/ansible-playbook"))
        .args(["-i", "localhost,", "-c", "local", "/etc/ovs-port-agent/playbook.yml"])
        .args(["-e", &format!("ansible_python_interpreter={tools}/py/bin/python")])
        .args(["-e", &format!("portagent={}", env!("CARGO_BIN_EXE_portagent"))])
        .args(flags)
        .env("ANSIBLE_COLLECTIONS_PATH", format!("{}/../ansible", env!("CARGO_MANIFEST_DIR")))
        .env("ANSIBLE_LOCAL_TEMP", "/run/ansible-local")
        .env("LC_ALL", "C.UTF-8")
        .output()
        .unwrap();
    let results = lab.read("/run/ansible-results.json").unwrap_or_default();
    serde_json::from_str(&results).unwrap_or_else(|e| panic!("{e}: {}{}", text(&out.stdout), text(&out.stderr)))
}

#[test]
fn the_ansible_module_checks_applies_is_idempotent_and_reports_rollbacks() {
    let lab = net_lab();
    lab.write("/etc/ovs-port-agent/net.yaml", GUIDE_NET.as_bytes()).unwrap();
    let apply = "        src: /etc/ovs-port-agent/net.yaml\n".to_string();
    let before = snapshot(&lab);

    // Check mode: changed, nothing applied; --diff shows the plan.
    let r = play(&lab, &["--check", "--diff"], std::slice::from_ref(&apply));
    assert_eq!(r[0]["changed"], true, "{:#}", r[0]);
    assert!(r[0]["diff"]["prepared"].as_str().unwrap().contains("# net: ovsbr0 will be created"), "{:#}", r[0]);
    assert_eq!(snapshot(&lab), before, "check mode changes nothing");
    assert!(ledger(&lab).is_empty());

    // Applied, then unchanged; the result names the ledger entry.
    let r = play(&lab, &[], &[apply.clone(), apply]);
    assert_eq!((r[0]["changed"].clone(), r[0]["failed"].clone()), (true.into(), false.into()), "{:#}", r[0]);
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"]);
    let entries = ledger(&lab);
    assert_eq!(r[0]["ledger_hash"], entries.last().unwrap()["hash"], "{:#}", r[0]);
    assert_eq!(r[0]["checkpoint"], entries.last().unwrap()["data"]["checkpoint_id"]);
    assert_eq!(r[1]["changed"], false, "the second run: {:#}", r[1]);

    // A failed apply (the probe host does not answer): failed, rolled back.
    let moved = GUIDE_NET.replace("192.168.1.100", "192.168.1.150");
    let inline: Value = serde_saphyr::from_str(&moved).unwrap();
    let failing = format!("        state: '{inline}'\n        probe: [192.168.1.77]\n");
    let r = play(&lab, &[], &[failing]);
    assert_eq!(r[0]["failed"], true, "{:#}", r[0]);
    assert_eq!(r[0]["rolled_back"], true, "{:#}", r[0]);
    assert!(r[0]["msg"].as_str().unwrap().contains("rolled back"), "{:#}", r[0]);
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"], "undone");
    assert_eq!(ledger(&lab).last().unwrap()["category"], "rollback");

    // confirm_timeout: pending until the confirm task.
    let tried = format!("        state: '{inline}'\n        confirm_timeout: 120\n");
    let r = play(&lab, &[], &[tried, "        confirm: true\n".into()]);
    assert_eq!(r[0]["changed"], true, "{:#}", r[0]);
    assert!(r[0]["pending_confirmation"]["checkpoint"].is_string(), "{:#}", r[0]);
    assert_eq!(r[1]["changed"], true, "{:#}", r[1]);
    assert_eq!(r[1]["failed"], false, "{:#}", r[1]);
    assert_eq!(ledger(&lab).last().unwrap()["category"], "commit");
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.150/24"]);
}
