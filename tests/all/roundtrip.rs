//! The round-trip property, the project's own: states generated from
//! `net`'s and `netcfg`'s models (seeded, the seed printed) are applied and
//! undone (an explicit `rollback`, a confirm timeout that expires, a
//! failed connectivity probe, portagent killed with SIGKILL at a random
//! moment and rolled back after), and the system is read before and after by
//! tools that are not portagent (`ovsdb-client`, `ip -j`, `ovs-ofctl`,
//! networkd's files byte for byte and its run-time DNS, `hostname`). After
//! an apply the live system shows what the file asked; after the undo it
//! is what it was, every field of it.
//!
//! `PORTAGENT_ROUNDTRIP_SEED` replays a run, `PORTAGENT_ROUNDTRIP_ROUNDS`
//! sets its length. CI runs a few rounds from a fixed seed (the same
//! states every run, so a red run is a change's, not the dice's);
//! `./scripts/bench roundtrip` runs many from the clock's seed
//! (`PORTAGENT_ROUNDTRIP_RANDOM=1`), printed for a replay.

use crate::net::{ledger, net_lab, portagent};
use crate::support::text;
use portagent_lab::Lab;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::time::Duration;

const JOURNAL: &str = "/var/lib/ovs-port-agent/journal.json";

/// A small, seedable generator (splitmix64): the same seed, the same states.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e3779b97f4a7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58476d1ce4e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d049bb133111eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len() as u64) as usize].clone()
    }
}

fn addr(ip: &str, prefix: u8) -> Value {
    json!({"ip": ip, "prefix": prefix})
}

