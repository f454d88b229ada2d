//! Bad input and foreign objects, in labs: names networkd would read as
//! patterns, links an apply must not touch, NICs on hand-made bridges,
//! look-alike files, foreign bridges brought back foreign, and a table of
//! bad files refused alike over the CLI and D-Bus, naming the field and
//! its line, with nothing changed anywhere.

use crate::net::{GUIDE_NET, apply, ledger, net_lab, portagent, snapshot};
use crate::support::text;
use portagent_lab::Lab;
use std::time::Duration;

fn ok(out: &std::process::Output) {
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
}

/// Everything bad input must leave as it was: what portagent reads back,
/// the OVS database, networkd's files and the ledger, byte for byte.
fn everything(lab: &Lab) -> String {
    let q = portagent(lab, &["query-state", "--output", "json"]);
    let db = lab
        .sh("d='ovsdb-client dump unix:/run/openvswitch/db.sock Open_vSwitch'; \
             $d Bridge name ports external_ids datapath_type stp_enable fail_mode; \
             $d Port name interfaces tag trunks external_ids; $d Interface name type options mtu_request")
        .unwrap();
    let files = lab
        .sh("for f in /etc/systemd/network/*; do [ -e \"$f\" ] || continue; echo \"== $f\"; cat \"$f\"; done")
        .unwrap();
    let ledger = std::fs::read(lab.path("/var/lib/ovs-port-agent/ledger.jsonl")).unwrap_or_default();
    format!("{}\n{db}\n{files}\n{}", text(&q.stdout), String::from_utf8_lossy(&ledger))
}

#[test]
fn a_name_networkd_would_read_as_a_pattern_is_refused_and_the_uplink_keeps_its_address() {
    let lab = net_lab();
    ok(&apply(&lab, "net", GUIDE_NET));
    let before = everything(&lab);
    let yaml = "version: 1\nplugins:\n  net:\n    interfaces:\n      - name: \"!lo\"\n        type: ovs-bridge\n        ipv4: {address: [{ip: 10.9.8.1, prefix: 24}]}\n";
    let out = apply(&lab, "bang", yaml);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("line 5: plugins.net.interfaces[0].name: ") && err.contains("patterns"), "{err}");
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"], "the uplink keeps its address");
    assert!(lab.sh("ip route show default").unwrap().contains("default via 192.168.1.1 dev ovsbr0"), "and its route");
    assert_eq!(everything(&lab), before);
}

#[test]
fn an_apply_that_changes_a_link_it_does_not_name_is_rolled_back() {
    let lab = net_lab();
    ok(&apply(&lab, "net", GUIDE_NET));
    // An admin's file for ovsbr1, written but not loaded yet: the next
    // reload of networkd (portagent's, for ovsbr0) changes ovsbr1 too.
    lab.write("/etc/systemd/network/05-admin.network", b"[Match]\nName=ovsbr1\n\n[Network]\nAddress=10.7.7.7/24\n")
        .unwrap();
    let only_ovsbr0 = "version: 1\nplugins:\n  net:\n    interfaces:\n      - {name: ovsbr0, type: ovs-bridge, ipv4: {address: [{ip: 192.168.1.101, prefix: 24}], gateway: 192.168.1.1}}\n";
    let out = apply(&lab, "ovsbr0", only_ovsbr0);
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let errors = r["errors"].to_string();
    assert!(errors.contains("ovsbr1.addresses (not in the state file)"), "not reported verified: {errors}");
    // The rollback cannot take ovsbr1 back from the admin's file, and says
    // so rather than claim the state before: kept, and retried...
    assert_eq!(out.status.code(), Some(6), "{errors}");
    assert!(errors.contains("05-admin.network"), "{errors}");
    // ...until the admin's file is out of the way.
    lab.sh("rm /etc/systemd/network/05-admin.network && networkctl reload").unwrap();
    lab.wait_until(Duration::from_secs(30), "settled", || {
        portagent(&lab, &["query-state", "--plugin", "net"]).status.success()
            && !lab.path(crate::faults::JOURNAL).exists()
    })
    .unwrap();
    assert_eq!(lab.addresses("ovsbr0").unwrap(), ["192.168.1.100/24"], "ovsbr0 rolled back");
    lab.wait_until(Duration::from_secs(20), "ovsbr1 back", || {
        lab.addresses("ovsbr1").is_ok_and(|a| a == ["10.0.100.1/24"])
    })
    .unwrap();
}

