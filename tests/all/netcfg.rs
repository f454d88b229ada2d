//! The built-in `netcfg` plugin through the real binary, in a lab: the
//! guide's example after the guide's `net` example, routes and flows made
//! by hand left alone, a refused flow and a failing part rolling back
//! `net` too, networkd restarted, policy rules, confirm-or-revert, and
//! bad input refused with the field named.

use crate::net::{GUIDE_NET, apply, ledger, net_lab, portagent};
use crate::support::text;
use portagent_lab::guide::{CONFIG as GUIDE_CONFIG, NETCFG_STATE as GUIDE_NETCFG};
use portagent_lab::{Daemon, Lab};
use std::process::Output;
use std::time::Duration;

fn report(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", text(&out.stdout), text(&out.stderr)))
}

fn ok(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    report(out)
}

/// A lab with the guide's config and the guide's `net` example applied.
fn guide_lab() -> Lab {
    let lab = net_lab();
    lab.write("/etc/ovs-port-agent/config.toml", GUIDE_CONFIG.as_bytes()).unwrap();
    ok(&apply(&lab, "net", GUIDE_NET));
    lab
}

/// portagent's flows and everyone else's on `bridge`, as `ovs-ofctl` shows them.
fn flows(lab: &Lab, bridge: &str) -> Vec<String> {
    let out = lab.sh(&format!("ovs-ofctl --no-stats dump-flows {bridge}")).unwrap();
    let mut v: Vec<String> = out.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
    v.sort();
    v
}

fn machine_hostname() -> (String, String) {
    let kernel = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap();
    (kernel, std::fs::read_to_string("/etc/hostname").unwrap_or_default())
}

#[test]
fn guide_example_applies_after_the_net_example_and_reapplies_as_a_no_op() {
    let machine = machine_hostname();
    let lab = guide_lab();
    let r = ok(&apply(&lab, "netcfg", GUIDE_NETCFG));
    assert_eq!(r["success"], true, "{r}");
    assert_eq!(r["plugins"][0]["plugin"], "netcfg", "{r}");
    assert_eq!(r["plugins"][0]["verified"], true, "{r}");

    let route = lab.sh("ip route show 10.0.0.0/8").unwrap();
    assert!(route.contains("10.0.0.0/8 via 192.168.1.254 dev ovsbr0") && route.contains("metric 100"), "{route}");
    assert_eq!(lab.sh("hostname").unwrap().trim(), "netmaker-server");
    assert_eq!(lab.sh("cat /etc/hostname").unwrap().trim(), "netmaker-server");
    assert_eq!(machine_hostname(), machine, "the machine's own hostname and /etc/hostname are untouched");
    let status = lab.sh("networkctl status ovsbr0 --no-pager").unwrap();
    assert!(status.contains("vpn.internal") && status.contains("example.com"), "{status}");
    let f = flows(&lab, "ovsbr0");
    let ours: Vec<&String> = f.iter().filter(|l| l.starts_with("cookie=0x706f7274")).collect();
    assert_eq!(ours.len(), 2, "{f:?}");
    assert!(ours.iter().any(|l| l.contains("priority=200,ip,nw_dst=10.0.0.0/8 actions=NORMAL")), "{f:?}");
    assert!(ours.iter().any(|l| l.contains("priority=100,ip,nw_src=192.168.100.0/24 actions=drop")), "{f:?}");
    // Kept in a drop-in of net's file, never in the file itself.
    let dropin = lab.sh("cat /etc/systemd/network/10-portagent-ovsbr0.network.d/50-portagent-netcfg.conf").unwrap();
    assert!(dropin.contains("Destination=10.0.0.0/8") && dropin.contains("Domains=vpn.internal example.com"));
    assert!(!lab.sh("cat /etc/systemd/network/10-portagent-ovsbr0.network").unwrap().contains("10.0.0.0/8"));

    // Again: zero actions.
    let again = ok(&apply(&lab, "netcfg", GUIDE_NETCFG));
    assert_eq!(again["plugins"], serde_json::json!([]), "{again}");
    let diff = portagent(&lab, &["show-diff", "/etc/ovs-port-agent/netcfg.yaml"]);
    assert_eq!(text(&diff.stdout).trim(), "{\n  \"plugin\": \"netcfg\",\n  \"actions\": []\n}");

    // The guide's query works, and what it says re-applies as a no-op.
    let q = portagent(&lab, &["query-state", "--plugin", "netcfg"]);
    assert!(q.status.success(), "{}", text(&q.stderr));
    let queried = text(&q.stdout);
    assert!(queried.contains("netmaker-server") && queried.contains("ip,nw_dst=10.0.0.0/8"), "{queried}");
    let back = ok(&apply(&lab, "queried", &queried));
    assert_eq!(back["plugins"], serde_json::json!([]), "query output re-applies as a no-op: {back}\n{queried}");
}

