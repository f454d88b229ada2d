//! `net` plugin benchmark, in labs: a bridge with N internal ports, each
//! with a static IPv4 address, applied end to end through the CLI (and
//! when networkd, which apply does not wait for on such links, is done
//! with them); the no-op re-apply; and the floor, `ovs-vsctl` in one
//! transaction plus `ip -batch`, doing the same. Prints a table; asserts
//! nothing.
//!
//!     ./scripts/bench net            (sizes 1 10 50 1000)
//!     PORTAGENT_BENCH_SIZES="1 10" ./scripts/bench net

mod common;

use common::{addr, lab, run, state_file, timed};
use portagent_lab::Lab;
use std::time::{Duration, Instant};

/// The floor: one ovs-vsctl transaction (it waits for ovs-vswitchd) plus
/// one `ip -batch` for the addresses.
fn floor(n: usize) -> Duration {
    let lab = lab();
    let mut vsctl = String::from("ovs-vsctl add-br ovsbr0 -- set bridge ovsbr0 datapath_type=netdev");
    let mut batch = String::new();
    for i in 0..n {
        vsctl.push_str(&format!(" -- add-port ovsbr0 p{i} -- set interface p{i} type=internal"));
        batch.push_str(&format!("addr add {}/24 dev p{i}\nlink set p{i} up\n", addr(i)));
    }
    lab.write("/etc/ovs-port-agent/bench/vsctl.sh", vsctl.as_bytes()).unwrap();
    lab.write("/etc/ovs-port-agent/bench/ip.batch", batch.as_bytes()).unwrap();
    let t = Instant::now();
    lab.sh("sh /etc/ovs-port-agent/bench/vsctl.sh && ip -batch /etc/ovs-port-agent/bench/ip.batch").unwrap();
    t.elapsed()
}

/// The floor with persistence, as an admin would do it by hand: one
/// ovs-vsctl transaction, a `.network` file per port, `networkctl reload`,
/// then poll until networkd has configured every port.
fn floor_networkd(n: usize) -> Duration {
    let lab = lab();
    let mut vsctl = String::from("ovs-vsctl add-br ovsbr0 -- set bridge ovsbr0 datapath_type=netdev");
    let mut files = String::from("mkdir -p /etc/ovs-port-agent/bench/net && cd /etc/ovs-port-agent/bench/net\n");
    for i in 0..n {
        vsctl.push_str(&format!(" -- add-port ovsbr0 p{i} -- set interface p{i} type=internal"));
        files.push_str(&format!(
            "printf '[Match]\\nName=p{i}\\n[Network]\\nLinkLocalAddressing=no\\nConfigureWithoutCarrier=yes\\nLLDP=no\\nAddress={}/24\\n' > p{i}.network\n",
            addr(i)
        ));
    }
    lab.write("/etc/ovs-port-agent/bench/vsctl.sh", vsctl.as_bytes()).unwrap();
    lab.write("/etc/ovs-port-agent/bench/files.sh", files.as_bytes()).unwrap();
    lab.sh("sh /etc/ovs-port-agent/bench/files.sh").unwrap();
    let t = Instant::now();
    lab.sh("sh /etc/ovs-port-agent/bench/vsctl.sh && cp /etc/ovs-port-agent/bench/net/*.network /etc/systemd/network/ && networkctl reload").unwrap();
    // Only the ports have files: nothing else in the lab is configured.
    networkd_done(&lab, n, t)
}

/// How long after `since` networkd has `links` links configured, by its
/// per-link state files (what `networkctl list` reads), without asking
/// networkd anything while it works.
fn networkd_done(lab: &Lab, links: usize, since: Instant) -> Duration {
    loop {
        let done: usize = lab
            .sh("grep -l ADMIN_STATE=configured /run/systemd/netif/links/* | wc -l")
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        if done >= links {
            return since.elapsed();
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn main() {
    let sizes = common::sizes("1 10 50 1000");
    println!(
        "{:>6} {:>11} {:>11} {:>6} {:>13} {:>6} {:>14} {:>12} {:>11}   apply phases (ms): plan / checkpoint / apply / verify",
        "ports", "apply", "floor:ip", "ratio", "floor:networkd", "ratio", "networkd done", "no-op apply", "show-diff"
    );
    for n in sizes {
        let lab = lab();
        lab.write("/etc/ovs-port-agent/bench/state.yaml", state_file(n, addr).as_bytes()).unwrap();
        // Warm the compile cache so the first apply measures the apply.
        timed(&lab, &["query-state", "--plugin", "net"]);
        let started = Instant::now();
        let (apply, report) = run(&lab, &["apply-state", "/etc/ovs-port-agent/bench/state.yaml", "--output", "json"]);
        // The bridge and the ports are networkd's too; the no-op applies
        // below are timed once it is done with them.
        let converged = networkd_done(&lab, n + 1, started);
        let t: serde_json::Value = serde_json::from_str(&report).unwrap();
        let t = &t["timings_ms"];
        let noop = (0..5).map(|_| timed(&lab, &["apply-state", "/etc/ovs-port-agent/bench/state.yaml"])).min().unwrap();
        let diff = (0..5).map(|_| timed(&lab, &["show-diff", "/etc/ovs-port-agent/bench/state.yaml"])).min().unwrap();
        drop(lab);
        let floor = floor(n);
        let floor_nd = floor_networkd(n);
        let ms = |d: Duration| d.as_secs_f64() * 1e3;
        println!(
            "{n:>6} {:>9.1}ms {:>9.1}ms {:>5.1}x {:>11.1}ms {:>5.1}x {:>12.1}ms {:>10.1}ms {:>9.1}ms   {} / {} / {} / {}",
            ms(apply),
            ms(floor),
            apply.as_secs_f64() / floor.as_secs_f64(),
            ms(floor_nd),
            apply.as_secs_f64() / floor_nd.as_secs_f64(),
            ms(converged),
            noop.as_secs_f64() * 1e3,
            diff.as_secs_f64() * 1e3,
            t["plan"],
            t["checkpoint"],
            t["apply"],
            t["verify"],
        );
    }
}
