//! The port agent in the daemon, in labs: guests' veths attached as they
//! appear and detached as they go, mirrored into the managed block of the
//! interfaces file (not a byte outside it changed), their ports kept by
//! an apply-state of the admin's file, concurrent add_port calls, and a
//! daemon restart reconciling what changed while it was down.

use crate::dbus::{dbus_lab, reply_json, send, start_daemon};
use crate::net::{GUIDE_NET, apply, ledger, portagent};
use crate::support::text;
use portagent_lab::Lab;
use std::collections::BTreeSet;
use std::time::Duration;

/// The ports of ovsbr0, by `ovs-vsctl`.
fn ports(lab: &Lab) -> BTreeSet<String> {
    lab.vsctl("list-ports ovsbr0").unwrap().lines().map(str::to_string).collect()
}

fn names(prefix: &str, n: std::ops::Range<usize>) -> BTreeSet<String> {
    n.map(|i| format!("{prefix}{i}")).collect()
}

/// veth pairs as a container gets them: `{prefix}N` here (the host's end,
/// the agent's to attach), `g{prefix}N` in the network namespace
/// `guests` (the container's end).
fn add_veths(lab: &Lab, prefix: &str, n: std::ops::Range<usize>) {
    let script: String = std::iter::once("[ -e /run/netns/guests ] || ip netns add guests\n".to_string())
        .chain(n.map(|i| {
            format!(
                "ip link add {prefix}{i} type veth peer name g{prefix}{i} netns guests && ip link set {prefix}{i} up\n"
            )
        }))
        .collect();
    lab.sh(&script).unwrap();
}

/// Deletes links here (`netns` empty) or in another network namespace.
fn del_links(lab: &Lab, netns: &str, names: &BTreeSet<String>) {
    let ip = if netns.is_empty() { "ip".to_string() } else { format!("ip -n {netns}") };
    let script: String = names.iter().map(|n| format!("{ip} link del {n}\n")).collect();
    lab.sh(&script).unwrap();
}

fn wait_ports(lab: &Lab, what: &str, want: &BTreeSet<String>) {
    lab.wait_until(Duration::from_secs(20), what, || ports(lab) == *want)
        .unwrap_or_else(|e| panic!("{e}: ports are {:?}, want {want:?}", ports(lab)));
}

/// A lab with the guide's net example applied and the daemon serving.
fn agent_lab() -> (Lab, crate::dbus::Daemon) {
    let (lab, daemon) = dbus_lab();
    let r = apply(&lab, "net", GUIDE_NET);
    assert!(r.status.success(), "{}", text(&r.stderr));
    (lab, daemon)
}

fn verified_ledger(lab: &Lab) -> Vec<serde_json::Value> {
    let v = portagent(lab, &["ledger", "verify"]);
    assert!(text(&v.stdout).starts_with("VALID"), "{}", text(&v.stdout));
    ledger(lab)
}

/// An admin's interfaces file: comments, odd spacing, a stanza of theirs,
/// no newline at the end.
const INTERFACES: &str = "# /etc/network/interfaces, by hand\nauto lo\niface lo inet loopback\n\n# uplink:  odd   spacing kept\nauto  eth9\niface eth9 inet manual\n\tmtu 9000   \n\nsource /etc/network/interfaces.d/*";

fn interfaces(lab: &Lab) -> String {
    lab.read("/etc/network/interfaces").unwrap_or_default()
}

/// The managed block in the interfaces file (after the admin's text).
fn block(lab: &Lab) -> String {
    let text = interfaces(lab);
    assert!(text.starts_with(&format!("{INTERFACES}\n\n# BEGIN ovs-port-agent\n")), "{text}");
    text[INTERFACES.len() + 2..].to_string()
}