#[test]
fn routes_and_flows_made_by_hand_survive_applies() {
    let lab = guide_lab();
    ok(&apply(&lab, "netcfg", GUIDE_NETCFG));
    lab.sh("ip route add 172.16.0.0/16 via 192.168.1.2 dev ovsbr0").unwrap();
    lab.sh("ip rule add from 10.9.0.0/16 table 90 priority 900").unwrap();
    lab.sh("ovs-ofctl add-flow ovsbr0 'cookie=0x77,priority=5,arp,actions=normal'").unwrap();

    let changed = GUIDE_NETCFG.replace("metric: 100", "metric: 50").replace("priority: 100", "priority: 110");
    ok(&apply(&lab, "changed", &changed));
    ok(&apply(&lab, "netcfg", GUIDE_NETCFG));

    assert!(lab.sh("ip route show 172.16.0.0/16").unwrap().contains("via 192.168.1.2"), "the admin's route stays");
    assert!(lab.sh("ip rule").unwrap().contains("900:"), "the admin's rule stays");
    let f = flows(&lab, "ovsbr0");
    assert!(f.iter().any(|l| l.starts_with("cookie=0x77,") && l.contains("arp")), "the admin's flow stays: {f:?}");
    assert!(f.iter().any(|l| l.contains("priority=100,ip,nw_src")), "{f:?}");
    assert!(!f.iter().any(|l| l.contains("priority=110")), "the old flow is gone: {f:?}");
    let routes = lab.sh("ip route show 10.0.0.0/8").unwrap();
    assert!(routes.contains("metric 100") && !routes.contains("metric 50"), "{routes}");
}

#[test]
fn a_flow_ovs_refuses_is_refused_before_anything_changes() {
    let lab = guide_lab();
    ok(&apply(&lab, "netcfg", GUIDE_NETCFG));
    let before = flows(&lab, "ovsbr0");
    let entries = ledger(&lab).len();
    let bad = GUIDE_NETCFG.replace("actions: \"drop\"", "actions: \"bogus\"").replace("metric: 100", "metric: 7");
    // OVS's own parser, at show-diff as at apply: exit 2, the flow and its line.
    for verb in ["show-diff", "apply-state"] {
        let path = format!("/etc/ovs-port-agent/bad-{verb}.yaml");
        lab.write(&path, bad.as_bytes()).unwrap();
        let out = portagent(&lab, &[verb, &path]);
        assert_eq!(out.status.code(), Some(2), "{verb}: {}\n{}", text(&out.stdout), text(&out.stderr));
        let err = text(&out.stderr);
        assert!(err.contains("plugins.netcfg.ovs_flows[1]") && err.contains("bogus"), "{verb} names the flow: {err}");
        assert!(err.contains("line "), "{verb} names the line: {err}");
    }
    assert_eq!(flows(&lab, "ovsbr0"), before, "no flow changed");
    assert!(lab.sh("ip route show 10.0.0.0/8").unwrap().contains("metric 100"), "nor the route");
    assert!(!lab.sh("ip route show 10.0.0.0/8").unwrap().contains("metric 7"));
    assert_eq!(ledger(&lab).len(), entries, "nothing was changed, so nothing recorded");
}

