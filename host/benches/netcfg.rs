//! `netcfg` plugin benchmark, in labs: N OpenFlow flows and N routes in
//! one `netcfg` section on a bridge `net` made, applied end to end through
//! the CLI; the no-op re-apply and show-diff; and the floor doing the same
//! by hand: one `ovs-ofctl --bundle add-flows` plus one `ip -batch`, and
//! for scale the naive way, one `ovs-ofctl add-flow` and one `ip route add`
//! per object. Prints a table; asserts nothing.
//!
//!     ./scripts/bench netcfg            (sizes 1 10 100 1000)
//!     PORTAGENT_BENCH_SIZES="1 10" ./scripts/bench netcfg

mod common;

use common::{lab, run, timed};
use portagent_lab::Lab;
use std::time::{Duration, Instant};

const NET: &str = "version: 1
plugins:
  net:
    interfaces:
      - name: ovsbr0
        type: ovs-bridge
        ipv4:
          address:
            - ip: 192.168.1.10
              prefix: 24
";

/// Object `i`'s destination: 172.16.0.0/24, 172.16.1.0/24, ...
fn net_of(i: usize) -> String {
    format!("172.{}.{}.0/24", 16 + i / 256, i % 256)
}

fn state_file(n: usize) -> String {
    let mut y = String::from("version: 1\nplugins:\n  netcfg:\n    routing:\n");
    for i in 0..n {
        y.push_str(&format!(
            "      - {{destination: {}, gateway: 192.168.1.254, interface: ovsbr0, metric: 100}}\n",
            net_of(i)
        ));
    }
    y.push_str("    ovs_flows:\n");
    for i in 0..n {
        y.push_str(&format!(
            "      - {{bridge: ovsbr0, priority: 200, match_rule: \"ip,nw_dst={}\", actions: \"normal\"}}\n",
            net_of(i)
        ));
    }
    y
}

/// A lab with the bridge (and its address, so the gateway is on link).
fn bridge_lab() -> Lab {
    let lab = lab();
    lab.write("/etc/ovs-port-agent/bench/net.yaml", NET.as_bytes()).unwrap();
    run(&lab, &["apply-state", "/etc/ovs-port-agent/bench/net.yaml"]);
    lab
}

/// The floor: one OpenFlow bundle and one `ip -batch`.
fn floor(n: usize) -> Duration {
    let lab = bridge_lab();
    let mut flows = String::new();
    let mut batch = String::new();
    for i in 0..n {
        flows.push_str(&format!("cookie=0x1,priority=200,ip,nw_dst={},actions=normal\n", net_of(i)));
        batch.push_str(&format!("route add {} via 192.168.1.254 dev ovsbr0 metric 100\n", net_of(i)));
    }
    lab.write("/etc/ovs-port-agent/bench/flows", flows.as_bytes()).unwrap();
    lab.write("/etc/ovs-port-agent/bench/ip.batch", batch.as_bytes()).unwrap();
    let t = Instant::now();
    lab.sh(
        "ovs-ofctl -O OpenFlow14 --bundle add-flows ovsbr0 /etc/ovs-port-agent/bench/flows && ip -batch /etc/ovs-port-agent/bench/ip.batch",
    )
    .unwrap();
    t.elapsed()
}

/// The naive way: a command per flow and per route.
fn naive(n: usize) -> Duration {
    let lab = bridge_lab();
    let mut sh = String::new();
    for i in 0..n {
        sh.push_str(&format!(
            "ovs-ofctl add-flow ovsbr0 'cookie=0x1,priority=200,ip,nw_dst={},actions=normal'\n",
            net_of(i)
        ));
        sh.push_str(&format!("ip route add {} via 192.168.1.254 dev ovsbr0 metric 100\n", net_of(i)));
    }
    lab.write("/etc/ovs-port-agent/bench/naive.sh", sh.as_bytes()).unwrap();
    let t = Instant::now();
    lab.sh("sh -e /etc/ovs-port-agent/bench/naive.sh").unwrap();
    t.elapsed()
}

fn main() {
    let sizes = common::sizes("1 10 100 1000");
    println!(
        "{:>12} {:>11} {:>11} {:>6} {:>11} {:>12} {:>11}   apply phases (ms): plan / checkpoint / apply / verify",
        "flows+routes", "apply", "floor", "ratio", "naive", "no-op apply", "show-diff"
    );
    for n in sizes {
        let lab = bridge_lab();
        lab.write("/etc/ovs-port-agent/bench/state.yaml", state_file(n).as_bytes()).unwrap();
        // Warm the compile cache so the apply measures the apply.
        timed(&lab, &["query-state", "--plugin", "netcfg"]);
        let (apply, report) = run(&lab, &["apply-state", "/etc/ovs-port-agent/bench/state.yaml", "--output", "json"]);
        let t: serde_json::Value = serde_json::from_str(&report).unwrap();
        let t = &t["timings_ms"];
        let noop = (0..5).map(|_| timed(&lab, &["apply-state", "/etc/ovs-port-agent/bench/state.yaml"])).min().unwrap();
        let diff = (0..5).map(|_| timed(&lab, &["show-diff", "/etc/ovs-port-agent/bench/state.yaml"])).min().unwrap();
        drop(lab);
        let floor = floor(n);
        let naive = naive(n);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{n:>12} {:>9.1}ms {:>9.1}ms {:>5.1}x {:>9.1}ms {:>10.1}ms {:>9.1}ms   {} / {} / {} / {}",
            ms(apply),
            ms(floor),
            apply.as_secs_f64() / floor.as_secs_f64(),
            ms(naive),
            ms(noop),
            ms(diff),
            t["plan"],
            t["checkpoint"],
            t["apply"],
            t["verify"],
        );
    }
}
