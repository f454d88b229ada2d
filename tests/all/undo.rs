//! Undo, case by case (issue 25's reproductions; the property over every
//! field is `roundtrip`): MTUs put back by a requested and an automatic
//! rollback, a restore that keeps failing bounded and settled by hand, and
//! a ledger that cannot be cut, renamed or re-keyed without a record.
//! Each result is read with tools that are not portagent.

use crate::net::{GUIDE_NET, ledger, net_lab, portagent};
use crate::state::install_probe;
use crate::support::text;
use portagent_lab::Lab;
use std::time::Duration;

const JOURNAL: &str = "/var/lib/ovs-port-agent/journal.json";
const LEDGER: &str = "/var/lib/ovs-port-agent/ledger.jsonl";

/// The kernel's MTU of `link` (`ip -j link`).
fn mtu(lab: &Lab, link: &str) -> u64 {
    let v: serde_json::Value = serde_json::from_str(&lab.sh(&format!("ip -j link show dev {link}")).unwrap()).unwrap();
    v[0]["mtu"].as_u64().unwrap()
}

/// OVSDB's `mtu_request` of interface `name` (`ovs-vsctl`): `[]` when unset.
fn mtu_request(lab: &Lab, name: &str) -> String {
    lab.vsctl(&format!("get Interface {name} mtu_request")).unwrap().trim().to_string()
}

/// The guide's net example with `ovsbr1`'s MTU set (and more appended).
fn with_ovsbr1_mtu(mtu: u32) -> String {
    GUIDE_NET.replacen(
        "      - name: ovsbr1\n        type: ovs-bridge\n",
        &format!("      - name: ovsbr1\n        type: ovs-bridge\n        mtu: {mtu}\n"),
        1,
    )
}

fn write(lab: &Lab, name: &str, yaml: &str) -> String {
    let path = format!("/etc/ovs-port-agent/{name}.yaml");
    lab.write(&path, yaml.as_bytes()).unwrap();
    path
}

fn ok(out: &std::process::Output) {
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
}

#[test]
fn a_requested_rollback_puts_an_mtu_back() {
    let lab = net_lab();
    // From OVS's own MTU (no request) and from one asked for before.
    ok(&portagent(&lab, &["apply-state", &write(&lab, "net", GUIDE_NET)]));
    assert_eq!((mtu(&lab, "ovsbr1"), mtu_request(&lab, "ovsbr1").as_str()), (1500, "[]"));
    let changed = write(&lab, "mtu", &with_ovsbr1_mtu(1450));
    ok(&portagent(&lab, &["apply-state", &changed, "--confirm-timeout", "60"]));
    assert_eq!(mtu(&lab, "ovsbr1"), 1450);
    ok(&portagent(&lab, &["rollback"]));
    assert_eq!((mtu(&lab, "ovsbr1"), mtu_request(&lab, "ovsbr1").as_str()), (1500, "[]"), "as it was, request and all");

    ok(&portagent(&lab, &["apply-state", &write(&lab, "mtu1", &with_ovsbr1_mtu(1400))]));
    let mtu2 = write(&lab, "mtu2", &with_ovsbr1_mtu(1450));
    ok(&portagent(&lab, &["apply-state", &mtu2, "--confirm-timeout", "60"]));
    assert_eq!(mtu(&lab, "ovsbr1"), 1450);
    let undo = portagent(&lab, &["rollback"]);
    ok(&undo);
    assert_eq!((mtu(&lab, "ovsbr1"), mtu_request(&lab, "ovsbr1").as_str()), (1400, "1400"));
    assert!(!lab.path(JOURNAL).exists(), "settled");
    let last = ledger(&lab).pop().unwrap();
    assert_eq!((last["category"].as_str(), last["data"]["result"].as_str()), (Some("rollback"), Some("rolled_back")));
    // Nothing wedged: the next apply goes through.
    ok(&portagent(&lab, &["apply-state", &mtu2]));
    assert_eq!(mtu(&lab, "ovsbr1"), 1450);
}