#[test]
fn guests_links_are_attached_as_they_appear_and_detached_as_they_go() {
    let (lab, _daemon) = agent_lab();
    lab.write("/etc/network/interfaces", INTERFACES.as_bytes()).unwrap();
    let before = verified_ledger(&lab).len();
    add_veths(&lab, "veth", 0..10);
    let mut want = names("veth", 0..10);
    want.insert("eth0".into());
    wait_ports(&lab, "ten veths attached", &want);
    lab.wait_until(Duration::from_secs(10), "the block listing all ten", || interfaces(&lab).contains("veth9"))
        .unwrap();
    let b = block(&lab);
    // The bridge and its uplink as Proxmox writes them; the guests' ports
    // listed, but neither `auto` nor in `ovs_ports` (ifupdown must not act
    // on links that exist only while their guest runs).
    assert!(b.contains("auto ovsbr0\niface ovsbr0 inet manual\n\tovs_type OVSBridge\n\tovs_ports eth0\n"), "{b}");
    assert!(b.contains("\nauto eth0\niface eth0 inet manual\n\tovs_type OVSPort\n\tovs_bridge ovsbr0\n"), "{b}");
    assert!(b.contains("\niface veth7 inet manual\n\tovs_type OVSPort\n\tovs_bridge ovsbr0\n"), "{b}");
    assert!(!b.contains("auto veth"), "{b}");
    assert!(b.ends_with("# END ovs-port-agent\n"), "{b}");
    // Tagged as the agent's, listed, recorded.
    for i in 0..10 {
        assert_eq!(lab.vsctl(&format!("get port veth{i} external_ids:portagent")).unwrap().trim(), "dynamic");
    }
    let listed = reply_json(&send(&lab, "list_ports", "").unwrap());
    assert_eq!(listed.as_array().unwrap().len(), 11, "{listed}");
    let entries = verified_ledger(&lab);
    assert!(entries.len() > before, "the attaches are in the ledger");
    let attached: usize = entries[before..]
        .iter()
        .flat_map(|e| e["data"]["plugins"].as_array().cloned().unwrap_or_default())
        .flat_map(|p| p["actions"].as_array().cloned().unwrap_or_default())
        .filter(|a| a["type"] == "Modify" && a["changes"]["controller"] == "ovsbr0")
        .count();
    assert_eq!(attached, 10, "each attach recorded once");
    // Links that are no guest's are left alone: one not watched by name,
    // and a watched veth with both ends here (a loop if both were ports).
    add_veths(&lab, "other", 0..1);
    lab.sh("ip link add veth-a type veth peer name veth-b && ip link set veth-a up && ip link set veth-b up").unwrap();

    // The guests go (their ends deleted take the pairs): the ports go.
    del_links(&lab, "guests", &names("gveth", 0..10));
    wait_ports(&lab, "the veths' ports gone", &BTreeSet::from(["eth0".to_string()]));
    lab.wait_until(Duration::from_secs(10), "the block without them", || !interfaces(&lab).contains("veth9")).unwrap();
    assert!(block(&lab).contains("\tovs_ports eth0\n"), "{}", block(&lab));
    let rewrites = verified_ledger(&lab).iter().filter(|e| e["category"] == "interfaces_file").count();
    assert!(rewrites >= 2, "each rewrite of the block is recorded");
}

#[test]
fn a_malformed_block_is_reported_and_left_as_it_is() {
    let (lab, _daemon) = agent_lab();
    let broken =
        format!("{INTERFACES}\n# BEGIN ovs-port-agent\nauto x\n# BEGIN ovs-port-agent\n# END ovs-port-agent\n");
    lab.write("/etc/network/interfaces", broken.as_bytes()).unwrap();
    add_veths(&lab, "veth", 0..1);
    wait_ports(&lab, "the veth attached", &BTreeSet::from(["eth0".to_string(), "veth0".to_string()]));
    let refused = |e: &serde_json::Value| e["category"] == "interfaces_file" && e["data"]["result"] == "refused";
    lab.wait_until(Duration::from_secs(10), "the refusal recorded", || verified_ledger(&lab).iter().any(refused))
        .unwrap();
    let entry = verified_ledger(&lab).into_iter().find(refused).unwrap();
    assert!(entry["data"]["error"].as_str().unwrap().contains("line 13: a second `# BEGIN ovs-port-agent`"), "{entry}");
    assert_eq!(interfaces(&lab), broken, "never clobbered");
}

#[test]
fn the_agents_ports_survive_an_apply_of_the_admins_file() {
    let (lab, _daemon) = agent_lab();
    add_veths(&lab, "veth", 0..3);
    let mut want = names("veth", 0..3);
    want.insert("eth0".into());
    wait_ports(&lab, "three veths attached", &want);
    // The guide's file lists only eth0 under ports: the agent's ports stay.
    let r = apply(&lab, "net", GUIDE_NET);
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert_eq!(ports(&lab), want);
    let q = portagent(&lab, &["query-state", "--plugin", "net"]);
    let q = text(&q.stdout);
    assert!(q.contains("dynamic: true"), "query shows the agent's ports as such: {q}");
    // And query-state's output re-applies as a no-op.
    lab.write("/etc/ovs-port-agent/queried.yaml", q.as_bytes()).unwrap();
    let again = portagent(&lab, &["apply-state", "/etc/ovs-port-agent/queried.yaml", "--output", "json"]);
    let again: serde_json::Value = serde_json::from_slice(&again.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}\n{}\n{q}", text(&again.stdout), text(&again.stderr)));
    assert_eq!(again["plugins"], serde_json::json!([]), "{again}");
}

