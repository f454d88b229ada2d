//! State manager benchmark, in labs: what the pipeline costs around the
//! plugin's own work. For N ports (a bridge with N internal ports, each with
//! a static IPv4), through the CLI: the first apply, a one-address change,
//! and the no-op re-apply (20 runs). For each apply: the CLI's wall time
//! (less what entering the lab costs, `nsenter` starting a process);
//! "plugin", the time inside the net plugin's exports (validate, query,
//! diff, checkpoint, apply, verify; from the report); "host", the rest
//! (process start, config, plugin load, durable journal, ledger append),
//! also as a share of the plugin's time. Prints a table; asserts nothing.
//!
//!     ./scripts/bench state           (sizes 1 10 50)
//!     PORTAGENT_BENCH_SIZES="50" ./scripts/bench state

mod common;

use common::{addr, state_file};
use portagent_lab::Lab;
use std::time::{Duration, Instant};

/// Runs `portagent apply-state FILE --output json`: wall time and report.
fn apply(lab: &Lab, file: &str) -> (Duration, serde_json::Value) {
    let t = Instant::now();
    let out =
        lab.command(env!("CARGO_BIN_EXE_portagent")).args(["apply-state", file, "--output", "json"]).output().unwrap();
    let wall = t.elapsed();
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (wall, serde_json::from_slice(&out.stdout).unwrap())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// What entering the lab costs (`nsenter` starting `true`), median of 21:
/// part of every wall time here, and not portagent's.
fn launcher(lab: &Lab) -> f64 {
    let mut v: Vec<f64> = (0..21)
        .map(|_| {
            let t = Instant::now();
            lab.command("true").status().unwrap();
            ms(t.elapsed())
        })
        .collect();
    v.sort_by(f64::total_cmp);
    v[10]
}

/// Wall time (less the lab's launcher), time in plugin calls, and the
/// host's part over the plugin's.
fn split(wall: Duration, launcher: f64, report: &serde_json::Value) -> (f64, f64, f64) {
    let own = report["timings_ms"]["plugin_calls"].as_f64().unwrap();
    let wall = ms(wall) - launcher;
    (wall, own, (wall - own) / own * 100.0)
}

fn main() {
    let sizes = common::sizes("1 10 50");
    println!(
        "{:>6} | {:>33} | {:>33} | {:>22}",
        "ports", "first apply: wall / plugin / host", "one change: wall / plugin / host", "no-op: min / p50 / max"
    );
    for n in sizes {
        let lab = common::lab();
        let nsenter = launcher(&lab);
        // Port 0's address is the one that changes.
        let first = |ip: &'static str| move |i: usize| if i == 0 { ip.to_string() } else { addr(i) };
        lab.write("/etc/ovs-port-agent/a.yaml", state_file(n, first("10.99.0.1")).as_bytes()).unwrap();
        lab.write("/etc/ovs-port-agent/b.yaml", state_file(n, first("10.99.0.2")).as_bytes()).unwrap();
        // Warm the compile cache so the first apply measures the apply.
        lab.command(env!("CARGO_BIN_EXE_portagent")).args(["query-state"]).output().unwrap();
        let (w, r) = apply(&lab, "/etc/ovs-port-agent/a.yaml");
        let first = split(w, nsenter, &r);
        let (w, r) = apply(&lab, "/etc/ovs-port-agent/b.yaml");
        let change = split(w, nsenter, &r);
        let phases = r["timings_ms"].clone();
        let mut noop: Vec<f64> = (0..20).map(|_| ms(apply(&lab, "/etc/ovs-port-agent/b.yaml").0) - nsenter).collect();
        noop.sort_by(f64::total_cmp);
        println!(
            "{n:>6} | {:>9.1} / {:>9.1} ms / +{:>4.1}% | {:>9.1} / {:>9.1} ms / +{:>4.1}% | {:>5.1} / {:>5.1} / {:>5.1} ms",
            first.0, first.1, first.2, change.0, change.1, change.2, noop[0], noop[10], noop[19]
        );
        println!(
            "       | one change, phases (ms): {phases}; the lab's launcher, taken off every wall time: {nsenter:.1} ms"
        );
    }
}