#[test]
fn an_automatic_rollback_puts_mtus_back() {
    let lab = net_lab();
    ok(&portagent(&lab, &["apply-state", &write(&lab, "net", &with_ovsbr1_mtu(1400))]));
    let eth0 = mtu(&lab, "eth0");
    // ovsbr1 to 1600 and the uplink to 1400, then a route the kernel
    // refuses (its gateway is on no link).
    let failing = with_ovsbr1_mtu(1600).replacen(
        "        controller: ovsbr0  # Enslaved to bridge\n",
        "        controller: ovsbr0  # Enslaved to bridge\n        mtu: 1400\n",
        1,
    ) + "  netcfg:\n    routing:\n      - {destination: 10.77.0.0/16, gateway: 172.31.0.1, interface: ovsbr0}\n";
    assert!(failing.contains("mtu: 1600") && failing.contains("mtu: 1400"), "{failing}");
    let out = portagent(&lab, &["apply-state", &write(&lab, "failing", &failing)]);
    assert_eq!(out.status.code(), Some(3), "rolled back: {}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!((mtu(&lab, "ovsbr1"), mtu_request(&lab, "ovsbr1").as_str()), (1400, "1400"));
    assert_eq!((mtu(&lab, "eth0"), mtu_request(&lab, "eth0").as_str()), (eth0, "[]"));
}

/// `net`'s guide section and the probe's, with `rollback_max_attempts`.
fn probe_lab(max_attempts: u32) -> Lab {
    let lab = net_lab();
    lab.write(
        "/etc/ovs-port-agent/config.toml",
        format!("datapath_type = \"netdev\"\nrollback_max_attempts = {max_attempts}\n").as_bytes(),
    )
    .unwrap();
    install_probe(&lab);
    lab
}

#[test]
fn a_restore_that_keeps_failing_is_bounded_and_settled_by_hand() {
    let lab = probe_lab(3);
    let broken = write(&lab, "broken", &crate::state::two_plugins("restore-fails, fail"));
    let out = portagent(&lab, &["apply-state", &broken]);
    assert_eq!(out.status.code(), Some(6), "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(lab.vsctl("list-br").unwrap().trim().is_empty(), "net was restored: {}", lab.vsctl("show").unwrap());
    let failed_entries = || ledger(&lab).iter().filter(|e| e["data"]["result"] == "rollback_failed").count();
    assert_eq!(failed_entries(), 1);

    // Each command retries (attempts 2 and 3): the same failure is not
    // recorded again.
    for _ in 0..2 {
        let q = portagent(&lab, &["query-state", "--plugin", "net"]);
        assert_eq!(q.status.code(), Some(6), "{}", text(&q.stderr));
    }
    assert_eq!(failed_entries(), 1, "one entry per outcome, not per attempt");
    // Past rollback_max_attempts: no more tries by itself, and it says
    // what to do.
    let out = portagent(&lab, &["apply-state", &write(&lab, "net", GUIDE_NET)]);
    assert_eq!(out.status.code(), Some(6));
    let said = text(&out.stderr);
    assert!(said.contains("stopped retrying by itself") && said.contains("recover --abandon"), "{said}");
    let journal: serde_json::Value = serde_json::from_str(&lab.read(JOURNAL).unwrap()).unwrap();
    assert_eq!(journal["attempts"], 3, "{journal}");

    // The plugin cannot go while its restore is unsettled.
    let remove = portagent(&lab, &["plugin", "remove", "probe"]);
    assert_eq!(remove.status.code(), Some(2), "{}", text(&remove.stderr));
    assert!(text(&remove.stderr).contains("--abandon"), "{}", text(&remove.stderr));
    // `recover` tries once more however often it failed: still failing.
    let again = portagent(&lab, &["recover"]);
    assert_eq!(again.status.code(), Some(6), "{}{}", text(&again.stdout), text(&again.stderr));

    // The admin settles it by hand; the ledger says so, and why.
    let abandon = portagent(&lab, &["recover", "--abandon", "--reason", "probe is broken, removing it"]);
    ok(&abandon);
    assert!(text(&abandon.stdout).contains("abandoned"), "{}", text(&abandon.stdout));
    assert!(!lab.path(JOURNAL).exists());
    let last = ledger(&lab).pop().unwrap();
    assert_eq!((last["category"].as_str(), last["data"]["result"].as_str()), (Some("recovery"), Some("abandoned")));
    assert_eq!(last["data"]["reason"], "probe is broken, removing it");
    assert_eq!(last["data"]["attempts"], 4, "{last}");
    assert!(last["data"]["errors"].to_string().contains("restore was asked to fail"), "{last}");
    let nothing = portagent(&lab, &["recover"]);
    assert_eq!(nothing.status.code(), Some(1), "nothing left: {}", text(&nothing.stderr));

    ok(&portagent(&lab, &["plugin", "remove", "probe"]));
    ok(&portagent(&lab, &["apply-state", &write(&lab, "net", GUIDE_NET)]));
    let v = portagent(&lab, &["ledger", "verify"]);
    assert!(text(&v.stdout).starts_with("VALID"), "{}", text(&v.stdout));
}

#[test]
fn removing_a_plugin_with_abandon_settles_its_failed_restore_first() {
    let lab = probe_lab(10);
    let out =
        portagent(&lab, &["apply-state", &write(&lab, "broken", &crate::state::two_plugins("restore-fails, fail"))]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    let remove = portagent(&lab, &["plugin", "remove", "probe", "--abandon", "--reason", "a broken plugin"]);
    ok(&remove);
    assert!(text(&remove.stdout).contains("abandoned change"), "{}", text(&remove.stdout));
    let kinds: Vec<String> = ledger(&lab)
        .iter()
        .rev()
        .take(2)
        .map(|e| match e["category"].as_str().unwrap() {
            "plugin" => format!("plugin:{}", e["data"]["action"].as_str().unwrap()),
            c => format!("{c}:{}", e["data"]["result"].as_str().unwrap()),
        })
        .collect();
    assert_eq!(kinds, ["plugin:remove", "recovery:abandoned"], "{kinds:?}");
    ok(&portagent(&lab, &["apply-state", &write(&lab, "net", GUIDE_NET)]));
}

fn verify_text(lab: &Lab) -> String {
    let out = portagent(lab, &["ledger", "verify"]);
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

#[test]
fn a_cut_ledger_takes_nothing_until_an_admin_records_the_loss() {
    let lab = net_lab();
    let file = write(&lab, "net", GUIDE_NET);
    ok(&portagent(&lab, &["apply-state", &file]));
    for ip in ["192.168.1.101", "192.168.1.102", "192.168.1.103"] {
        ok(&portagent(&lab, &["apply-state", &write(&lab, "other", &GUIDE_NET.replace("192.168.1.100", ip))]));
    }
    let height = ledger(&lab).len();
    lab.sh(&format!("head -n -3 {LEDGER} > {LEDGER}.x && mv {LEDGER}.x {LEDGER}")).unwrap();
    assert!(
        verify_text(&lab)
            .starts_with(&format!("INVALID: the ledger has {} entries but a checkpoint signed {height}", height - 3))
    );

    // Nothing is laundered: no apply, no checkpoint, and so no change.
    let before = crate::net::snapshot(&lab);
    let out = portagent(&lab, &["apply-state", &file]);
    assert_ne!(out.status.code(), Some(0), "refused: {}", text(&out.stderr));
    assert!(text(&out.stderr).contains("ledger reset"), "says the way out: {}", text(&out.stderr));
    assert_eq!(crate::net::snapshot(&lab), before, "nothing changed");
    assert_ne!(portagent(&lab, &["ledger", "checkpoint"]).status.code(), Some(0));
    assert!(verify_text(&lab).starts_with("INVALID"), "still visible: {}", verify_text(&lab));

    // The admin records what was lost; from then on all is well again.
    let reset = portagent(&lab, &["ledger", "reset", "--reason", "restored ledger.jsonl from a backup"]);
    ok(&reset);
    assert!(text(&reset.stdout).contains("3 entries lost"), "{}", text(&reset.stdout));
    let entries = ledger(&lab);
    let last = entries.last().unwrap();
    assert_eq!((last["category"].as_str(), last["action"].as_str()), (Some("ledger"), Some("reset")));
    assert_eq!(last["data"]["lost_entries"], 3);
    assert_eq!(last["data"]["reason"], "restored ledger.jsonl from a backup");
    assert!(last["metadata"]["user"].as_str().unwrap().contains("uid 0"), "{last}");
    ok(&portagent(&lab, &["apply-state", &file]));
    assert!(verify_text(&lab).starts_with("VALID"), "{}", verify_text(&lab));
}

#[test]
fn the_ledger_verifies_across_a_hostname_change() {
    let lab = net_lab();
    ok(&portagent(&lab, &["apply-state", &write(&lab, "net", GUIDE_NET)]));
    let before = lab.sh("hostname").unwrap();
    // The guide's own netcfg example renames the host.
    ok(&portagent(&lab, &["apply-state", &write(&lab, "netcfg", portagent_lab::guide::NETCFG_STATE)]));
    assert_eq!(lab.sh("hostname").unwrap().trim(), "netmaker-server", "was {before}");
    assert!(verify_text(&lab).starts_with("VALID"), "{}", verify_text(&lab));
    ok(&portagent(&lab, &["apply-state", &write(&lab, "other", &GUIDE_NET.replace("192.168.1.100", "192.168.1.101"))]));
    assert!(verify_text(&lab).starts_with("VALID"), "after the next write too: {}", verify_text(&lab));
}

#[test]
fn a_replaced_signing_key_is_refused_and_reported() {
    let lab = net_lab();
    let file = write(&lab, "net", GUIDE_NET);
    ok(&portagent(&lab, &["apply-state", &file]));
    let key = "/var/lib/ovs-port-agent/ledger.key";
    let original = std::fs::read(lab.path(key)).unwrap();
    lab.sh(&format!("head -c32 /dev/urandom > {key}")).unwrap();
    let public = lab.read(format!("{key}.pub")).unwrap();

    let out =
        portagent(&lab, &["apply-state", &write(&lab, "other", &GUIDE_NET.replace("192.168.1.100", "192.168.1.101"))]);
    assert_ne!(out.status.code(), Some(0));
    assert!(text(&out.stderr).contains("was replaced"), "{}", text(&out.stderr));
    assert_eq!(lab.read(format!("{key}.pub")).unwrap(), public, "the public half is not rewritten");
    assert!(lab.addresses("ovsbr0").unwrap().contains(&"192.168.1.100/24".to_string()), "nothing changed");
    assert!(
        verify_text(&lab).contains("INVALID") && verify_text(&lab).contains("does not match"),
        "{}",
        verify_text(&lab)
    );
    // Put back: valid again, and writes go on.
    lab.write(key, &original).unwrap();
    assert!(verify_text(&lab).starts_with("VALID"), "{}", verify_text(&lab));
    ok(&portagent(&lab, &["apply-state", &file]));
    // Both key files gone while heads exist: reported, not skipped.
    lab.sh(&format!("mv {key} {key}.away; mv {key}.pub {key}.pub.away")).unwrap();
    assert!(verify_text(&lab).contains("neither the key"), "{}", verify_text(&lab));
    let _ = lab.sh(&format!("mv {key}.away {key}; mv {key}.pub.away {key}.pub"));
    std::thread::sleep(Duration::from_millis(10));
}

/// `eth0` with an address, and two netcfg routes through it (one in a
/// table of its own): nmstate's `dns_edit_eth1` shape.
const ROUTED_ETH0: &str = r#"version: 1
plugins:
  net:
    interfaces:
      - name: eth0
        type: ethernet
        ipv4:
          enabled: true
          dhcp: false
          address: [{ip: 192.168.1.100, prefix: 24}]
  netcfg:
    routing:
      - {destination: 0.0.0.0/0, gateway: 192.168.1.1, interface: eth0, table: 100}
      - {destination: 10.99.0.0/16, gateway: 192.168.1.1, interface: eth0}
"#;

/// All of [`ROUTED_ETH0`] taken away in one file.
const UNROUTED_ETH0: &str = r#"version: 1
plugins:
  net:
    interfaces:
      - name: eth0
        type: ethernet
        ipv4: {enabled: false}
  netcfg:
    routing:
      - {destination: 0.0.0.0/0, gateway: 192.168.1.1, interface: eth0, table: 100, state: absent}
      - {destination: 10.99.0.0/16, gateway: 192.168.1.1, interface: eth0, state: absent}
"#;

#[test]
fn net_and_netcfg_on_one_link_change_and_roll_back_in_one_file() {
    let lab = net_lab();
    ok(&portagent(&lab, &["apply-state", &write(&lab, "routed", ROUTED_ETH0)]));
    assert!(lab.sh("ip route show table 100").unwrap().contains("default via 192.168.1.1 dev eth0"));
    let before = crate::roundtrip::settled(&lab);

    // netcfg's routes go before net takes the address they stand on.
    let down = write(&lab, "unrouted", UNROUTED_ETH0);
    ok(&portagent(&lab, &["apply-state", &down, "--confirm-timeout", "60"]));
    assert_eq!(lab.sh("ip route show table 100").unwrap().trim(), "");
    assert!(!lab.sh("ip route").unwrap().contains("10.99.0.0/16"));
    assert!(lab.addresses("eth0").unwrap().iter().all(|a| !a.starts_with("192.168.1.100")));
    // And back in reverse: the address first, then the routes on it.
    let undo = portagent(&lab, &["rollback"]);
    ok(&undo);
    let diff = crate::roundtrip::differences(&before, &crate::roundtrip::settled(&lab));
    assert!(diff.is_empty(), "not restored:\n{}", diff.join("\n"));
    ok(&portagent(&lab, &["apply-state", &down]));
    let v = portagent(&lab, &["ledger", "verify"]);
    assert!(text(&v.stdout).starts_with("VALID"), "{}", text(&v.stdout));
}

/// The guide's net example with a third bridge `brC`.
fn with_brc(brc: &str) -> String {
    format!("{GUIDE_NET}{brc}")
}

const BRC: &str = "      - name: brC
        type: ovs-bridge
        ipv4:
          enabled: true
          dhcp: false
          address: [{ip: 10.0.200.1, prefix: 24}]
";

#[test]
fn a_bridge_netcfg_gave_dns_can_be_deleted() {
    let lab = net_lab();
    let dns =
        "  netcfg:\n    dns:\n      interface: brC\n      servers: [10.0.200.53]\n      search_domains: [c.example]\n";
    ok(&portagent(&lab, &["apply-state", &write(&lab, "brc", &(with_brc(BRC) + dns))]));
    let dropin = "/etc/systemd/network/10-portagent-brC.network.d/50-portagent-netcfg.conf";
    assert!(lab.path(dropin).exists());
    let before = crate::roundtrip::settled(&lab);

    // Deleted, its DNS cleared, in one file; then undone.
    let gone = with_brc("      - {name: brC, type: ovs-bridge, state: absent}\n")
        + "  netcfg:\n    dns:\n      interface: brC\n      servers: []\n      search_domains: []\n";
    let file = write(&lab, "brc-gone", &gone);
    let out = portagent(&lab, &["apply-state", &file, "--confirm-timeout", "60"]);
    ok(&out);
    assert!(lab.vsctl("br-exists brC").is_err(), "brC is gone");
    assert!(!lab.path(dropin).exists(), "a cleared DNS leaves no drop-in behind");
    ok(&portagent(&lab, &["rollback"]));
    let diff = crate::roundtrip::differences(&before, &crate::roundtrip::settled(&lab));
    assert!(diff.is_empty(), "not restored:\n{}", diff.join("\n"));

    // Deleted by net alone (netcfg's drop-in stays netcfg's).
    ok(&portagent(
        &lab,
        &[
            "apply-state",
            &write(&lab, "brc-absent", &with_brc("      - {name: brC, type: ovs-bridge, state: absent}\n")),
        ],
    ));
    assert!(lab.vsctl("br-exists brC").is_err(), "brC is gone");
    assert!(!lab.path("/etc/systemd/network/10-portagent-brC.network").exists());
}

#[test]
fn a_change_ovs_vswitchd_does_not_carry_is_not_verified() {
    let mut lab = net_lab();
    ok(&portagent(&lab, &["apply-state", &write(&lab, "net", GUIDE_NET)]));
    lab.stop_daemon(portagent_lab::Daemon::OvsVswitchd, libc::SIGKILL).unwrap();
    // Its taps stay, up and without carrier: nothing is forwarded.
    lab.wait_until(Duration::from_secs(10), "ovsbr0 without carrier", || {
        lab.sh("ip -j link show dev ovsbr0").is_ok_and(|j| j.contains("\"operstate\":\"DOWN\""))
    })
    .unwrap();
    let ovsbr0_file = lab.read("/etc/systemd/network/10-portagent-ovsbr0.network").unwrap();
    // A change networkd alone carries out (an address): verify sees the
    // bridge is dead instead of calling it verified, and the rollback
    // cannot be verified either while nothing carries the bridges: it
    // waits (exit 6) for ovs-vswitchd.
    let moved = write(&lab, "moved", &GUIDE_NET.replace("192.168.1.100", "192.168.1.130"));
    let out = portagent(&lab, &["apply-state", &moved]);
    assert_eq!(out.status.code(), Some(6), "{}{}", text(&out.stdout), text(&out.stderr));
    let said = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert!(said.contains("ovsbr0.carrier") && said.contains("is ovs-vswitchd running?"), "{said}");
    lab.start_daemon(portagent_lab::Daemon::OvsVswitchd).unwrap();
    lab.wait_until(Duration::from_secs(20), "ovsbr0 carried again", || {
        lab.sh("ip -j link show dev ovsbr0").is_ok_and(|j| !j.contains("\"operstate\":\"DOWN\""))
    })
    .unwrap();
    ok(&portagent(&lab, &["recover"]));
    assert!(!lab.path(JOURNAL).exists(), "settled");
    // As before the change (the links' operational state aside: carried again).
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"]);
    assert_eq!(lab.read("/etc/systemd/network/10-portagent-ovsbr0.network").unwrap(), ovsbr0_file);
    let last = ledger(&lab).pop().unwrap();
    assert_eq!((last["category"].as_str(), last["data"]["result"].as_str()), (Some("recovery"), Some("rolled_back")));
}

/// Containers and Kolla-style hosts bind-mount a file over /etc/hostname:
/// nothing can be renamed over it, so it is written in place (and the
/// mount stays), and a rollback puts the old name back the same way.
#[test]
fn the_hostname_is_changed_and_restored_where_etc_hostname_is_a_bind_mount() {
    let lab = net_lab();
    ok(&portagent(&lab, &["apply-state", &write(&lab, "net", GUIDE_NET)]));
    let before = lab.sh("cat /etc/hostname").unwrap();
    lab.sh("cp /etc/hostname /var/lib/hostname.outside && mount --bind /var/lib/hostname.outside /etc/hostname")
        .unwrap();
    let file = write(&lab, "netcfg", portagent_lab::guide::NETCFG_STATE);
    ok(&portagent(&lab, &["apply-state", &file, "--confirm-timeout", "60"]));
    assert_eq!(lab.sh("cat /etc/hostname").unwrap(), "netmaker-server\n");
    assert_eq!(lab.sh("cat /var/lib/hostname.outside").unwrap(), "netmaker-server\n", "the file behind the mount");
    assert_eq!(lab.sh("hostname").unwrap().trim(), "netmaker-server");
    assert!(lab.sh("findmnt -n /etc/hostname").is_ok(), "still a mount");
    ok(&portagent(&lab, &["rollback"]));
    assert_eq!(lab.sh("cat /etc/hostname").unwrap(), before);
    assert!(lab.sh("findmnt -n /etc/hostname").is_ok(), "still a mount after the rollback");
    assert!(verify_text(&lab).starts_with("VALID"), "{}", verify_text(&lab));
}

/// `ovs-vsctl get Port NAME COLUMN`, trimmed.
fn port_column(lab: &Lab, port: &str, column: &str) -> String {
    lab.vsctl(&format!("get Port {port} {column}")).unwrap().trim().to_string()
}

/// A rollback undoes what the change did and nothing a hypervisor did
/// after the checkpoint (issue 28, item 2): a VM's tap plugged by
/// qemu-server's `ovs-vsctl --may-exist add-port`, a tag changed, a VM
/// stopped (its tap unplugged and deleted) all survive it. Read back with
/// `ovs-vsctl`.
#[test]
fn a_rollback_leaves_what_another_actor_changed_after_the_checkpoint() {
    let lab = net_lab();
    ok(&portagent(&lab, &["apply-state", &write(&lab, "net", GUIDE_NET)]));
    let taps = ["tap101i0", "tap102i0", "tap103i0", "tap105i0", "tap106i0"];
    for t in taps {
        lab.sh(&format!("ip tuntap add {t} mode tap && ip link set {t} up")).unwrap();
    }
    // By hand, before the change: two ports on the file's ovsbr1, and a
    // bridge of the admin's with two VMs' ports.
    lab.vsctl("add-port ovsbr1 tap101i0 tag=5 -- add-port ovsbr1 tap102i0").unwrap();
    lab.vsctl(
        "add-br vmbr9 -- set Bridge vmbr9 datapath_type=netdev -- add-port vmbr9 tap105i0 tag=6 -- add-port vmbr9 \
         tap106i0",
    )
    .unwrap();

    // The change re-tags tap101i0, plugs tap103i0 and (unlisted) unplugs
    // tap102i0.
    let change = GUIDE_NET.replacen(
        "      - name: ovsbr1\n        type: ovs-bridge\n",
        "      - name: ovsbr1\n        type: ovs-bridge\n        ports:\n          - {name: tap101i0, vlan: {mode: \
         access, tag: 10}}\n          - tap103i0\n",
        1,
    );
    ok(&portagent(&lab, &["apply-state", &write(&lab, "change", &change), "--confirm-timeout", "60"]));
    assert_eq!(port_column(&lab, "tap101i0", "tag"), "10");
    assert_eq!(lab.vsctl("port-to-br tap103i0").unwrap().trim(), "ovsbr1");
    assert!(lab.vsctl("port-to-br tap102i0").is_err(), "unplugged by the change");

    // The hypervisor, while the change awaits confirmation: a VM started
    // (plugged as qemu-server does), one re-tagged, one stopped.
    lab.sh("ip tuntap add tap110i0 mode tap && ip link set tap110i0 up").unwrap();
    lab.vsctl("--may-exist add-port ovsbr1 tap110i0 tag=20").unwrap();
    lab.vsctl("set Port tap105i0 tag=7").unwrap();
    lab.vsctl("del-port vmbr9 tap106i0").unwrap();
    lab.sh("ip link del tap106i0").unwrap();

    let undo = portagent(&lab, &["rollback"]);
    ok(&undo);
    let last = ledger(&lab).pop().unwrap();
    assert_eq!((last["category"].as_str(), last["data"]["result"].as_str()), (Some("rollback"), Some("rolled_back")));
    // The change is undone, tags and ownership too.
    assert_eq!(port_column(&lab, "tap101i0", "tag"), "5");
    assert_eq!(port_column(&lab, "tap101i0", "external_ids"), "{}", "the admin's port again, not portagent's");
    assert_eq!(lab.vsctl("port-to-br tap102i0").unwrap().trim(), "ovsbr1", "plugged back");
    assert!(lab.vsctl("port-to-br tap103i0").is_err(), "the change's port went");
    // The hypervisor's doing stays.
    assert_eq!(lab.vsctl("port-to-br tap110i0").unwrap().trim(), "ovsbr1", "{}", lab.vsctl("show").unwrap());
    assert_eq!(port_column(&lab, "tap110i0", "tag"), "20");
    assert_eq!(port_column(&lab, "tap105i0", "tag"), "7");
    assert_eq!(lab.vsctl("list-ports vmbr9").unwrap().trim(), "tap105i0", "the stopped VM's port stays gone");
    // And the next change goes through.
    ok(&portagent(&lab, &["apply-state", &write(&lab, "net", GUIDE_NET)]));
}

/// The guide's net example with a VM's tap on `ovsbr0` beside the uplink.
fn with_tap_on_ovsbr0() -> String {
    GUIDE_NET.replacen(
        "          - eth0  # Physical uplink\n",
        "          - eth0  # Physical uplink\n          - tap200i0\n",
        1,
    )
}

#[test]
fn the_managed_block_is_undone_with_the_change_byte_for_byte() {
    let lab = net_lab();
    // A host's interfaces file with the block Proxmox shows (written by
    // an earlier agent change): odd spacing, no newline at the end.
    let admins = "# by hand\nauto lo\niface lo inet loopback\n\n# BEGIN ovs-port-agent\n# END ovs-port-agent\n\nauto  eth9\nsource /etc/network/interfaces.d/*";
    lab.write("/etc/network/interfaces", admins.as_bytes()).unwrap();
    let read = || lab.read("/etc/network/interfaces").unwrap();
    ok(&portagent(&lab, &["apply-state", &write(&lab, "net", GUIDE_NET)]));
    let settled = read();
    assert!(
        settled.contains("auto ovsbr0\niface ovsbr0 inet manual\n\tovs_type OVSBridge\n\tovs_ports eth0\n"),
        "{settled}"
    );
    assert!(
        settled.starts_with("# by hand\n") && settled.ends_with("\n\nauto  eth9\nsource /etc/network/interfaces.d/*")
    );
    let last = ledger(&lab).pop().unwrap();
    assert_eq!(last["data"]["interfaces_file"]["result"], "rewritten", "in the apply's own entry: {last}");
    lab.sh("ip tuntap add tap200i0 mode tap && ip link set tap200i0 up").unwrap();

    // A requested rollback: the block goes back with the port.
    let change = write(&lab, "tap", &with_tap_on_ovsbr0());
    ok(&portagent(&lab, &["apply-state", &change, "--confirm-timeout", "60"]));
    assert!(read().contains("\tovs_ports eth0 tap200i0\n"), "{}", read());
    assert!(lab.sh("cat /var/lib/ovs-port-agent/journal.json").unwrap().contains("interfaces_file"), "checkpointed");
    ok(&portagent(&lab, &["rollback"]));
    assert_eq!(read(), settled, "byte for byte");
    assert!(lab.vsctl("port-to-br tap200i0").is_err(), "and the port went");

    // A change the probe fails after the block was written: the same.
    let out = portagent(&lab, &["apply-state", &change, "--probe", "192.168.1.77", "--output", "json"]);
    assert_eq!(out.status.code(), Some(3), "{}{}", text(&out.stdout), text(&out.stderr));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["interfaces_file"]["undone"], true, "{r}");
    assert_eq!(read(), settled, "byte for byte");

    // An edit the admin made while the change awaited confirmation is
    // theirs: the rollback never writes over it.
    ok(&portagent(&lab, &["apply-state", &change, "--confirm-timeout", "60"]));
    let edited = format!("{}\n# the admin's, after the change\n", read());
    lab.write("/etc/network/interfaces", edited.as_bytes()).unwrap();
    ok(&portagent(&lab, &["rollback"]));
    assert_eq!(read(), edited, "left as the admin made it");
    assert!(lab.vsctl("port-to-br tap200i0").is_err());
}