#[test]
fn concurrent_add_port_calls_each_attach_their_port() {
    let (lab, _daemon) = agent_lab();
    // Links the agent does not watch: only add_port attaches them.
    add_veths(&lab, "x", 0..20);
    let calls: String = (0..20)
        .map(|i| {
            format!(
                "dbus-send --system --print-reply --dest=dev.ovs.PortAgent1 /dev/ovs/PortAgent1 \
                 dev.ovs.PortAgent1.add_port string:x{i} > /dev/null &\n"
            )
        })
        .chain(std::iter::once("wait\n".to_string()))
        .collect();
    let before = verified_ledger(&lab).len();
    lab.sh(&calls).unwrap();
    let mut want = names("x", 0..20);
    want.insert("eth0".into());
    assert_eq!(ports(&lab), want);
    let entries = verified_ledger(&lab);
    let of = |c: &str| entries[before..].iter().filter(|e| e["category"] == c).count();
    assert_eq!(of("apply_state"), 20, "one entry per port");
    assert!(of("interfaces_file") >= 1, "and the managed block rewritten");
    let block = lab.read("/etc/network/interfaces").unwrap();
    assert!(block.contains("x19") && block.contains("x0 "), "{block}");
    // del_port takes one off, leaving the others.
    send(&lab, "del_port", "string:x7").unwrap();
    want.remove("x7");
    assert_eq!(ports(&lab), want);
}

#[test]
fn a_restarted_daemon_reconciles_what_changed_while_it_was_down() {
    let (lab, daemon) = agent_lab();
    add_veths(&lab, "veth", 0..3);
    let mut want = names("veth", 0..3);
    want.insert("eth0".into());
    wait_ports(&lab, "three veths attached", &want);
    drop(daemon);
    add_veths(&lab, "veth", 3..8);
    del_links(&lab, "", &names("veth", 0..2));
    let _daemon = start_daemon(&lab);
    let mut want = names("veth", 2..8);
    want.insert("eth0".into());
    wait_ports(&lab, "reconciled at start", &want);
    verified_ledger(&lab);
}

/// Restarts the lab's daemon with `config` added to the lab's config file.
fn restart_with(lab: &Lab, daemon: crate::dbus::Daemon, config: &str) -> crate::dbus::Daemon {
    drop(daemon);
    let base = lab.read("/etc/ovs-port-agent/config.toml").unwrap();
    lab.write("/etc/ovs-port-agent/config.toml", format!("{base}{config}").as_bytes()).unwrap();
    start_daemon(lab)
}