#[test]
fn a_nic_on_a_hand_made_bridge_is_detached_only_with_force() {
    let lab = net_lab();
    lab.sh("ip link add vethA type veth peer name vethA-p && ip link set vethA up && ip link set vethA-p up").unwrap();
    lab.vsctl("add-br handmade -- set bridge handmade datapath_type=netdev -- add-port handmade vethA").unwrap();
    let before = everything(&lab);
    let absent =
        "version: 1\nplugins:\n  net:\n    interfaces:\n      - {name: vethA, type: ethernet, state: absent}\n";
    let out = apply(&lab, "absent", absent);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("handmade, which portagent did not create")
            && text(&out.stderr).contains("force: true"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(lab.vsctl("list-ports handmade").unwrap().trim(), "vethA");
    assert_eq!(everything(&lab), before);
    let forced = absent.replace("state: absent}", "state: absent, force: true}");
    ok(&apply(&lab, "forced", &forced));
    assert_eq!(lab.vsctl("list-ports handmade").unwrap().trim(), "", "detached when forced");
}

#[test]
fn a_look_alike_file_is_never_written_and_restores_put_files_back_byte_for_byte() {
    let lab = net_lab();
    lab.sh("ip link add vethB type veth peer name vethB-p && ip link set vethB up").unwrap();
    // The admin's own file, named like portagent's, without its marker.
    let theirs = b"# mine, hands off\n[Match]\nName=vethB\n\n[Network]\nDHCP=no\n";
    lab.write("/etc/systemd/network/10-portagent-vethB.network", theirs).unwrap();
    let yaml = GUIDE_NET.replace("          - eth0  # Physical uplink", "          - eth0\n          - vethB");
    let before = everything(&lab);
    let out = apply(&lab, "vethB", &yaml);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(
        err.contains("10-portagent-vethB.network exists and is not portagent's")
            && err.contains("interfaces[0].ports[1]"),
        "{err}"
    );
    assert_eq!(everything(&lab), before, "nothing written, the admin's file untouched");

    // portagent's own file, edited by hand since (marker kept): a change
    // undone by `rollback` puts back exactly the edited bytes.
    ok(&apply(&lab, "net", GUIDE_NET));
    let path = "/etc/systemd/network/10-portagent-ovsbr1.network";
    let edited = format!("{}# a note the admin added\n", lab.read(path).unwrap());
    lab.write(path, edited.as_bytes()).unwrap();
    lab.write("/etc/ovs-port-agent/changed.yaml", GUIDE_NET.replace("10.0.100.1", "10.0.100.2").as_bytes()).unwrap();
    ok(&portagent(&lab, &["apply-state", "/etc/ovs-port-agent/changed.yaml", "--confirm-timeout", "120"]));
    assert_ne!(lab.read(path).unwrap(), edited);
    ok(&portagent(&lab, &["rollback"]));
    assert_eq!(lab.read(path).unwrap(), edited, "byte for byte");
}

#[test]
fn a_force_deleted_foreign_bridge_comes_back_foreign() {
    let lab = net_lab();
    lab.vsctl("add-br foreignbr -- set bridge foreignbr datapath_type=netdev external_ids:owner=admin").unwrap();
    let ids = || lab.vsctl("get bridge foreignbr external_ids").unwrap();
    let before = ids();
    let gone = "version: 1\nplugins:\n  net:\n    interfaces:\n      - {name: foreignbr, type: ovs-bridge, state: absent, force: true}\n";
    lab.write("/etc/ovs-port-agent/gone.yaml", gone.as_bytes()).unwrap();
    ok(&portagent(&lab, &["apply-state", "/etc/ovs-port-agent/gone.yaml", "--confirm-timeout", "120"]));
    assert!(!lab.vsctl("list-br").unwrap().contains("foreignbr"));
    ok(&portagent(&lab, &["rollback"]));
    assert!(!ids().contains("portagent"), "not portagent's after the restore: {}", ids());
    assert!(before.contains("owner=admin"));
    // ...so a plain `absent` still refuses it.
    let plain = gone.replace(", force: true", "");
    let out = apply(&lab, "plain", &plain);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
}

#[test]
fn query_state_prints_what_it_can_and_names_the_plugin_that_failed() {
    let mut lab = net_lab();
    crate::state::install_probe(&lab);
    lab.stop_daemon(portagent_lab::Daemon::OvsdbServer, libc::SIGTERM).unwrap();
    let out = portagent(&lab, &["query-state"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("probe:"), "the others are printed: {}", text(&out.stdout));
    assert!(text(&out.stderr).contains("error: plugin net:"), "{}", text(&out.stderr));
    lab.start_daemon(portagent_lab::Daemon::OvsdbServer).unwrap();
}

/// Issue 27, item 9: one plugin whose `schema()` fails does not take
/// `portagent schema` away from everyone: the others' schema is printed,
/// the failing plugin named, and the exit code says so.
#[test]
fn schema_prints_the_others_and_names_the_plugin_whose_schema_failed() {
    let lab = net_lab();
    let probe = std::fs::read(env!("PORTAGENT_GUEST_PROBE")).unwrap();
    lab.write("/etc/ovs-port-agent/probe.wasm", &probe).unwrap();
    let args = ["plugin", "install", "/etc/ovs-port-agent/probe.wasm", "--allow-unsigned", "--grant", "networkd"];
    let out = portagent(&lab, &args);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let whole = portagent(&lab, &["schema"]);
    assert!(whole.status.success(), "{}", text(&whole.stderr));
    lab.write("/etc/systemd/network/probe-schema-fails", b"").unwrap();
    let out = portagent(&lab, &["schema"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let schema: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let sections = &schema["properties"]["plugins"]["properties"];
    assert!(sections.get("net").is_some() && sections.get("netcfg").is_some(), "{schema}");
    assert!(sections.get("probe").is_none(), "{schema}");
    assert!(
        text(&out.stderr).contains("probe") && text(&out.stderr).contains("asked to fail"),
        "{}",
        text(&out.stderr)
    );
    lab.sh("rm /etc/systemd/network/probe-schema-fails").unwrap();
}

/// A bad file: what it is, and the field (or message) and line it must be
/// reported with.
struct Case {
    what: &'static str,
    yaml: String,
    says: &'static str,
    line_of: &'static str,
    /// The JSON Schema (`portagent schema`) can say it is wrong too: an
    /// editor underlines it before it is ever applied.
    schema: bool,
}

/// The line `marker` starts on (a marker of two lines: the second).
fn line(yaml: &str, marker: &str) -> usize {
    let at = yaml.find(marker).unwrap_or_else(|| panic!("{marker:?} not in\n{yaml}"));
    yaml[..at + marker.rfind('\n').map_or(0, |i| i + 1)].matches('\n').count() + 1
}

fn cases() -> Vec<Case> {
    let g = GUIDE_NET;
    vec![
        Case {
            what: "an unknown field",
            yaml: g.replacen("        type: ovs-bridge\n", "        type: ovs-bridge\n        colour: blue\n", 1),
            says: "plugins.net.interfaces[0].colour",
            line_of: "colour: blue",
            schema: true,
        },
        Case {
            what: "an MTU out of range",
            yaml: g.replace(
                "        controller: ovsbr0  # Enslaved to bridge\n",
                "        controller: ovsbr0\n        mtu: 20\n",
            ),
            says: "plugins.net.interfaces[1].mtu",
            line_of: "mtu: 20",
            schema: true,
        },
        Case {
            what: "a prefix over 255",
            yaml: g.replacen("prefix: 24", "prefix: 300", 1),
            says: "plugins.net.interfaces[0].ipv4.address[0].prefix",
            line_of: "prefix: 300",
            schema: true,
        },
        Case {
            what: "a name that is a pattern",
            yaml: g.replace("- name: ovsbr1", "- name: \"ovsbr*\""),
            says: "plugins.net.interfaces[2].name",
            line_of: "ovsbr*",
            schema: true,
        },
        Case {
            what: "a gateway outside the subnet",
            yaml: g.replace(
                "            - ip: 10.0.100.1\n              prefix: 24\n",
                "            - ip: 10.0.100.1\n              prefix: 24\n          gateway: 172.16.5.1\n",
            ),
            says: "plugins.net.interfaces[2].ipv4.gateway",
            line_of: "gateway: 172.16.5.1",
            schema: false,
        },
        Case {
            what: "a bridge as a port",
            yaml: g.replace("          - eth0  # Physical uplink", "          - eth0\n          - ovsbr1"),
            says: "plugins.net.interfaces[0].ports[1]",
            line_of: "- ovsbr1",
            schema: false,
        },
        Case {
            what: "a port of two bridges",
            yaml: g.replace(
                "      - name: ovsbr1\n        type: ovs-bridge\n",
                "      - name: ovsbr1\n        type: ovs-bridge\n        ports: [eth0]\n",
            ),
            says: "plugins.net.interfaces[2].ports[0]",
            line_of: "ports: [eth0]",
            schema: false,
        },
        Case {
            what: "a VLAN tag over 4094",
            yaml: g.replace(
                "          - eth0  # Physical uplink",
                "          - {name: eth0, vlan: {mode: access, tag: 5000}}",
            ),
            says: "plugins.net.interfaces[0].ports[0].vlan.tag",
            line_of: "tag: 5000",
            schema: true,
        },
        Case {
            what: "a tab in the indentation",
            yaml: g.replace("          - eth0  # Physical uplink", "\t  - eth0"),
            says: "tabs disallowed",
            line_of: "\t  - eth0",
            schema: false,
        },
        Case {
            what: "a key given twice",
            yaml: g.replacen("        type: ovs-bridge\n", "        type: ovs-bridge\n        type: ovs-bridge\n", 1),
            says: "type is given twice in one mapping",
            line_of: "type: ovs-bridge\n        type",
            schema: false,
        },
        Case {
            what: "an MTU that is not a number",
            yaml: g.replace(
                "        controller: ovsbr0  # Enslaved to bridge\n",
                "        controller: ovsbr0\n        mtu: big\n",
            ),
            says: "expected a whole number",
            line_of: "mtu: big",
            schema: true,
        },
        Case {
            what: "a port that is no link and is not declared",
            yaml: g.replace("          - eth0  # Physical uplink", "          - eth0\n          - eth9"),
            says: "plugins.net.interfaces[0].ports[1]: no network device named eth9",
            line_of: "- eth9",
            schema: false,
        },
        Case {
            what: "DHCP on a NIC that a bridge's ports: take",
            yaml: g.replace(
                "        controller: ovsbr0  # Enslaved to bridge\n        ipv4:\n          enabled: false  # No IP on enslaved interface\n",
                "        ipv4: {enabled: true, dhcp: true}\n",
            ),
            says: "plugins.net.interfaces[1].ipv4: a port of an OVS bridge carries no IP configuration",
            line_of: "ipv4: {enabled: true, dhcp: true}",
            schema: false,
        },
        Case {
            what: "an internal port on a bridge that is nowhere",
            yaml: format!("{g}      - {{name: ovs1, type: ovs-interface, controller: br9}}\n"),
            says: "plugins.net.interfaces[3].controller: no OVS bridge named br9",
            line_of: "{name: ovs1",
            schema: false,
        },
        Case {
            what: "prefix 0",
            yaml: g.replacen("prefix: 24", "prefix: 0", 1),
            says: "plugins.net.interfaces[0].ipv4.address[0].prefix",
            line_of: "prefix: 0",
            schema: true,
        },
        Case {
            what: "a gateway that is the interface's own address",
            yaml: g.replace("gateway: 192.168.1.1", "gateway: 192.168.1.100"),
            says: "plugins.net.interfaces[0].ipv4.gateway: 192.168.1.100 is the interface's own address",
            line_of: "gateway: 192.168.1.100",
            schema: false,
        },
        Case {
            what: "a patch port whose peer is nowhere",
            yaml: g.replace(
                "      - name: ovsbr1\n        type: ovs-bridge\n",
                "      - name: ovsbr1\n        type: ovs-bridge\n        ports:\n          - {name: p1, patch: {peer: falsepatch}}\n",
            ),
            says: "plugins.net.interfaces[2].ports[0].patch.peer: no patch port named falsepatch",
            line_of: "{name: p1",
            schema: false,
        },
        Case {
            what: "a flow OVS refuses",
            yaml: format!("{g}  netcfg:\n    ovs_flows:\n      - {{bridge: ovsbr0, priority: 5, actions: bogus}}\n"),
            says: "plugins.netcfg.ovs_flows[0]",
            line_of: "{bridge: ovsbr0, priority: 5",
            schema: false,
        },
        Case {
            what: "a prefix over 32",
            yaml: g.replacen("prefix: 24", "prefix: 33", 1),
            says: "plugins.net.interfaces[0].ipv4.address[0].prefix",
            line_of: "prefix: 33",
            schema: true,
        },
        Case {
            what: "an address that is no IPv4 address",
            yaml: g.replace("ip: 192.168.1.100", "ip: 300.1.1.1"),
            says: "plugins.net.interfaces[0].ipv4.address[0].ip",
            line_of: "ip: 300.1.1.1",
            schema: true,
        },
        Case {
            what: "a name of 16 bytes",
            yaml: g.replace("- name: ovsbr1", "- name: ovsbr1456789abcde"),
            says: "plugins.net.interfaces[2].name",
            line_of: "ovsbr1456789abcde",
            schema: true,
        },
        Case {
            what: "a name that negates",
            yaml: g.replace("- name: ovsbr1", "- name: \"!lo\""),
            says: "plugins.net.interfaces[2].name",
            line_of: "!lo",
            schema: true,
        },
        Case {
            what: "a route to a /33",
            yaml: format!("{g}  netcfg:\n    routing:\n      - {{destination: 10.0.0.0/33, gateway: 192.168.1.1}}\n"),
            says: "plugins.netcfg.routing[0].destination",
            line_of: "{destination: 10.0.0.0/33",
            schema: true,
        },
        Case {
            what: "a rule without its priority",
            yaml: format!("{g}  netcfg:\n    rules:\n      - {{from: 10.0.0.0/8, table: 100}}\n"),
            says: "plugins.netcfg.rules[0].priority",
            line_of: "{from: 10.0.0.0/8",
            schema: true,
        },
        Case {
            what: "nesting 100 deep",
            yaml: format!("version: 1\nplugins:\n  net:\n    x: {}{}\n", "[".repeat(100), "]".repeat(100)),
            says: "nests deeper than 64 levels",
            line_of: "x: [",
            schema: false,
        },
    ]
}

#[test]
fn bad_input_is_refused_alike_over_the_cli_and_dbus_and_changes_nothing() {
    let (lab, _daemon) = crate::dbus::dbus_lab();
    ok(&apply(&lab, "net", GUIDE_NET));
    let before = everything(&lab);
    assert_eq!(ledger(&lab).len(), 1);
    for (i, c) in cases().into_iter().enumerate() {
        let n = line(&c.yaml, c.line_of);
        let path = format!("/etc/ovs-port-agent/bad{i}.yaml");
        lab.write(&path, c.yaml.as_bytes()).unwrap();
        // The CLI on its own, and the daemon over D-Bus.
        let cli = lab
            .command("sh")
            .args(["-c", &format!("PORTAGENT_NO_DAEMON=1 {} apply-state {path}", env!("CARGO_BIN_EXE_portagent"))])
            .output()
            .unwrap();
        assert_eq!(cli.status.code(), Some(2), "{}: {}", c.what, text(&cli.stderr));
        let cli_err = text(&cli.stderr);
        let dbus = lab.output("sh", &["-c", &format!(
            "dbus-send --system --print-reply --dest=dev.ovs.PortAgent1 /dev/ovs/PortAgent1 dev.ovs.PortAgent1.ApplyState string:\"$(cat {path})\""
        )]).unwrap();
        assert!(!dbus.status.success(), "{}", c.what);
        let dbus_err = text(&dbus.stderr);
        assert!(dbus_err.contains("dev.ovs.PortAgent1.Error.InvalidState"), "{}: {dbus_err}", c.what);
        for (how, err) in [("cli", &cli_err), ("dbus", &dbus_err)] {
            assert!(err.contains(c.says), "{} over {how}: names {:?}: {err}", c.what, c.says);
            let at_line = format!("line {n}: plugins.");
            let at_line_col = format!("line {n} column");
            assert!(
                err.contains(&at_line) || err.contains(&at_line_col),
                "{} over {how}: says line {n}: {err}",
                c.what
            );
            assert!(!err.contains("line 1 column") || n == 1, "{} over {how}: no position in some JSON: {err}", c.what);
            // The user's YAML, not the library's: no Rust type or option names.
            for jargon in
                ["u8", "u16", "u32", "u64", "i64", "DuplicateKeyPolicy", "Options", "from_str", "serde", "struct"]
            {
                assert!(
                    !err.split(|c: char| !c.is_alphanumeric() && c != '_').any(|w| w == jargon),
                    "{} over {how}: says {jargon}: {err}",
                    c.what
                );
            }
        }
        assert_eq!(everything(&lab), before, "{}: nothing changed", c.what);
    }
    assert!(snapshot(&lab).contains("192.168.1.100/24"));
    // What JSON Schema can say, `portagent schema` says too: one source
    // for each bound.
    let schema: serde_json::Value = serde_json::from_slice(&portagent(&lab, &["schema"]).stdout).unwrap();
    let docs: std::collections::BTreeMap<String, serde_json::Value> = cases()
        .into_iter()
        .filter(|c| c.schema)
        .map(|c| (c.what.to_string(), serde_saphyr::from_str(&c.yaml).unwrap()))
        .chain([("the guide's file".to_string(), serde_saphyr::from_str(GUIDE_NET).unwrap())])
        .collect();
    let found = crate::schema::errors(&schema, &docs);
    for (what, errors) in &found {
        assert_eq!(errors.is_empty(), what == "the guide's file", "the schema on {what}: {errors:?}");
    }
    // The files and bus are quiet: a moment later nothing moved either.
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(everything(&lab), before);
}

#[test]
fn an_unprivileged_user_gets_the_right_exit_code_and_can_verify_the_ledger() {
    let lab = net_lab();
    ok(&apply(&lab, "net", GUIDE_NET));
    crate::state::install_probe(&lab);
    // The guide's `mkdir -p` made the state dir readable; the key is not.
    let nobody = |args: &str| {
        lab.output(
            "sh",
            &[
                "-c",
                &format!(
                    "setpriv --reuid=65534 --regid=65534 --clear-groups -- {} {args}",
                    env!("CARGO_BIN_EXE_portagent")
                ),
            ],
        )
        .unwrap()
    };
    let verify = nobody("ledger verify");
    assert!(verify.status.success(), "the public key is enough: {}{}", text(&verify.stdout), text(&verify.stderr));
    // The apply and the probe's install.
    assert!(text(&verify.stdout).starts_with("VALID: 2 entries"), "{}", text(&verify.stdout));
    // The plugin registry is root's: a failure (1), said so, not bad input (2).
    lab.sh("chmod 0700 /var/lib/ovs-port-agent/plugins").unwrap();
    let list = nobody("plugin list");
    assert_eq!(list.status.code(), Some(1), "{}", text(&list.stderr));
    assert!(text(&list.stderr).contains("run this as root"), "{}", text(&list.stderr));
}

/// `show-diff` through sudo (as a sudo rule for ovs-port-agent runs it)
/// must not print what a file the user cannot read says: not through a
/// symlink to it, not named directly. A FIFO is refused at once, never
/// waited on.
#[test]
fn a_file_the_caller_cannot_read_is_never_quoted_and_a_fifo_is_refused() {
    let lab = net_lab();
    lab.write("/etc/ovs-port-agent/secret", b"root:*:20228:0:99999:7:::\n").unwrap();
    lab.sh("chmod 600 /etc/ovs-port-agent/secret && ln -sf /etc/ovs-port-agent/secret /var/lib/s.yaml").unwrap();
    let pa = env!("CARGO_BIN_EXE_portagent");
    for path in ["/var/lib/s.yaml", "/etc/ovs-port-agent/secret"] {
        let out = lab.output("sh", &["-c", &format!("SUDO_UID=65534 SUDO_GID=65534 {pa} show-diff {path}")]).unwrap();
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{path}: {err}");
        assert!(!err.contains("root:*") && !err.contains("20228"), "{path} quoted: {err}");
        assert!(err.contains("line 1") && err.contains("not shown"), "{path}: says where, not what: {err}");
    }
    // Root itself (no sudo) could read it: told what is wrong, in full.
    let out = lab.output("sh", &["-c", &format!("{pa} show-diff /etc/ovs-port-agent/secret")]).unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(!text(&out.stderr).contains("not shown"), "{}", text(&out.stderr));
    lab.sh("mkfifo /var/lib/fifo.yaml").unwrap();
    let started = std::time::Instant::now();
    let out = lab.output("sh", &["-c", &format!("timeout 20 {pa} apply-state /var/lib/fifo.yaml")]).unwrap();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("is not a regular file"), "{}", text(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(10), "not waited on");
}
