//! The state manager's safety nets through the real binary, in labs:
//! confirm-or-revert (`--confirm-timeout`, `commit`, `rollback`), the
//! connectivity probe, and recovery after portagent is killed mid-apply.

use crate::net::{GUIDE_NET, apply, ledger, net_lab, portagent, snapshot};
use crate::support::text;
use portagent_lab::Lab;
use std::time::{Duration, Instant};

const JOURNAL: &str = "/var/lib/ovs-port-agent/journal.json";

fn write_guide(lab: &Lab) -> &'static str {
    lab.write("/etc/ovs-port-agent/net.yaml", GUIDE_NET.as_bytes()).unwrap();
    "/etc/ovs-port-agent/net.yaml"
}

fn json(out: &std::process::Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

#[test]
fn an_unconfirmed_change_rolls_back_by_itself() {
    let lab = net_lab();
    let before = snapshot(&lab);
    let file = write_guide(&lab);
    let started = Instant::now();
    let out = portagent(&lab, &["apply-state", file, "--confirm-timeout", "3", "--output", "json"]);
    let r = json(&out);
    assert!(out.status.success(), "{r}");
    assert_eq!(r["pending_confirmation"]["seconds"], 3, "{r}");
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"], "applied while it awaits confirmation");

    // Nothing else is applied meanwhile.
    let other = apply(&lab, "other", &GUIDE_NET.replace("192.168.1.100", "192.168.1.101"));
    assert_eq!(other.status.code(), Some(4), "{}", text(&other.stderr));
    assert!(text(&other.stderr).contains("awaits confirmation"), "{}", text(&other.stderr));

    // No commit: the timer rolls it back, with no portagent command run.
    lab.wait_until(Duration::from_secs(20), "the unconfirmed change settled", || !lab.path(JOURNAL).exists()).unwrap();
    assert!(started.elapsed() >= Duration::from_secs(3), "not before the deadline: {:?}", started.elapsed());
    assert_eq!(snapshot(&lab), before, "rolled back");
    let last = ledger(&lab).pop().unwrap();
    assert_eq!(last["category"], "rollback", "{last}");
    assert_eq!(last["data"]["reason"], "confirm timeout expired", "{last}");
    assert_eq!(last["data"]["result"], "rolled_back", "{last}");

    // Too late: rolled back, as the README says (exit 3), not "nothing".
    let late = portagent(&lab, &["commit"]);
    assert_eq!(late.status.code(), Some(3), "{}", text(&late.stderr));
    assert!(text(&late.stderr).contains("was not confirmed in time"), "{}", text(&late.stderr));
}

#[test]
fn commit_keeps_and_rollback_undoes_a_pending_change() {
    let lab = net_lab();
    let before = snapshot(&lab);
    let file = write_guide(&lab);

    // rollback: back to before at once.
    let out = portagent(&lab, &["apply-state", file, "--confirm-timeout", "120"]);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("run `portagent commit`"), "{}", text(&out.stdout));
    let undo = portagent(&lab, &["rollback"]);
    assert!(undo.status.success(), "{}{}", text(&undo.stdout), text(&undo.stderr));
    assert!(text(&undo.stdout).starts_with("rolled back change chkpt-"), "{}", text(&undo.stdout));
    assert_eq!(snapshot(&lab), before);

    // commit: kept, also after the deadline has passed.
    let out = portagent(&lab, &["apply-state", file, "--confirm-timeout", "2", "--output", "json"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let commit = portagent(&lab, &["commit", "--output", "json"]);
    assert!(commit.status.success(), "{}", text(&commit.stderr));
    assert_eq!(json(&commit)["result"], "committed");
    let applied = snapshot(&lab);
    std::thread::sleep(Duration::from_secs(4));
    assert_eq!(snapshot(&lab), applied, "a committed change stays");
    assert!(applied.contains("192.168.1.100/24"));

    let categories: Vec<String> = ledger(&lab)
        .iter()
        .map(|e| format!("{}:{}", e["category"].as_str().unwrap(), e["data"]["result"].as_str().unwrap()))
        .collect();
    assert_eq!(
        categories,
        [
            "apply_state:pending_confirmation",
            "rollback:rolled_back",
            "apply_state:pending_confirmation",
            "commit:committed"
        ]
    );
    let v = portagent(&lab, &["ledger", "verify"]);
    assert!(text(&v.stdout).starts_with("VALID"), "{}", text(&v.stdout));
}

#[test]
fn a_failed_connectivity_probe_rolls_back() {
    let lab = net_lab();
    let before = snapshot(&lab);
    let file = write_guide(&lab);
    // 192.168.1.77 does not exist on the uplink's network.
    let out = portagent(&lab, &["apply-state", file, "--probe", "192.168.1.77", "--output", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}{}", text(&out.stdout), text(&out.stderr));
    let r = json(&out);
    assert!(r["errors"][0].as_str().unwrap().starts_with("connectivity probe: 192.168.1.77"), "{r}");
    assert_eq!(r["plugins"][0]["restored"], true, "{r}");
    assert_eq!(snapshot(&lab), before);

    // The gateway answers through the new bridge: kept. (In the file this time.)
    let with_probe = format!("{GUIDE_NET}probe:\n  ping: [192.168.1.1]\n");
    let out = apply(&lab, "probed", &with_probe);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(json(&out)["timings_ms"]["probe"].as_f64().is_some());

    let bad = apply(&lab, "bad-probe", &format!("{GUIDE_NET}probe:\n  ping: ['-f']\n"));
    assert_eq!(bad.status.code(), Some(2));
    assert!(text(&bad.stderr).contains("probe.ping[0]"), "{}", text(&bad.stderr));
    let bad_flag = portagent(&lab, &["apply-state", file, "--probe=-f"]);
    assert_eq!(bad_flag.status.code(), Some(2), "{}", text(&bad_flag.stderr));
    assert!(text(&bad_flag.stderr).contains("probe[0]"), "{}", text(&bad_flag.stderr));
}

#[test]
fn kill_9_between_plugin_applies_is_undone_at_the_next_start() {
    let lab = net_lab();
    crate::state::install_probe(&lab);
    let before = snapshot(&lab);

    // net applies, then probe (after: [net]) sleeps: the pause between the two.
    let yaml = crate::state::two_plugins("\"sleep:60000\"");
    lab.write("/etc/ovs-port-agent/two.yaml", yaml.as_bytes()).unwrap();
    let mut child = lab
        .command(env!("CARGO_BIN_EXE_portagent"))
        .args(["apply-state", "/etc/ovs-port-agent/two.yaml"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    lab.wait_until(Duration::from_secs(30), "net applied and verified", || {
        lab.path(JOURNAL).exists() && lab.addresses("ovsbr0").is_ok_and(|a| a == ["192.168.1.100/24"])
    })
    .unwrap();
    // SAFETY: a process this test started (nsenter execs portagent in place).
    unsafe { libc::kill(child.id() as libc::pid_t, libc::SIGKILL) };
    child.wait().unwrap();
    assert_ne!(snapshot(&lab), before, "net's half of the apply is live");

    // The next start of portagent restores it before doing anything else.
    let out = portagent(&lab, &["query-state", "--plugin", "net"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("rolled back change chkpt-"), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("apply interrupted"), "{}", text(&out.stderr));
    assert_eq!(snapshot(&lab), before);
    assert!(!lab.path(JOURNAL).exists());
    let last = ledger(&lab).pop().unwrap();
    assert_eq!(last["category"], "recovery", "{last}");
    assert_eq!(last["action"], "net,probe", "{last}");
    assert_eq!(last["data"]["result"], "rolled_back", "{last}");

    // And work goes on.
    let out = apply(&lab, "net", GUIDE_NET);
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
}