#[test]
fn create_interface_names_renames_and_attaches_and_remove_interface_detaches() {
    let (lab, daemon) = agent_lab();
    let _daemon = restart_with(&lab, daemon, "naming_template = \"vi{vmid}\"\nenable_rename = true\n");
    // The container runtime made it; the agent attaches it at once under its raw name.
    add_veths(&lab, "veth-123-eth", 0..1);
    let raw: BTreeSet<String> = ["eth0", "veth-123-eth0"].map(String::from).into();
    wait_ports(&lab, "the raw veth attached by the agent", &raw);

    let out = portagent(&lab, &["create-interface", "veth-123-eth0", "container-123", "100"]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((created["name"].as_str(), created["port"].as_str()), (Some("vi100"), Some("vi100")), "{created}");
    assert!(lab.sh("ip -br link show vi100").unwrap().starts_with("vi100"), "the link is renamed");
    assert!(lab.sh("ip link show veth-123-eth0").is_err(), "the raw name is gone");
    assert_eq!(ports(&lab), ["eth0", "vi100"].map(String::from).into());
    assert_eq!(lab.vsctl("get port vi100 external_ids:portagent").unwrap().trim(), "dynamic");
    lab.wait_until(Duration::from_secs(10), "the block naming vi100", || interfaces(&lab).contains("iface vi100 "))
        .unwrap();

    let out = portagent(&lab, &["remove-interface", "vi100"]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(ports(&lab), ["eth0"].map(String::from).into());
    // A name that is no port: a clear error, exit 2, nothing changed.
    let out = portagent(&lab, &["remove-interface", "vi999"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no port of ovsbr0 is named vi999"), "{}", text(&out.stderr));
    verified_ledger(&lab);
}

#[test]
fn without_rename_the_port_keeps_its_name_and_the_template_name_goes_to_external_ids() {
    let (lab, daemon) = agent_lab();
    let _daemon =
        restart_with(&lab, daemon, "naming_template = \"veth-{container}-eth{index}\"\ninclude_prefixes = []\n");
    add_veths(&lab, "tap200i", 1..2);
    let out = portagent(&lab, &["create-interface", "tap200i1", "ct200", "200"]);
    assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
    let created: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(created["name"], "veth-ct200-eth1", "{created}");
    assert_eq!(created["port"], "tap200i1", "{created}");
    assert_eq!(lab.vsctl("get port tap200i1 external_ids:portagent-name").unwrap().trim(), "veth-ct200-eth1");
    let q = text(&portagent(&lab, &["query-state", "--plugin", "net"]).stdout);
    assert!(q.contains("alias: veth-ct200-eth1"), "{q}");
    // Removed by its template name.
    let out = portagent(&lab, &["remove-interface", "veth-ct200-eth1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(ports(&lab), ["eth0"].map(String::from).into());
}

#[test]
fn the_cli_lists_adds_and_deletes_ports_without_a_daemon() {
    let lab = crate::net::net_lab();
    assert!(apply(&lab, "net", GUIDE_NET).status.success());
    lab.sh("ip link add vm1 type veth peer name vm1p && ip link set vm1 up").unwrap();
    let list = |lab: &Lab| text(&portagent(lab, &["list-ports"]).stdout);
    assert_eq!(list(&lab), "eth0\n");
    let out = portagent(&lab, &["add-port", "vm1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(list(&lab), "eth0\nvm1\n");
    assert!(interfaces(&lab).contains("\niface vm1 inet manual\n"), "{}", interfaces(&lab));
    assert!(
        interfaces(&lab).contains("\tovs_ports eth0\n"),
        "a guest's port is not the bridge's: {}",
        interfaces(&lab)
    );
    let out = portagent(&lab, &["add-port", "nosuch0"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out.stderr).contains("no network device named nosuch0 exists"), "{}", text(&out.stderr));
    let out = portagent(&lab, &["del-port", "vm1"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(list(&lab), "eth0\n");
    assert!(!interfaces(&lab).contains("iface vm1 "), "{}", interfaces(&lab));
}

/// The bridge `name` is a port of, by `ovs-vsctl` (`None`: of none).
fn bridge_of(lab: &Lab, name: &str) -> Option<String> {
    lab.vsctl(&format!("port-to-br {name}")).ok().map(|b| b.trim().to_string())
}

/// qemu-server's taps plugged as it plugs them (`ip tuntap add`, then
/// `ovs-vsctl --may-exist add-port ovsbr1 TAP tag=20`, at once or after a
/// hook's 200 ms), and Proxmox's firewall layout (the tap enslaved to a
/// Linux bridge `fwbrNi0`): every VM port ends where the hypervisor put it
/// with its tag, its plug never fails, and no firewalled tap is ever put
/// on OVS, not as it appears and not by the sweep after a restart.
#[test]
fn the_hypervisors_own_plugs_and_firewall_bridges_are_left_alone() {
    let (lab, daemon) = agent_lab();
    let taps = |vm: usize, n: usize| -> Vec<String> { (0..n).map(|i| format!("tap{}i{i}", vm + i)).collect() };
    for (taps, delay) in [(taps(100, 1), "0"), (taps(110, 10), "0"), (taps(130, 3), "0.2")] {
        let mut script = String::new();
        for t in &taps {
            script.push_str(&format!("ip tuntap add {t} mode tap && ip link set {t} up\n"));
        }
        script.push_str(&format!("sleep {delay}\n"));
        for t in &taps {
            script.push_str(&format!(
                "ovs-vsctl --timeout=10 --may-exist add-port ovsbr1 {t} tag=20 || echo PLUG-FAILED {t}\n"
            ));
        }
        let out = lab.sh(&script).unwrap();
        assert!(!out.contains("PLUG-FAILED"), "the hypervisor's plug failed: {out}");
        // Longer than adopt_after_ms and an apply: the agent had its chance.
        std::thread::sleep(Duration::from_millis(1500));
        for t in &taps {
            assert_eq!(bridge_of(&lab, t).as_deref(), Some("ovsbr1"), "{t} stays where qemu-server put it");
            assert_eq!(lab.vsctl(&format!("get port {t} tag")).unwrap().trim(), "20", "{t} keeps its tag");
        }
    }
    // The firewall layout: tap -> fwbr (a Linux bridge); qemu-server plugs fwpr itself.
    let fw = "ip link add fwbr200i0 type bridge && ip link set fwbr200i0 up && \
              ip tuntap add tap200i0 mode tap && ip link set tap200i0 master fwbr200i0 && ip link set tap200i0 up";
    lab.sh(fw).unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(bridge_of(&lab, "tap200i0"), None, "a firewalled tap is never on OVS");
    let _daemon = restart_with(&lab, daemon, "");
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(bridge_of(&lab, "tap200i0"), None, "nor after the start-up sweep");
    // A container's veth is still the agent's, attached once.
    add_veths(&lab, "veth", 0..1);
    let want: BTreeSet<String> = ["eth0", "veth0"].map(String::from).into();
    wait_ports(&lab, "the container's veth attached", &want);
    verified_ledger(&lab);
}

/// LXC's order: the pair made on the host, the host's end set up, and
/// only then the peer moved into the container. The kernel reports the
/// move as the peer's DELLINK alone; the agent attaches the host's end.
#[test]
fn a_veth_whose_peer_moves_into_a_container_afterwards_is_attached() {
    let (lab, _daemon) = agent_lab();
    lab.sh("[ -e /run/netns/guests ] || ip netns add guests\n\
         ip link add veth300i0 type veth peer name ceth300 && ip link set veth300i0 up\n\
         sleep 1\n\
         ip link set ceth300 netns guests")
        .unwrap();
    let want: BTreeSet<String> = ["eth0", "veth300i0"].map(String::from).into();
    wait_ports(&lab, "the host's end attached after its peer moved", &want);
}

/// Two NICs of one guest under the default template (`vi{vmid}`), links
/// keeping their names: two different template names, and each removes
/// its own port.
#[test]
fn two_nics_of_one_guest_get_two_names_without_rename() {
    let (lab, daemon) = agent_lab();
    let _daemon = restart_with(&lab, daemon, "include_prefixes = []\n");
    add_veths(&lab, "veth900i", 0..2);
    let create = |raw: &str| {
        let out = portagent(&lab, &["create-interface", raw, "ct900", "900"]);
        assert!(out.status.success(), "{}\n{}", text(&out.stdout), text(&out.stderr));
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()["name"].as_str().unwrap().to_string()
    };
    let (first, second) = (create("veth900i0"), create("veth900i1"));
    assert_eq!(first, "vi900");
    assert!(second != first && second.starts_with("vi900-"), "{second}");
    assert_eq!(create("veth900i0"), first, "asked again: the same name");
    let alias = |port: &str| lab.vsctl(&format!("get port {port} external_ids:portagent-name")).unwrap();
    assert_eq!(alias("veth900i1").trim().trim_matches('"'), second);
    let out = portagent(&lab, &["remove-interface", &second]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(ports(&lab), ["eth0", "veth900i0"].map(String::from).into(), "only its own port went");
}

/// An apply-state that changes the bridge's ports rewrites the managed
/// block too (not only the agent's changes do), through the daemon and
/// without it; one that does not touch the bridge leaves the file alone.
#[test]
fn an_apply_state_that_changes_the_bridges_ports_refreshes_the_block() {
    let (lab, daemon) = agent_lab();
    // A block the agent keeps already (an apply-state alone adds none).
    let kept = format!("{INTERFACES}\n\n# BEGIN ovs-port-agent\n# END ovs-port-agent\n");
    lab.write("/etc/network/interfaces", kept.as_bytes()).unwrap();
    let with_internal = |name: &str| {
        let listed =
            GUIDE_NET.replace("          - eth0  # Physical uplink", &format!("          - eth0\n          - {name}"));
        format!("{listed}      - name: {name}\n        type: ovs-interface\n")
    };
    let r = apply(&lab, "int", &with_internal("ovsi1"));
    assert!(r.status.success(), "{}", text(&r.stderr));
    let b = block(&lab);
    assert!(
        b.contains("\tovs_ports eth0 ovsi1\n")
            && b.contains("auto ovsi1\niface ovsi1 inet manual\n\tovs_type OVSIntPort\n"),
        "{b}"
    );
    // Without the daemon, the CLI does the same.
    drop(daemon);
    let r = apply(&lab, "int2", &with_internal("ovsi2"));
    assert!(r.status.success(), "{}", text(&r.stderr));
    assert!(block(&lab).contains("auto ovsi2\n"), "{}", block(&lab));
    // A change elsewhere (ovsbr1's address) does not rewrite the file.
    let before = interfaces(&lab);
    let other = with_internal("ovsi2").replace("10.0.100.1", "10.0.100.2");
    assert!(apply(&lab, "other", &other).status.success());
    assert_eq!(interfaces(&lab), before);
    // Nor is a block added to a file that has none.
    lab.write("/etc/network/interfaces", INTERFACES.as_bytes()).unwrap();
    assert!(apply(&lab, "int", &with_internal("ovsi1")).status.success());
    assert_eq!(interfaces(&lab), INTERFACES);
}