/// One state file: the guide's uplink bridge always (the lab's way out),
/// everything else drawn from what `net` and `netcfg` can say.
fn generate(rng: &mut Rng) -> Value {
    let mut interfaces = Vec::new();
    let mut br0 = json!({"name": "ovsbr0", "type": "ovs-bridge", "ports": ["eth0"],
        "ipv4": {"enabled": true, "dhcp": false, "address": [addr("192.168.1.100", 24)], "gateway": "192.168.1.1"}});
    if let Some(mtu) = rng.pick(&[None, Some(1400), Some(1450), Some(1500)]) {
        br0["mtu"] = json!(mtu);
    }
    if rng.chance(30) {
        br0["ipv4"]["address"].as_array_mut().unwrap().push(addr("192.168.1.101", 24));
    }
    if rng.chance(30) {
        br0["ipv4"]["dns"] = json!(rng.pick(&[vec!["192.168.1.53"], vec!["192.168.1.53", "192.168.1.54"]]));
    }
    interfaces.push(br0);
    interfaces.push(json!({"name": "eth0", "type": "ethernet", "controller": "ovsbr0", "ipv4": {"enabled": false}}));

    let mut eth2_free = true;
    if rng.chance(75) {
        let mut br1 = json!({"name": "ovsbr1", "type": "ovs-bridge"});
        let ports = match rng.below(6) {
            0 => json!([]),
            1 => json!(["eth1"]),
            2 => json!([{"name": "eth1", "vlan": {"mode": "access", "tag": rng.pick(&[10, 20, 4094])}}]),
            3 => json!([{"name": "eth1", "vlan": {"mode": "trunk", "trunks": rng.pick(&[vec![10, 20], vec![30]])}}]),
            4 => {
                eth2_free = false;
                json!([{"name": "bond1", "bond": {"mode": rng.pick(&["active-backup", "balance-slb"]),
                    "ports": ["eth1", "eth2"]}}])
            }
            _ => {
                eth2_free = false;
                json!(["eth1", "eth2"])
            }
        };
        br1["ports"] = ports;
        if let Some(mtu) = rng.pick(&[None, Some(1400), Some(1450), Some(1600)]) {
            br1["mtu"] = json!(mtu);
        }
        if rng.chance(60) {
            br1["ipv4"] = json!({"enabled": true, "dhcp": false,
                "address": [addr(rng.pick(&["10.0.100.1", "10.0.101.1"]), 24)]});
        }
        if rng.chance(30) {
            br1["stp"] = json!(rng.chance(50));
        } else if rng.chance(20) {
            br1["rstp"] = json!(rng.chance(50));
        }
        if let Some(mode) = rng.pick(&[None, Some("standalone"), Some("secure")]) {
            br1["fail_mode"] = json!(mode);
        }
        let internal = rng.chance(40);
        if internal {
            br1["ports"].as_array_mut().unwrap().push(json!("ovs1"));
        }
        interfaces.push(br1);
        if internal {
            let mut ovs1 = json!({"name": "ovs1", "type": "ovs-interface", "controller": "ovsbr1",
                "ipv4": {"enabled": true, "dhcp": false, "address": [addr("10.0.102.1", 24)]}});
            if let Some(mtu) = rng.pick(&[None, Some(1400), Some(1500)]) {
                ovs1["mtu"] = json!(mtu);
            }
            interfaces.push(ovs1);
        }
    }
    if eth2_free && rng.chance(40) {
        let mut eth2 = json!({"name": "eth2", "type": "ethernet"});
        if let Some(mtu) = rng.pick(&[None, Some(1400), Some(9000)]) {
            eth2["mtu"] = json!(mtu);
        }
        if rng.chance(70) {
            eth2["ipv4"] = json!({"enabled": true, "dhcp": false, "address": [addr("10.1.2.100", 24)]});
        }
        if rng.chance(30) {
            eth2["ipv6"] = json!({"enabled": true, "dhcp": false, "address": [addr("fd00:12::100", 64)]});
        }
        interfaces.push(eth2);
    }
    if rng.chance(35) {
        let mut br2 = json!({"name": "ovsbr2", "type": "ovs-bridge", "ports": ["eth3"]});
        if rng.chance(50) {
            br2["ipv6"] = json!({"enabled": true, "dhcp": false, "address": [addr("fd00:2::1", 64)]});
        }
        interfaces.push(br2);
    }
    let mut plugins = json!({"net": {"interfaces": interfaces}});

    if rng.chance(60) {
        let mut netcfg = serde_json::Map::new();
        if rng.chance(60) {
            let mut routes = vec![json!({"destination": rng.pick(&["10.90.0.0/16", "10.91.0.0/16"]),
                "gateway": "192.168.1.1", "interface": "ovsbr0"})];
            if rng.chance(50) {
                routes[0]["metric"] = json!(rng.pick(&[100, 200]));
            }
            if rng.chance(30) {
                routes.push(json!({"destination": "10.92.0.0/16", "type": "blackhole"}));
            }
            netcfg.insert("routing".into(), json!(routes));
        }
        if rng.chance(40) {
            netcfg.insert(
                "rules".into(),
                json!([{"priority": rng.pick(&[1000, 1001]), "from": "192.168.1.0/24", "table": 100}]),
            );
        }
        if rng.chance(40) {
            let mut dns = json!({"search_domains": rng.pick(&[vec!["lab.internal"], vec!["a.example", "b.example"]])});
            if rng.chance(50) {
                dns["servers"] = json!(["192.168.1.53"]);
            }
            if rng.chance(30) {
                dns["hostname"] = json!(rng.pick(&["rt-a", "rt-b"]));
            }
            netcfg.insert("dns".into(), dns);
        }
        if rng.chance(50) {
            netcfg.insert(
                "ovs_flows".into(),
                json!([{"bridge": "ovsbr0", "priority": rng.pick(&[100, 200]),
                    "match_rule": rng.pick(&["ip,nw_dst=10.5.0.0/16", "ip,nw_src=192.168.100.0/24"]),
                    "actions": rng.pick(&["drop", "normal"])}]),
            );
        }
        if !netcfg.is_empty() {
            plugins["netcfg"] = Value::Object(netcfg);
        }
    }
    json!({"version": 1, "plugins": plugins})
}

