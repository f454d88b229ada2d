//! `netcfg` plugin benchmark, in labs: N OpenFlow flows, N routes, or
//! both, in one `netcfg` section on a bridge `net` made, applied end to
//! end through the CLI; the no-op re-apply and show-diff; and the floor
//! doing the same by hand: one `ovs-ofctl --bundle add-flows` and/or one
//! `ip -batch`, and for scale the naive way, one `ovs-ofctl add-flow` or
//! `ip route add` per object. Prints a table; asserts nothing.
//!
//!     ./scripts/bench netcfg   (1,000 flows; 100 routes; both at 1 10 100 1000)
//!     PORTAGENT_BENCH_SIZES="1 10" ./scripts/bench netcfg   (both, at these sizes only)

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

/// What a row applies.
#[derive(Clone, Copy)]
struct Row {
    flows: usize,
    routes: usize,
}

/// Object `i`'s destination: 172.16.0.0/24, 172.16.1.0/24, ...
fn net_of(i: usize) -> String {
    format!("172.{}.{}.0/24", 16 + i / 256, i % 256)
}

fn route(i: usize) -> String {
    format!("{} via 192.168.1.254 dev ovsbr0 metric 100", net_of(i))
}

fn flow(i: usize) -> String {
    format!("cookie=0x1,priority=200,ip,nw_dst={},actions=normal", net_of(i))
}

fn state_file(row: Row) -> String {
    let mut y = String::from("version: 1\nplugins:\n  netcfg:\n    routing:\n");
    for i in 0..row.routes {
        y.push_str(&format!(
            "      - {{destination: {}, gateway: 192.168.1.254, interface: ovsbr0, metric: 100}}\n",
            net_of(i)
        ));
    }
    y.push_str("    ovs_flows:\n");
    for i in 0..row.flows {
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

/// Times `script` in a fresh bridge lab, after writing `files` there.
fn timed_sh(files: &[(&str, String)], script: &str) -> Duration {
    let lab = bridge_lab();
    for (path, text) in files {
        lab.write(path, text.as_bytes()).unwrap();
    }
    let t = Instant::now();
    lab.sh(script).unwrap();
    t.elapsed()
}

/// The floor: one OpenFlow bundle and/or one `ip -batch`.
fn floor(row: Row) -> Duration {
    let flows: String = (0..row.flows).map(|i| flow(i) + "\n").collect();
    let routes: String = (0..row.routes).map(|i| format!("route add {}\n", route(i))).collect();
    let mut script = vec!["true"];
    if row.flows > 0 {
        script.push("ovs-ofctl -O OpenFlow14 --bundle add-flows ovsbr0 /etc/ovs-port-agent/bench/flows");
    }
    if row.routes > 0 {
        script.push("ip -batch /etc/ovs-port-agent/bench/ip.batch");
    }
    let files = [("/etc/ovs-port-agent/bench/flows", flows), ("/etc/ovs-port-agent/bench/ip.batch", routes)];
    timed_sh(&files, &script.join(" && "))
}

/// The naive way: a command per flow and per route.
fn naive(row: Row) -> Duration {
    let mut sh: String = (0..row.flows).map(|i| format!("ovs-ofctl add-flow ovsbr0 '{}'\n", flow(i))).collect();
    sh.extend((0..row.routes).map(|i| format!("ip route add {}\n", route(i))));
    timed_sh(&[("/etc/ovs-port-agent/bench/naive.sh", sh)], "sh -e /etc/ovs-port-agent/bench/naive.sh")
}

fn main() {
    let both = |n| Row { flows: n, routes: n };
    let rows: Vec<Row> = match std::env::var("PORTAGENT_BENCH_SIZES") {
        Ok(_) => common::sizes("").into_iter().map(both).collect(),
        Err(_) => [Row { flows: 1000, routes: 0 }, Row { flows: 0, routes: 100 }]
            .into_iter()
            .chain([1, 10, 100, 1000].map(both))
            .collect(),
    };
    println!(
        "{:>6} {:>6} {:>11} {:>11} {:>6} {:>11} {:>12} {:>11}   apply phases (ms): plan / checkpoint / apply / verify",
        "flows", "routes", "apply", "floor", "ratio", "naive", "no-op apply", "show-diff"
    );
    for row in rows {
        let lab = bridge_lab();
        lab.write("/etc/ovs-port-agent/bench/state.yaml", state_file(row).as_bytes()).unwrap();
        // Warm the compile cache so the apply measures the apply.
        timed(&lab, &["query-state", "--plugin", "netcfg"]);
        let (apply, report) = run(&lab, &["apply-state", "/etc/ovs-port-agent/bench/state.yaml", "--output", "json"]);
        let t: serde_json::Value = serde_json::from_str(&report).unwrap();
        let t = &t["timings_ms"];
        let noop = (0..5).map(|_| timed(&lab, &["apply-state", "/etc/ovs-port-agent/bench/state.yaml"])).min().unwrap();
        let diff = (0..5).map(|_| timed(&lab, &["show-diff", "/etc/ovs-port-agent/bench/state.yaml"])).min().unwrap();
        drop(lab);
        let floor = floor(row);
        let naive = naive(row);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{:>6} {:>6} {:>9.1}ms {:>9.1}ms {:>5.1}x {:>9.1}ms {:>10.1}ms {:>9.1}ms   {} / {} / {} / {}",
            row.flows,
            row.routes,
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