#[test]
fn a_failing_netcfg_part_rolls_back_the_net_part_too() {
    let lab = guide_lab();
    let combined = r#"version: 1
plugins:
  net:
    interfaces:
      - name: ovsbr2
        type: ovs-bridge
        ipv4:
          enabled: true
          address:
            - {ip: 10.0.200.1, prefix: 24}
  netcfg:
    routing:
      - {destination: 10.40.0.0/16, gateway: 10.0.201.254, interface: ovsbr2}
"#;
    let out = apply(&lab, "combined", combined);
    assert_eq!(out.status.code(), Some(3), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let r = report(&out);
    assert_eq!(r["rolled_back"], true, "{r}");
    assert!(lab.sh("ip link show ovsbr2").is_err(), "net's bridge was removed again");
    assert!(!lab.vsctl("list-br").unwrap().contains("ovsbr2"));
    assert!(lab.sh("ls /etc/systemd/network").unwrap().lines().all(|f| !f.contains("ovsbr2")));
    let last = ledger(&lab).pop().unwrap();
    assert_eq!(last["category"], "rollback", "{last}");
    assert_eq!(last["action"], "net,netcfg", "the entry names both plugins: {last}");
}

#[test]
fn routes_come_back_when_networkd_restarts() {
    let mut lab = guide_lab();
    let state = r#"version: 1
plugins:
  netcfg:
    routing:
      - {destination: 10.0.0.0/8, gateway: 192.168.1.254, interface: ovsbr0, metric: 100}
      - {destination: 10.20.0.0/16, gateway: 192.168.1.253, table: 100}
      - {destination: 10.30.0.0/16, type: blackhole}
    rules:
      - {priority: 1000, from: 10.1.0.0/16, table: 100}
    dns:
      search_domains: [vpn.internal]
      servers: [9.9.9.9]
"#;
    ok(&apply(&lab, "netcfg", state));
    assert!(lab.sh("ip route show table 100").unwrap().contains("10.20.0.0/16 via 192.168.1.253"));
    assert!(lab.sh("ip route show 10.30.0.0/16").unwrap().contains("blackhole"));
    assert!(lab.sh("ip rule").unwrap().contains("1000:\tfrom 10.1.0.0/16 lookup 100"));

    lab.stop_daemon(Daemon::Networkd, libc::SIGTERM).unwrap();
    lab.sh("ip route del 10.0.0.0/8; ip route del 10.20.0.0/16 table 100; ip rule del priority 1000").unwrap();
    lab.start_daemon(Daemon::Networkd).unwrap();
    lab.wait_until(Duration::from_secs(20), "netcfg's routes and rule back from its drop-in", || {
        lab.sh("ip route show 10.0.0.0/8").is_ok_and(|r| r.contains("via 192.168.1.254"))
            && lab.sh("ip route show table 100").is_ok_and(|r| r.contains("10.20.0.0/16"))
            && lab.sh("ip rule").is_ok_and(|r| r.contains("1000:"))
    })
    .unwrap();
    let status = lab.sh("networkctl status ovsbr0 --no-pager").unwrap();
    assert!(status.contains("vpn.internal") && status.contains("9.9.9.9"), "{status}");
    let again = ok(&apply(&lab, "netcfg", state));
    assert_eq!(again["plugins"], serde_json::json!([]), "{again}");

    // `state: absent` removes a route and a rule, from the kernel and the drop-in.
    let absent = state
        .replace("type: blackhole}", "type: blackhole, state: absent}")
        .replace("table: 100}\n    dns", "table: 100, state: absent}\n    dns");
    ok(&apply(&lab, "absent", &absent));
    assert!(lab.sh("ip route show 10.30.0.0/16").unwrap().trim().is_empty());
    assert!(!lab.sh("ip rule").unwrap().contains("1000:"));
    let dropin = lab.sh("cat /etc/systemd/network/10-portagent-ovsbr0.network.d/50-portagent-netcfg.conf").unwrap();
    assert!(!dropin.contains("10.30.0.0/16") && !dropin.contains("Priority=1000"), "{dropin}");
}

/// Flows live in ovs-vswitchd's memory: stopped and started (a crash, not
/// `ovs-ctl restart`, which saves and restores them), they are gone.
/// show-diff says so and a re-apply of the same file puts back exactly them.
#[test]
fn flows_come_back_with_a_reapply_after_ovs_vswitchd_restarts() {
    let mut lab = guide_lab();
    ok(&apply(&lab, "netcfg", GUIDE_NETCFG));
    let before = flows(&lab, "ovsbr0");
    lab.stop_daemon(Daemon::OvsVswitchd, libc::SIGKILL).unwrap();
    lab.start_daemon(Daemon::OvsVswitchd).unwrap();
    lab.wait_until(Duration::from_secs(20), "ovsbr0 back", || lab.sh("ovs-ofctl --no-stats dump-flows ovsbr0").is_ok())
        .unwrap();
    assert!(flows(&lab, "ovsbr0").iter().all(|l| !l.starts_with("cookie=0x706f7274")), "gone with ovs-vswitchd");

    let diff = portagent(&lab, &["show-diff", "/etc/ovs-port-agent/netcfg.yaml"]);
    let plan: serde_json::Value = serde_json::from_slice(&diff.stdout).unwrap();
    let actions = plan["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1, "{plan}");
    assert_eq!(actions[0]["type"], "Create", "{plan}");
    assert_eq!(actions[0]["resource"], "flows ovsbr0", "{plan}");
    assert_eq!(actions[0]["config"]["flows"].as_array().unwrap().len(), 2, "{plan}");
    let r = ok(&apply(&lab, "netcfg", GUIDE_NETCFG));
    assert_eq!(r["plugins"][0]["verified"], true, "{r}");
    assert_eq!(flows(&lab, "ovsbr0"), before);
}

#[test]
fn rollback_brings_every_netcfg_change_back() {
    let lab = guide_lab();
    let hostname = lab.sh("hostname").unwrap();
    let flows_before = flows(&lab, "ovsbr0");
    lab.write("/etc/ovs-port-agent/netcfg.yaml", GUIDE_NETCFG.as_bytes()).unwrap();
    let out = portagent(&lab, &["apply-state", "/etc/ovs-port-agent/netcfg.yaml", "--confirm-timeout", "120"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(lab.sh("hostname").unwrap().trim(), "netmaker-server");
    let undo = portagent(&lab, &["rollback"]);
    assert!(undo.status.success(), "{}\n{}", text(&undo.stdout), text(&undo.stderr));
    assert_eq!(lab.sh("hostname").unwrap(), hostname);
    assert!(lab.sh("ip route show 10.0.0.0/8").unwrap().trim().is_empty());
    assert_eq!(flows(&lab, "ovsbr0"), flows_before);
    let status = lab.sh("networkctl status ovsbr0 --no-pager").unwrap();
    assert!(!status.contains("vpn.internal"), "{status}");
    assert!(
        lab.sh("ls /etc/systemd/network/10-portagent-ovsbr0.network.d/ 2>/dev/null").unwrap_or_default().is_empty()
    );
}

#[test]
fn bad_input_is_refused_with_the_field_and_line_and_nothing_changes() {
    let lab = guide_lab();
    let cases = [
        ("destination: 10.0.0.0/8", "destination: 10.0.0.0", "routing[0].destination", 6),
        ("gateway: 192.168.1.254", "gateway: 192.168.1", "routing[0].gateway", 7),
        ("metric: 100", "metric: 5000000000", "routing[0].metric", 9),
        ("hostname: netmaker-server", "hostname: netmaker_server", "dns.hostname", 12),
        ("priority: 200", "priority: 70000", "ovs_flows[0].priority", 20),
        ("- bridge: ovsbr0\n        priority: 200", "- priority: 200", "ovs_flows[0]", 19),
    ];
    let before = (lab.sh("ip route").unwrap(), lab.sh("hostname").unwrap(), flows(&lab, "ovsbr0"));
    for (from, to, field, line) in cases {
        let bad = GUIDE_NETCFG.replacen(from, to, 1);
        assert_ne!(bad, GUIDE_NETCFG, "{from}");
        let out = apply(&lab, "bad", &bad);
        assert_eq!(out.status.code(), Some(2), "{to}: {}\n{}", text(&out.stdout), text(&out.stderr));
        let said = text(&out.stderr) + &text(&out.stdout);
        assert!(said.contains(field), "{to}: names {field}: {said}");
        assert!(said.contains(&format!("line {line}")), "{to}: names line {line}: {said}");
    }
    assert_eq!((lab.sh("ip route").unwrap(), lab.sh("hostname").unwrap(), flows(&lab, "ovsbr0")), before);
}

/// Issue 27, item 1: a drop-in of netcfg's edited behind it (a route cut
/// out: networkd would drop the route at its next reload) is reported by
/// show-diff and written again by the next apply, from its record.
#[test]
fn a_drop_in_changed_behind_netcfg_is_reported_and_written_again() {
    let lab = guide_lab();
    ok(&apply(&lab, "netcfg", GUIDE_NETCFG));
    let path = "/etc/systemd/network/10-portagent-ovsbr0.network.d/50-portagent-netcfg.conf";
    let written = lab.read(path).unwrap();
    assert!(written.contains("Destination=10.0.0.0/8"), "{written}");
    lab.write(path, written.replace("Destination=10.0.0.0/8", "Destination=10.99.0.0/16").as_bytes()).unwrap();
    let diff = portagent(&lab, &["show-diff", "/etc/ovs-port-agent/netcfg.yaml"]);
    let plan = report(&diff);
    let actions = plan["actions"].as_array().unwrap();
    assert_eq!(actions.len(), 1, "{plan}");
    assert_eq!(actions[0]["resource"], "dropin 10-portagent-ovsbr0.network", "{plan}");
    assert!(
        actions[0]["changes"]["networkd_file"].as_str().is_some_and(|w| w.contains("changed behind portagent")),
        "{plan}"
    );
    ok(&apply(&lab, "netcfg", GUIDE_NETCFG));
    assert_eq!(lab.read(path).unwrap(), written, "written again from its record");
    lab.sh("networkctl reload && sleep 1").unwrap();
    let route = lab.sh("ip route show 10.0.0.0/8").unwrap();
    assert!(route.contains("10.0.0.0/8 via 192.168.1.254 dev ovsbr0"), "checked with ip after a reload: {route}");
    let again = portagent(&lab, &["show-diff", "/etc/ovs-port-agent/netcfg.yaml"]);
    assert_eq!(text(&again.stdout).trim(), "{\n  \"plugin\": \"netcfg\",\n  \"actions\": []\n}");
}