/// The system as tools that are not portagent read it, one entry per
/// source, each normalised only where the source itself varies (row
/// uuids, counters, timers).
pub fn system(lab: &Lab) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    out.insert("ovsdb".into(), ovsdb(lab));
    let links: Value = serde_json::from_str(&lab.sh("ip -j link show").unwrap()).unwrap();
    let names: BTreeMap<u64, String> = links
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["ifindex"].as_u64().unwrap(), l["ifname"].as_str().unwrap().to_string()))
        .collect();
    for l in links.as_array().unwrap() {
        let name = l["ifname"].as_str().unwrap();
        let up = l["flags"].as_array().unwrap().iter().any(|f| f == "UP");
        out.insert(
            format!("link {name}"),
            format!("mtu {} up {up} master {}", l["mtu"], l["master"].as_str().unwrap_or("-")),
        );
    }
    let addrs: Value = serde_json::from_str(&lab.sh("ip -j addr show").unwrap()).unwrap();
    for l in addrs.as_array().unwrap() {
        let mut a: Vec<String> = l["addr_info"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| format!("{}/{}", a["local"].as_str().unwrap_or(""), a["prefixlen"]))
            .collect();
        a.sort();
        out.insert(format!("addresses {}", l["ifname"].as_str().unwrap()), a.join(" "));
    }
    for family in ["-4", "-6"] {
        let routes: Value =
            serde_json::from_str(&lab.sh(&format!("ip -j {family} route show table all")).unwrap()).unwrap();
        let mut lines: Vec<String> = routes
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["table"] != "local" && r["type"] != "multicast")
            .map(|r| {
                ["type", "dst", "gateway", "dev", "table", "protocol", "metric", "prefsrc", "scope"]
                    .iter()
                    .filter(|k| !r[**k].is_null())
                    .map(|k| format!("{k}={}", r[*k]))
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect();
        lines.sort();
        out.insert(format!("routes {family}"), lines.join("\n"));
        let mut rules: Vec<String> = serde_json::from_str::<Value>(&lab.sh(&format!("ip -j {family} rule")).unwrap())
            .unwrap()
            .as_array()
            .unwrap()
            .iter()
            .map(Value::to_string)
            .collect();
        rules.sort();
        out.insert(format!("rules {family}"), rules.join("\n"));
    }
    for br in lab.vsctl("list-br").unwrap().lines() {
        let mut flows: Vec<String> = lab
            .sh(&format!("ovs-ofctl dump-flows {br} --no-stats"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with("NXST_FLOW") && !l.starts_with("OFPST_FLOW"))
            .map(|l| l.trim().to_string())
            .collect();
        flows.sort();
        out.insert(format!("flows {br}"), flows.join("\n"));
    }
    // networkd's config dir byte for byte, drop-ins included.
    let files = lab
        .sh("cd /etc/systemd/network && find . -mindepth 1 | sort | while read -r f; do \
             if [ -f \"$f\" ]; then echo \"== $f\"; cat \"$f\"; else echo \"== $f ($(stat -c %F \"$f\"))\"; fi; done")
        .unwrap();
    out.insert("networkd files".into(), files);
    // networkd's run-time DNS per link (what SetLinkDNS/SetLinkDomains set).
    for (index, name) in &names {
        let state = std::fs::read_to_string(lab.path(format!("/run/systemd/netif/links/{index}"))).unwrap_or_default();
        let dns: Vec<&str> = state.lines().filter(|l| l.starts_with("DNS=") || l.starts_with("DOMAINS=")).collect();
        if !dns.is_empty() {
            out.insert(format!("networkd dns {name}"), dns.join(" "));
        }
    }
    out.insert(
        "hostname".into(),
        format!("{} / {}", lab.sh("hostname").unwrap().trim(), lab.read("/etc/hostname").unwrap_or_default().trim()),
    );
    out
}

/// [`system`] once two readings 300 ms apart agree (at most 15 s).
pub fn settled(lab: &Lab) -> BTreeMap<String, String> {
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let mut last = system(lab);
    loop {
        std::thread::sleep(Duration::from_millis(300));
        let now = system(lab);
        if now == last || std::time::Instant::now() >= deadline {
            return now;
        }
        last = now;
    }
}

/// OVSDB's configuration columns, read with `ovsdb-client`, references by
/// name (rows made again get new uuids; their content must be the same).
fn ovsdb(lab: &Lab) -> String {
    let select = |table: &str, columns: &[&str]| {
        let mut cols = vec!["_uuid"];
        cols.extend_from_slice(columns);
        json!({"op": "select", "table": table, "where": [], "columns": cols})
    };
    let txn = json!([
        "Open_vSwitch",
        select("Open_vSwitch", &["bridges", "external_ids", "other_config"]),
        select(
            "Bridge",
            &[
                "name",
                "ports",
                "datapath_type",
                "stp_enable",
                "rstp_enable",
                "fail_mode",
                "external_ids",
                "other_config",
                "mcast_snooping_enable",
                "protocols",
                "controller",
                "mirrors"
            ]
        ),
        select(
            "Port",
            &[
                "name",
                "interfaces",
                "tag",
                "trunks",
                "vlan_mode",
                "bond_mode",
                "lacp",
                "external_ids",
                "other_config",
                "qos",
                "bond_updelay",
                "bond_downdelay"
            ]
        ),
        select(
            "Interface",
            &[
                "name",
                "type",
                "options",
                "mtu_request",
                "external_ids",
                "other_config",
                "ingress_policing_rate",
                "ingress_policing_burst"
            ]
        ),
    ]);
    let out = lab
        .command("ovsdb-client")
        .args(["transact", "unix:/run/openvswitch/db.sock", &txn.to_string()])
        .output()
        .unwrap();
    assert!(out.status.success(), "ovsdb-client: {}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    for table in &result.as_array().unwrap()[1..] {
        for row in table["rows"].as_array().unwrap() {
            names.insert(row["_uuid"][1].as_str().unwrap().into(), row["name"].as_str().unwrap().into());
        }
    }
    // A uuid by its row's name; sets and maps in a fixed order.
    fn named(v: &Value, names: &BTreeMap<String, String>) -> Value {
        match v {
            Value::Array(a) if a.len() == 2 && a[0] == "uuid" => {
                json!(names.get(a[1].as_str().unwrap()).cloned().unwrap_or_else(|| "?foreign".into()))
            }
            Value::Array(a) if a.len() == 2 && (a[0] == "set" || a[0] == "map") => {
                let mut items: Vec<Value> = a[1].as_array().unwrap().iter().map(|i| named(i, names)).collect();
                items.sort_by_key(Value::to_string);
                json!([a[0], items])
            }
            Value::Array(a) => Value::Array(a.iter().map(|i| named(i, names)).collect()),
            other => other.clone(),
        }
    }
    let mut lines = Vec::new();
    for (table, rows) in ["Open_vSwitch", "Bridge", "Port", "Interface"].iter().zip(result.as_array().unwrap()) {
        for row in rows["rows"].as_array().unwrap() {
            let mut row = row.as_object().unwrap().clone();
            row.remove("_uuid");
            let row: serde_json::Map<String, Value> = row.iter().map(|(k, v)| (k.clone(), named(v, &names))).collect();
            lines.push(format!("{table} {}", Value::Object(row)));
        }
    }
    lines.sort();
    lines.join("\n")
}

/// What differs between two readings, one line per source.
pub fn differences(before: &BTreeMap<String, String>, after: &BTreeMap<String, String>) -> Vec<String> {
    let mut keys: Vec<&String> = before.keys().chain(after.keys()).collect();
    keys.sort();
    keys.dedup();
    keys.into_iter()
        .filter(|k| before.get(*k) != after.get(*k))
        .map(|k| {
            format!(
                "{k}:\n    before: {}\n    after:  {}",
                before.get(k).map_or("(none)".into(), |v| v.replace('\n', "\n            ")),
                after.get(k).map_or("(none)".into(), |v| v.replace('\n', "\n            "))
            )
        })
        .collect()
}

/// What the file asked for that the live system (read by the same outside
/// tools) does not show.
fn unmet(lab: &Lab, state: &Value, now: &BTreeMap<String, String>) -> Vec<String> {
    let mut missed = Vec::new();
    let links: Value = serde_json::from_str(&lab.sh("ip -j link show").unwrap()).unwrap();
    let link = |name: &str| links.as_array().unwrap().iter().find(|l| l["ifname"] == name).cloned();
    for iface in state["plugins"]["net"]["interfaces"].as_array().unwrap() {
        let name = iface["name"].as_str().unwrap();
        let Some(l) = link(name) else {
            missed.push(format!("{name}: no such link"));
            continue;
        };
        if let Some(mtu) = iface["mtu"].as_u64()
            && l["mtu"].as_u64() != Some(mtu)
        {
            missed.push(format!("{name}.mtu: asked {mtu}, ip link shows {}", l["mtu"]));
        }
        for family in ["ipv4", "ipv6"] {
            for a in iface[family]["address"].as_array().into_iter().flatten() {
                let want = format!("{}/{}", a["ip"].as_str().unwrap(), a["prefix"]);
                if !now.get(&format!("addresses {name}")).is_some_and(|have| have.split(' ').any(|h| h == want)) {
                    missed.push(format!("{name}.{family}.address: {want} not on the link"));
                }
            }
        }
        if let Some(ports) = iface["ports"].as_array() {
            let mut want: Vec<String> =
                ports.iter().map(|p| p.as_str().or(p["name"].as_str()).unwrap().to_string()).collect();
            want.sort();
            let mut have: Vec<String> =
                lab.vsctl(&format!("list-ports {name}")).unwrap().lines().map(String::from).collect();
            have.sort();
            if want != have {
                missed.push(format!("{name}.ports: asked {want:?}, ovs-vsctl list-ports shows {have:?}"));
            }
            for p in ports.iter().filter(|p| p.is_object()) {
                let port = p["name"].as_str().unwrap();
                if let Some(tag) = p["vlan"]["tag"].as_u64() {
                    let have = lab.vsctl(&format!("get Port {port} tag")).unwrap();
                    if have.trim() != tag.to_string() {
                        missed.push(format!("{port}.vlan.tag: asked {tag}, OVSDB has {}", have.trim()));
                    }
                }
            }
        }
    }
    for route in state["plugins"]["netcfg"]["routing"].as_array().into_iter().flatten() {
        let dst = route["destination"].as_str().unwrap();
        if !now.get("routes -4").is_some_and(|r| r.contains(&format!("dst=\"{dst}\""))) {
            missed.push(format!("netcfg route {dst}: not in ip route"));
        }
    }
    missed
}

#[derive(Clone, Copy, Debug)]
enum Undo {
    /// `apply-state --confirm-timeout 120`, then `portagent rollback`.
    Rollback,
    /// `apply-state --confirm-timeout 2` and nobody confirms.
    Expiry,
    /// A probe of an address nobody has: rolled back at once.
    FailedProbe,
    /// `apply-state --confirm-timeout 120` killed (SIGKILL) at a random
    /// moment, then `portagent rollback`: whatever it got to (nothing yet,
    /// mid-apply, awaiting confirmation) comes undone.
    Kill,
}

fn write(lab: &Lab, name: &str, state: &Value) -> String {
    let path = format!("/etc/ovs-port-agent/{name}.yaml");
    lab.write(&path, serde_json::to_string_pretty(state).unwrap().as_bytes()).unwrap();
    path
}

/// Runs `rounds` rounds from `seed`: each applies a generated base state,
/// reads the system, applies a second generated state and undoes it one of
/// the three ways, and requires the same reading. Panics with the seed and
/// both files on the first difference.
pub fn run(seed: u64, rounds: u32) {
    let lab = net_lab_with_nics();
    let mut rng = Rng(seed);
    let mut applied = 0;
    for round in 0..rounds {
        let base = generate(&mut rng);
        let change = generate(&mut rng);
        let undo = rng.pick(&[Undo::Rollback, Undo::Expiry, Undo::FailedProbe, Undo::Kill]);
        let kill_after = Duration::from_millis(rng.below(1500));
        eprintln!("roundtrip: round {round}: {undo:?}");
        let context = || {
            format!(
                "seed {seed} round {round} ({undo:?}); replay with PORTAGENT_ROUNDTRIP_SEED={seed}\nbase: {base}\nchange: {change}"
            )
        };
        let base_file = write(&lab, "base", &base);
        let out = portagent(&lab, &["apply-state", &base_file, "--output", "json"]);
        // What verify promises is checked at once; the reading to restore
        // to waits until networkd is done with what the file set off (a
        // NIC that joined a bond loses its old addresses a moment later).
        let right_after = system(&lab);
        let before = settled(&lab);
        if out.status.success() {
            let unmet = unmet(&lab, &base, &right_after);
            assert!(
                unmet.is_empty(),
                "base applied and verified, but the system says otherwise:\n{}\n{}\n{}",
                unmet.join("\n"),
                text(&out.stdout),
                context()
            );
        } else {
            // A base that did not apply was undone: the next round starts
            // from here all the same (what it left is what `before` holds).
            eprintln!(
                "round {round}: base not applied (exit {:?}): {}\n{}",
                out.status.code(),
                text(&out.stdout),
                context()
            );
            assert_eq!(
                out.status.code(),
                Some(3),
                "refused or worse: {}{}\n{}",
                text(&out.stdout),
                text(&out.stderr),
                context()
            );
        }
        let file = write(&lab, "change", &change);
        let height = ledger(&lab).len();
        let args: Vec<&str> = match undo {
            Undo::Rollback | Undo::Kill => vec!["apply-state", &file, "--confirm-timeout", "120"],
            Undo::Expiry => vec!["apply-state", &file, "--confirm-timeout", "2"],
            Undo::FailedProbe => vec!["apply-state", &file, "--probe", "192.168.1.77"],
        };
        let out = if let Undo::Kill = undo {
            let mut child = lab
                .command(env!("CARGO_BIN_EXE_portagent"))
                .args(&args)
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap();
            std::thread::sleep(kill_after);
            let _ = child.kill();
            let _ = child.wait();
            let r = portagent(&lab, &["rollback"]);
            assert!(
                r.status.success() || text(&r.stderr).contains("no change awaits confirmation"),
                "after kill -9 at {kill_after:?}: {}{}\n{}",
                text(&r.stdout),
                text(&r.stderr),
                context()
            );
            None
        } else {
            Some(portagent(&lab, &args))
        };
        let Some(out) = out else {
            lab.wait_until(Duration::from_secs(30), "the change settled", || !lab.path(JOURNAL).exists()).unwrap();
            let diff = differences(&before, &settled(&lab));
            assert!(
                diff.is_empty(),
                "not restored after kill -9 at {kill_after:?}:\n{}\n{}",
                diff.join("\n"),
                context()
            );
            let entries = ledger(&lab);
            if entries.len() > height {
                let last = entries.last().unwrap();
                assert_eq!(last["data"]["result"], "rolled_back", "{last}\n{}", context());
            }
            continue;
        };
        match (undo, out.status.code()) {
            (Undo::FailedProbe, Some(3)) => {}
            (Undo::Rollback | Undo::Expiry, Some(0)) => {
                applied += 1;
                let unmet = unmet(&lab, &change, &system(&lab));
                assert!(
                    unmet.is_empty(),
                    "applied and verified, but the system says otherwise:\n{}\n{}",
                    unmet.join("\n"),
                    context()
                );
                if let Undo::Rollback = undo {
                    let r = portagent(&lab, &["rollback"]);
                    assert!(r.status.success(), "rollback: {}{}\n{}", text(&r.stdout), text(&r.stderr), context());
                }
            }
            // A change verify refused was rolled back already: the
            // property holds all the same.
            (_, Some(3)) => eprintln!("round {round}: change rolled back by verify: {}", text(&out.stderr)),
            (_, Some(2)) => {
                panic!("the generator wrote a file portagent refuses: {}\n{}", text(&out.stderr), context())
            }
            (_, code) => {
                panic!("apply-state exited {code:?}: {}{}\n{}", text(&out.stdout), text(&out.stderr), context())
            }
        }
        lab.wait_until(Duration::from_secs(30), "the change settled", || !lab.path(JOURNAL).exists()).unwrap();
        let after = settled(&lab);
        let diff = differences(&before, &after);
        assert!(diff.is_empty(), "not restored:\n{}\n{}", diff.join("\n"), context());
        let last = ledger(&lab).pop().unwrap();
        assert_eq!(last["data"]["result"], "rolled_back", "{last}\n{}", context());
    }
    let v = portagent(&lab, &["ledger", "verify"]);
    assert!(text(&v.stdout).starts_with("VALID"), "{}{}", text(&v.stdout), text(&v.stderr));
    eprintln!("roundtrip: seed {seed}, {rounds} rounds, {applied} changes applied then undone, all restored");
}

/// The guide's lab with three more NICs (`eth1`..`eth3`), each a veth to a
/// peer namespace of its own.
fn net_lab_with_nics() -> Lab {
    let mut lab = net_lab();
    for (nic, peer) in [("eth1", "10.1.1.1/24"), ("eth2", "10.1.2.1/24"), ("eth3", "10.1.3.1/24")] {
        lab.add_nic(nic, peer).unwrap();
    }
    lab
}

/// The seed CI runs: its eight rounds reach bonds, VLANs, MTUs of
/// bridges, internal ports and NICs, IPv6, DNS, routes, rules, flows and
/// each of the four ways of undoing.
const CI_SEED: u64 = 3;

/// The seed of this run: `PORTAGENT_ROUNDTRIP_SEED`; else the clock's with
/// `PORTAGENT_ROUNDTRIP_RANDOM=1`; else [`CI_SEED`].
pub fn seed() -> u64 {
    if let Some(seed) = std::env::var("PORTAGENT_ROUNDTRIP_SEED").ok().and_then(|s| s.parse().ok()) {
        return seed;
    }
    if std::env::var_os("PORTAGENT_ROUNDTRIP_RANDOM").is_some_and(|v| v == "1") {
        return std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    }
    CI_SEED
}

#[test]
fn generated_changes_are_undone_field_for_field() {
    let rounds = std::env::var("PORTAGENT_ROUNDTRIP_ROUNDS").ok().and_then(|s| s.parse().ok()).unwrap_or(8);
    let seed = seed();
    eprintln!("roundtrip: seed {seed} (PORTAGENT_ROUNDTRIP_SEED={seed} replays it)");
    run(seed, rounds);
}

#[test]
fn the_generator_is_deterministic_and_reaches_every_field() {
    let (mut a, mut b) = (Rng(7), Rng(7));
    let mut seen = String::new();
    for _ in 0..200 {
        let (x, y) = (generate(&mut a), generate(&mut b));
        assert_eq!(x, y);
        seen.push_str(&x.to_string());
    }
    for field in [
        "\"mtu\"",
        "\"tag\"",
        "\"trunks\"",
        "\"bond\"",
        "\"stp\"",
        "\"rstp\"",
        "\"fail_mode\"",
        "\"ipv6\"",
        "\"dns\"",
        "\"routing\"",
        "\"rules\"",
        "\"search_domains\"",
        "\"hostname\"",
        "\"ovs_flows\"",
        "blackhole",
        "ovs-interface",
    ] {
        assert!(seen.contains(field), "the generator never writes {field}");
    }
}
